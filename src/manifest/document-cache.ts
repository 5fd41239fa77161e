/**
 * Parsed YAML documents by their text, for a process that reads the same files again and again
 * (serve: a folder on each save, a Git source on each revision). A document whose text is
 * unchanged is not parsed again: its value is kept as JSON and read back as a fresh copy, since
 * what reads it defaults and edits objects in place. Bounded; the least recently used go first.
 * Off unless turned on: a one-shot command would pay for copies it never reads.
 */
export class DocumentCache {
  private readonly entries = new Map<string, string>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(text: string): unknown {
    const json = this.entries.get(text);
    if (json === undefined) return undefined;
    // Most recently used last.
    this.entries.delete(text);
    this.entries.set(text, json);
    return JSON.parse(json);
  }

  /** Whether the document is kept (it was parsed, and passed the checks before parsing, before). */
  has(text: string): boolean {
    return this.entries.has(text);
  }

  put(text: string, value: unknown): void {
    const json = exactJson(value);
    if (json === undefined || this.entries.has(text)) return;
    const size = text.length + json.length;
    if (size > this.maxBytes / 4) return;
    this.entries.set(text, json);
    this.bytes += size;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= k.length + v.length;
    }
  }

  get size(): number {
    return this.entries.size;
  }
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
