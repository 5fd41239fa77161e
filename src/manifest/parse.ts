import * as jsYaml from 'js-yaml';
import type { Document, LineCounter } from 'yaml';
import { lazyPackage } from './lazy-package.js';
import type { FieldPath, KubeObject, Manifest, SourceLocation } from './types.js';
import type { Problem } from './problems.js';
import { markCheckedBefore, markDocumentText, parsedDocuments } from './document-cache.js';
import { notSimple, parseSimpleYaml, simpleDocumentReader } from './simple-yaml.js';

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

/** The yaml package: for documents with anchors, aliases or tags, and for the places of problems. */
const yamlPackage = lazyPackage<typeof import('yaml')>('yaml');

const parseOptions = { schema: 'core', uniqueKeys: true, merge: false, strict: true, prettyErrors: false } as const;

export interface ParsedFile {
  manifests: Manifest[];
  problems: Problem[];
}

/**
 * Parse one file's text into manifests. Every hazard is checked before a parser it could harm
 * runs: the document count by a bounded split; nesting depth by the simple reader itself, which
 * stops at the limit, and by a linear scan of what it gives up on; aliases are capped while
 * converting.
 * With `reuseChecks` (a plain folder's files, whose objects are checked as they are), a document
 * serve's cache holds already validated comes back defaulted, marked so it is not checked again.
 */
export function parseManifestText(text: string, file: string, limits: ParseLimits = defaultLimits, reuseChecks = false): ParsedFile {
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
  // Split with a bound: a file of millions of tiny documents is refused without making them all.
  const chunks = splitDocuments(text, limits.maxDocuments);
  if (chunks.length > limits.maxDocuments) {
    return fail('ManifestUnsafe', `file has ${countDocuments(text)} YAML documents, over the limit of ${limits.maxDocuments}; split it into several files`);
  }
  const cache = parsedDocuments();
  const reuse = reuseChecks ? cache : undefined;
  const simple = simpleDocumentReader(text, limits.maxDepth);
  // Indexed loops: this runs for every document, mostly in a fresh process (see apply/references.ts).
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i]!;
    const checked = reuse?.getChecked(chunk.text);
    if (checked) {
      const locate = locator(chunk);
      const m: Manifest = { object: checked.object, source: lazySource(file, chunk.index, locate), locate };
      markCheckedBefore(m, checked.issues);
      manifests.push(m);
      continue;
    }
    // Kept once checked, when reused; as parsed otherwise.
    const parsed = parseChunk(chunk, limits, !reuse, simple ? (c) => simple(c.start, c.start + c.text.length) : (c) => parseSimpleYaml(c.text, limits.maxDepth));
    if ('deep' in parsed) {
      return fail('ManifestUnsafe', `nesting is deeper than ${limits.maxDepth} levels; no Kubernetes manifest needs that`, parsed.deep.line, parsed.deep.column);
    }
    if ('problems' in parsed) {
      for (let p = 0; p < parsed.problems.length; p++) problems.push({ severity: 'error', file, ...parsed.problems[p]! });
      continue;
    }
    const value = parsed.value;
    if (value === null || value === undefined) continue; // empty document, e.g. a trailing ---
    const locate = locator(chunk);
    if (typeof value !== 'object' || Array.isArray(value)) {
      problems.push({ severity: 'error', code: 'ManifestInvalid', file, ...locate([]), message: 'document is not a mapping; expected a Kubernetes object with apiVersion, kind and metadata' });
      continue;
    }
    const obj = value as KubeObject;
    if (obj.kind === 'List' && Array.isArray((obj as { items?: unknown }).items)) {
      (obj as unknown as { items: unknown[] }).items.forEach((item, i) => {
        const itemLocate = (path: FieldPath) => locate(['items', i, ...path]);
        if (item === null || typeof item !== 'object' || Array.isArray(item)) {
          problems.push({ severity: 'error', code: 'ManifestInvalid', file, ...itemLocate([]), field: `items[${i}]`, message: 'list item is not an object' });
          return;
        }
        manifests.push({ object: item as KubeObject, source: lazySource(file, chunk.index, itemLocate), locate: itemLocate });
      });
      continue;
    }
    const m: Manifest = { object: obj, source: lazySource(file, chunk.index, locate), locate };
    if (reuse) markDocumentText(m, chunk.text);
    manifests.push(m);
  }
  return { manifests, problems };
}

/** One YAML document of a file: its text (from its `---` line) and the file line it starts on. */
interface Chunk {
  index: number;
  text: string;
  /** Where it starts in the file's text. */
  start: number;
  firstLine: number;
}

/**
 * Splits a file at its document markers. A `---` at the start of a line always starts a document:
 * block scalars are indented, so their content can never be one.
 */
const documentMarker = /^---(?=[ \t\r\n]|$)/gm;

export function splitDocuments(text: string, max = Infinity): Chunk[] {
  const chunks: Chunk[] = [];
  const marker = new RegExp(documentMarker);
  let from = 0;
  let firstLine = 1;
  let line = 1;
  let lastIndex = 0;
  for (let m = marker.exec(text); m; m = marker.exec(text)) {
    if (m.index === 0) continue;
    line += countNewlines(text, lastIndex, m.index);
    lastIndex = m.index;
    chunks.push({ index: chunks.length, text: text.slice(from, m.index), start: from, firstLine });
    from = m.index;
    firstLine = line;
    // One more than the bound is enough to refuse the file.
    if (chunks.length > max) return chunks;
  }
  chunks.push({ index: chunks.length, text: text.slice(from), start: from, firstLine });
  return chunks;
}

function countNewlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf('\n', from); i !== -1 && i < to; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** The most YAML errors reported for one document. */
const maxParseErrors = 5;

type ChunkResult = { value: unknown } | { problems: Omit<Problem, 'severity' | 'file'>[] } | { deep: { line: number; column: number } };

/**
 * Nearly every manifest goes through the simple reader alone: it gives up on anchors, aliases and
 * tags, and on nesting deeper than the limit. Only what it gives up on is scanned for deep nesting,
 * refused when too deep ("every hazard is checked before a YAML parser runs"), and then read by
 * js-yaml when it has no anchor, alias or tag (js-yaml is four times faster than the yaml package
 * on manifests), and by the yaml package otherwise, whose alias expansion is capped and whose tags
 * are checked. Both use the YAML 1.2 core schema and refuse duplicate keys. Neither message quotes
 * the source, so no secret value can leak through a parse error.
 */
function parseChunk(chunk: Chunk, limits: ParseLimits, keep: boolean, readSimple: (chunk: Chunk) => unknown): ChunkResult {
  const cache = parsedDocuments();
  const cached = cache?.get(chunk.text);
  if (cached !== undefined) return { value: cached };
  let simple: unknown;
  try {
    simple = readSimple(chunk);
  } catch {
    simple = notSimple; // js-yaml below says what is wrong
  }
  if (simple !== notSimple) {
    if (keep) cache?.put(chunk.text, simple);
    return { value: simple };
  }
  if (couldNestDeeper(chunk.text, limits.maxDepth)) {
    const deep = findDeepNesting(chunk.text, limits.maxDepth);
    if (deep) return { deep: { line: chunk.firstLine + deep.line - 1, column: deep.column } };
  }
  if (!/(^|[\s[{,:-])[&*!]/.test(chunk.text)) {
    try {
      const value = jsYaml.load(chunk.text, { schema: jsYaml.CORE_SCHEMA });
      if (keep) cache?.put(chunk.text, value);
      return { value };
    } catch (err) {
      const e = err as jsYaml.YAMLException;
      return { problems: [{ code: 'ManifestParse', line: chunk.firstLine + (e.mark?.line ?? 0), column: (e.mark?.column ?? 0) + 1, message: `YAML: ${e.reason ?? 'cannot parse'}` }] };
    }
  }
  const { LineCounter, parseDocument, visit } = yamlPackage();
  const lineCounter = new LineCounter();
  const doc = parseDocument(chunk.text, { ...parseOptions, lineCounter });
  const pos = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: chunk.firstLine + p.line - 1, column: p.col };
  };
  if (doc.errors.length > 0) {
    // The first few are what to fix; a broken document can have thousands, all alike.
    const shown = doc.errors.slice(0, maxParseErrors).map((err) => ({ code: 'ManifestParse' as const, ...pos(err.pos[0]), message: `YAML: ${firstLine(err.message)}` }));
    const more = doc.errors.length - shown.length;
    if (more > 0) shown[shown.length - 1]!.message += `; and ${more} more YAML error${more > 1 ? 's' : ''} in this document`;
    return { problems: shown };
  }
  const problems: Omit<Problem, 'severity' | 'file'>[] = [];
  visit(doc, {
    Node(_key, node) {
      if (node.tag && !allowedTags.has(node.tag)) {
        problems.push({ code: 'ManifestUnsafe', ...pos(node.range?.[0] ?? 0), message: `YAML tag ${node.tag} is not allowed; only the core schema's tags are` });
      }
    },
  });
  if (problems.length > 0) return { problems };
  try {
    return { value: doc.toJS({ maxAliasCount: limits.maxAliasCount }) };
  } catch (err) {
    return { problems: [{ code: 'ManifestUnsafe', ...pos(doc.contents?.range?.[0] ?? 0), message: `YAML: ${firstLine((err as Error).message)} (aliases are limited to ${limits.maxAliasCount} expansions)` }] };
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0]!;
}

/** The document's place, worked out only when a message needs it. */
function lazySource(file: string, document: number, locate: (path: FieldPath) => { line: number; column: number }): SourceLocation {
  return new LazySource(file, document, locate);
}

class LazySource implements SourceLocation {
  private at: { line: number; column: number } | undefined;

  constructor(
    readonly file: string,
    readonly document: number,
    private readonly locate: (path: FieldPath) => { line: number; column: number },
  ) {}

  get line(): number {
    return (this.at ??= this.locate([])).line;
  }

  get column(): number {
    return (this.at ??= this.locate([])).column;
  }
}

/** Lazily parses the document again with positions: they are only needed for problems. */
function locator(chunk: Chunk) {
  let doc: Document | undefined;
  let lineCounter: LineCounter;
  return (path: FieldPath) => {
    if (!doc) {
      const yaml = yamlPackage();
      lineCounter = new yaml.LineCounter();
      doc = yaml.parseDocument(chunk.text, { ...parseOptions, lineCounter });
    }
    for (let n = path.length; n >= 0; n--) {
      const offset = nodeOffset(doc, path.slice(0, n));
      if (offset !== undefined) {
        const p = lineCounter.linePos(offset);
        return { line: chunk.firstLine + p.line - 1, column: p.col };
      }
    }
    return { line: chunk.firstLine, column: 1 };
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

/** How many documents a file holds, counted without making them. */
function countDocuments(text: string): number {
  const marker = new RegExp(documentMarker);
  let n = 1;
  for (let m = marker.exec(text); m; m = marker.exec(text)) if (m.index > 0) n++;
  return n;
}

/**
 * Whether a text could nest deeper than `max` at all: each level opens on a line of its own, at a
 * flow bracket, or at a `- ` or `? ` indicator, so a text with fewer of those together cannot.
 * Counted with native searches, which is far cheaper than the scan below; most documents need no
 * more.
 */
export function couldNestDeeper(text: string, max: number): boolean {
  let openings = 1;
  for (const mark of ['\n', '[', '{', '- ', '? ']) {
    for (let i = text.indexOf(mark); i !== -1; i = text.indexOf(mark, i + 1)) {
      if (++openings > max) return true;
    }
  }
  return false;
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
      // "- - - x" opens a sequence per dash on one line; "? ? x" a mapping per explicit key
      let j = i;
      while ((text[j] === '-' || text[j] === '?') && text[j + 1] === ' ') {
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
