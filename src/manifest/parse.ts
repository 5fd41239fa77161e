import { LineCounter, parseAllDocuments, visit, type Document } from 'yaml';
import type { FieldPath, KubeObject, Manifest } from './types.js';
import type { Problem } from './problems.js';

export interface ParseLimits {
  /** Largest file read, in bytes. */
  maxFileBytes: number;
  /** Most YAML documents in one file. */
  maxDocuments: number;
  /** Deepest nesting of mappings and sequences. */
  maxDepth: number;
  /** Most alias expansions in one document (never unlimited). */
  maxAliasCount: number;
}

export const defaultLimits: ParseLimits = {
  maxFileBytes: 8 * 1024 * 1024,
  maxDocuments: 5000,
  maxDepth: 100,
  maxAliasCount: 100,
};

const allowedTags = new Set(
  ['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`),
);

const parseOptions = { schema: 'core', uniqueKeys: true, merge: false, strict: true, prettyErrors: false } as const;

export interface ParsedFile {
  manifests: Manifest[];
  problems: Problem[];
}

/**
 * Parse one file's text into manifests. Every hazard is checked before the YAML parser runs:
 * document count and nesting depth by a linear scan; aliases are capped while converting.
 */
export function parseManifestText(text: string, file: string, limits: ParseLimits = defaultLimits): ParsedFile {
  const problems: Problem[] = [];
  const manifests: Manifest[] = [];
  const fail = (code: Problem['code'], message: string, line?: number, column?: number): ParsedFile => ({
    manifests: [],
    problems: [{ severity: 'error', code, file, line, column, message }],
  });

  const bytes = Buffer.byteLength(text);
  if (bytes > limits.maxFileBytes) {
    return fail('ManifestTooLarge', `file is ${bytes} bytes, over the limit of ${limits.maxFileBytes}; split it into several files`);
  }
  const docCount = countDocuments(text);
  if (docCount > limits.maxDocuments) {
    return fail('ManifestUnsafe', `file has ${docCount} YAML documents, over the limit of ${limits.maxDocuments}; split it into several files`);
  }
  const deep = findDeepNesting(text, limits.maxDepth);
  if (deep) {
    return fail('ManifestUnsafe', `nesting is deeper than ${limits.maxDepth} levels; no Kubernetes manifest needs that`, deep.line, deep.column);
  }

  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { ...parseOptions, lineCounter });
  const list = Array.isArray(docs) ? docs : [docs];
  const pos = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };

  list.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const { line, column } = pos(err.pos[0]);
        problems.push({ severity: 'error', code: 'ManifestParse', file, line, column, message: `YAML: ${firstLine(err.message)}` });
      }
      return;
    }
    let badTag = false;
    visit(doc, {
      Node(_key, node) {
        if (node.tag && !allowedTags.has(node.tag)) {
          const { line, column } = pos(node.range?.[0] ?? 0);
          problems.push({ severity: 'error', code: 'ManifestUnsafe', file, line, column, message: `YAML tag ${node.tag} is not allowed; only the core schema's tags are` });
          badTag = true;
        }
      },
    });
    if (badTag) return;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: limits.maxAliasCount });
    } catch (err) {
      const start = doc.contents?.range?.[0] ?? 0;
      const { line, column } = pos(start);
      problems.push({ severity: 'error', code: 'ManifestUnsafe', file, line, column, message: `YAML: ${firstLine((err as Error).message)} (aliases are limited to ${limits.maxAliasCount} expansions)` });
      return;
    }
    if (value === null || value === undefined) return; // empty document, e.g. a trailing ---
    const start = pos(doc.contents?.range?.[0] ?? 0);
    if (typeof value !== 'object' || Array.isArray(value)) {
      problems.push({ severity: 'error', code: 'ManifestInvalid', file, ...start, message: 'document is not a mapping; expected a Kubernetes object with apiVersion, kind and metadata' });
      return;
    }
    const obj = value as KubeObject;
    const locate = locator(text, index, lineCounter);
    if (obj.kind === 'List' && Array.isArray((obj as { items?: unknown }).items)) {
      (obj as unknown as { items: unknown[] }).items.forEach((item, i) => {
        const at = pos(nodeOffset(doc, ['items', i]) ?? 0);
        if (item === null || typeof item !== 'object' || Array.isArray(item)) {
          problems.push({ severity: 'error', code: 'ManifestInvalid', file, ...at, field: `items[${i}]`, message: 'list item is not an object' });
          return;
        }
        manifests.push({
          object: item as KubeObject,
          source: { file, document: index, ...at },
          locate: (path) => locate(['items', i, ...path]),
        });
      });
      return;
    }
    manifests.push({ object: obj, source: { file, document: index, ...start }, locate });
  });
  return { manifests, problems };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!;
}

/** Lazily re-parses the file to find where a field is: positions are only needed for problems. */
function locator(text: string, index: number, lineCounter: LineCounter) {
  let doc: Document | undefined;
  return (path: FieldPath) => {
    doc ??= (parseAllDocuments(text, parseOptions) as Document[])[index]!;
    for (let n = path.length; n >= 0; n--) {
      const offset = nodeOffset(doc, path.slice(0, n));
      if (offset !== undefined) {
        const p = lineCounter.linePos(offset);
        return { line: p.line, column: p.col };
      }
    }
    return { line: 1, column: 1 };
  };
}

/** Offset of the key of the field at `path` (or of the item, in a sequence). */
function nodeOffset(doc: Document, path: FieldPath): number | undefined {
  if (path.length === 0) return doc.contents?.range?.[0];
  const parent = path.length === 1 ? doc.contents : (doc.getIn(path.slice(0, -1), true) as unknown);
  const last = path[path.length - 1];
  const items = (parent as { items?: unknown[] } | null)?.items;
  if (!Array.isArray(items)) return undefined;
  if (typeof last === 'number') {
    const item = items[last] as { range?: number[] } | undefined;
    return item?.range?.[0];
  }
  for (const pair of items as { key?: { value?: unknown; range?: number[] } }[]) {
    if (pair?.key && (pair.key.value === last || String(pair.key.value) === last)) return pair.key.range?.[0];
  }
  return undefined;
}

function countDocuments(text: string): number {
  let count = 1;
  let i = text.indexOf('---');
  while (i !== -1) {
    if ((i === 0 || text[i - 1] === '\n') && (i + 3 >= text.length || /\s/.test(text[i + 3]!))) count++;
    i = text.indexOf('---', i + 3);
  }
  return count;
}

/**
 * Finds the first place where mappings and sequences nest deeper than `max`, by a linear scan of
 * indentation, sequence dashes and flow brackets. It over-counts rather than under-counts:
 * block-scalar lines are skipped by indentation, quoted brackets are ignored.
 */
export function findDeepNesting(text: string, max: number): { line: number; column: number } | undefined {
  const indents: number[] = [];
  let flow = 0;
  let line = 0;
  let blockScalarIndent = -1;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    line++;
    let i = start;
    while (i < end && text[i] === ' ') i++;
    const indent = i - start;
    const blank = i === end || text[i] === '#' || text[i] === '\r';
    if (blockScalarIndent >= 0 && (blank || indent > blockScalarIndent)) {
      start = end + 1;
      continue;
    }
    blockScalarIndent = -1;
    if (!blank && flow === 0) {
      while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
      indents.push(indent);
      // "- - - x" opens a sequence per dash on one line
      let j = i;
      while (text[j] === '-' && text[j + 1] === ' ') {
        indents.push(indent + (j - i) + 1);
        j += 2;
        while (text[j] === ' ') j++;
      }
    }
    let quote = '';
    for (let k = i; k < end; k++) {
      const c = text[k];
      if (quote) {
        if (c === quote) quote = '';
        continue;
      }
      if (c === '#' && (k === start || text[k - 1] === ' ')) break;
      if ((c === '"' || c === "'") && (k === i || /[\s,[{:]/.test(text[k - 1]!))) quote = c;
      else if (c === '[' || c === '{') {
        flow++;
        if (indents.length + flow > max) return { line, column: k - start + 1 };
      } else if (c === ']' || c === '}') flow = Math.max(0, flow - 1);
    }
    if (indents.length + flow > max) return { line, column: indent + 1 };
    if (flow === 0 && /[:-]\s*[|>][-+0-9]*\s*(#.*)?\r?$/.test(text.slice(i, end))) blockScalarIndent = indent;
    start = end + 1;
  }
  return undefined;
}
