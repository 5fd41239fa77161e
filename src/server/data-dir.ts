import os from 'node:os';
import path from 'node:path';

/** Where `gouvernail serve` keeps its store and credentials unless told otherwise. */
export function defaultDataDir(): string {
  const base = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'gouvernail');
}
