import type { Issue } from './schema.js';
import type { KubeObject, Manifest } from './types.js';

/** What the cache keeps for one document's text. */
interface Entry {
  /** The parsed value as JSON (handed out as a fresh copy), until the document is checked. */
  json?: string;
  /** Once the document was validated without errors and defaulted: the object, frozen. */
  object?: KubeObject;
  /** Set with `object`: its issues (warnings). */
  issues?: Issue[];
  /** What it counts against the bound. */
  size: number;
}

/**
 * Parsed YAML documents by their text, for a process that reads the same files again and again
 * (serve: a folder on each save, a Git source on each revision). A document whose text is
 * unchanged is not parsed again, and, once it passed validation, not validated nor defaulted
 * again either (both depend on the document alone). A checked document's object is handed out
 * itself, deeply frozen, every time: what reads a folder's objects (plan, diff, apply, the status
 * page) only reads them, copying what it changes, and a write into one throws rather than changing
 * what the next read gets. A document not yet checked (kustomize's, whose objects are then
 * patched) is kept as JSON and read back as a fresh copy. Bounded; the least recently used go
 * first. Off unless turned on: a one-shot command would pay for copies it never reads.
 */
export class DocumentCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** The document as parsed; not once it is kept checked (that is the defaulted object). */
  get(text: string): unknown {
    const entry = this.entries.get(text);
    if (!entry || entry.json === undefined) return undefined;
    this.use(text, entry);
    return JSON.parse(entry.json);
  }

  /** The document's object validated and defaulted before (frozen), with the warnings it had. */
  getChecked(text: string): { object: KubeObject; issues: Issue[] } | undefined {
    const entry = this.entries.get(text);
    if (!entry?.object) return undefined;
    this.use(text, entry);
    return { object: entry.object, issues: entry.issues! };
  }

  /** Whether the document is kept (it was parsed, and passed the checks before parsing, before). */
  has(text: string): boolean {
    return this.entries.has(text);
  }

  put(text: string, value: unknown): void {
    if (this.entries.has(text)) return;
    const json = exactJson(value);
    if (json !== undefined) this.keep(text, { json, size: text.length + json.length });
  }

  /**
   * Keeps the document as validated (no errors, these warnings) and defaulted. Returns the object
   * as the cache will hand it out from now on: frozen, and the one object for that text.
   */
  putChecked(text: string, object: KubeObject, issues: Issue[]): KubeObject {
    const had = this.entries.get(text);
    if (had?.object) return had.object;
    // Read back from JSON, every object handed out has the shape JSON.parse gives, the first one
    // too: what plans and compares them is compiled for that one shape (unless JSON cannot give
    // the value back as it is: .inf, .nan, -0).
    const json = exactJson(object);
    const kept = json === undefined ? object : (JSON.parse(json) as KubeObject);
    deepFreeze(kept);
    // A parsed object takes a few times its text's length in memory.
    this.keep(text, { object: kept, issues, size: text.length * 4 + (issues.length > 0 ? JSON.stringify(issues).length : 0) });
    return kept;
  }

  get size(): number {
    return this.entries.size;
  }

  /** An entry handed out: most recently used last. */
  private use(text: string, entry: Entry): void {
    this.entries.delete(text);
    this.entries.set(text, entry);
  }

  private keep(text: string, entry: Entry): void {
    if (entry.size > this.maxBytes / 4) return;
    this.forget(text);
    this.entries.set(text, entry);
    this.bytes += entry.size;
    for (const k of this.entries.keys()) {
      if (this.bytes <= this.maxBytes) break;
      this.forget(k);
    }
  }

  private forget(text: string): void {
    const entry = this.entries.get(text);
    if (!entry) return;
    this.entries.delete(text);
    this.bytes -= entry.size;
  }
}

/** Freezes a parsed value and everything in it. */
function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) deepFreeze(value[i]);
    return;
  }
  for (const k in value) deepFreeze((value as Record<string, unknown>)[k]);
}

class NotExact extends Error {}

/** The value as JSON, or undefined when JSON would not give it back as it is (.inf, .nan, -0). */
function exactJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value, (_k, v) => {
      if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) throw new NotExact();
      return v;
    });
  } catch (err) {
    if (err instanceof NotExact) return undefined;
    throw err;
  }
}

let shared: DocumentCache | undefined;

/** Turns the cache on for this process (serve does), with a bound on what it keeps. */
export function cacheParsedDocuments(maxBytes = 64 * 1024 * 1024): void {
  shared ??= new DocumentCache(maxBytes);
}

/** The process's cache, when turned on. */
export function parsedDocuments(): DocumentCache | undefined {
  return shared;
}

// A manifest read from the cache already checked carries its issues here; one parsed now carries
// its document's text, for the check to keep its result. Only plain folders use these: kustomize
// changes objects after parsing, so its documents are never kept checked.
const checkedBefore = new WeakMap<Manifest, Issue[]>();
const documentText = new WeakMap<Manifest, string>();

export function markCheckedBefore(m: Manifest, issues: Issue[]): void {
  checkedBefore.set(m, issues);
}

export function markDocumentText(m: Manifest, text: string): void {
  documentText.set(m, text);
}

/** The issues of a manifest that came from the cache already validated and defaulted. */
export function issuesCheckedBefore(m: Manifest): Issue[] | undefined {
  return shared ? checkedBefore.get(m) : undefined;
}

/**
 * Keeps a manifest just validated (without errors) and defaulted, when its text is known; returns
 * the object to use from then on (the one the cache will hand out again, or the same).
 */
export function keepChecked(m: Manifest, object: KubeObject, issues: Issue[]): KubeObject {
  if (!shared) return object;
  const text = documentText.get(m);
  return text !== undefined ? shared.putChecked(text, object, issues) : object;
}
