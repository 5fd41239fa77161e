import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSnapshot } from '../src/manifest/load.js';

/** The repository root, from dist/test/ where the compiled tests run. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function fixture(...parts: string[]): string {
  return path.join(root, 'test', 'fixtures', ...parts);
}

export function tempDir(prefix = 'gouvernail-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** Parses inline YAML as if it were one file of a folder. */
export function parseOne(text: string, file = 'inline.yaml') {
  return parseSnapshot([{ path: file, text }]);
}

export function errorsOf(set: ReturnType<typeof parseSnapshot>) {
  return set.problems.filter((p) => p.severity === 'error');
}
