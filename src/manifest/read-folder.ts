import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Problem } from './problems.js';
import { defaultLimits, type ParseLimits } from './parse.js';

export interface SourceFile {
  /** Path relative to the folder, with forward slashes. */
  path: string;
  text: string;
}

const manifestExtension = /\.(ya?ml|json)$/i;

/**
 * Reads one file, or every .yaml/.yml/.json file under a folder, recursively, in sorted order. Hidden files and
 * folders (.git, editor files) are skipped. A symlink that leads out of the folder is refused; a file
 * over the size limit is refused before it is read.
 */
export async function readManifestFolder(dir: string, limits: ParseLimits = defaultLimits): Promise<{ files: SourceFile[]; problems: Problem[] }> {
  const files: SourceFile[] = [];
  const problems: Problem[] = [];
  let root: string;
  try {
    root = await realpath(dir);
    const info = await stat(root);
    if (info.isFile()) {
      if (info.size > limits.maxFileBytes) {
        problems.push({ severity: 'error', code: 'ManifestTooLarge', file: dir, message: `file is ${info.size} bytes, over the limit of ${limits.maxFileBytes}; split it into several files` });
      } else {
        files.push({ path: dir, text: await readFile(root, 'utf8') });
      }
      return { files, problems };
    }
    if (!info.isDirectory()) throw new Error('not a folder or a file');
  } catch (err) {
    problems.push({ severity: 'error', code: 'ManifestRead', file: dir, message: `cannot read the folder: ${(err as Error).message}; check the path` });
    return { files, problems };
  }
  const visited = new Set<string>();

  async function walk(real: string, rel: string): Promise<void> {
    if (visited.has(real)) return;
    visited.add(real);
    const entries = (await readdir(real)).sort();
    for (const name of entries) {
      if (name.startsWith('.')) continue;
      const relPath = rel ? `${rel}/${name}` : name;
      const full = path.join(real, name);
      let target = full;
      const info = await lstat(full);
      if (info.isSymbolicLink()) {
        try {
          target = await realpath(full);
        } catch {
          problems.push({ severity: 'error', code: 'ManifestOutsideRoot', file: relPath, message: 'is a broken symlink' });
          continue;
        }
        if (target !== root && !target.startsWith(root + path.sep)) {
          problems.push({ severity: 'error', code: 'ManifestOutsideRoot', file: relPath, message: 'is a symlink that leaves the folder; it is refused' });
          continue;
        }
      }
      const s = await stat(target);
      if (s.isDirectory()) {
        await walk(target, relPath);
      } else if (s.isFile() && manifestExtension.test(name)) {
        if (s.size > limits.maxFileBytes) {
          problems.push({ severity: 'error', code: 'ManifestTooLarge', file: relPath, message: `file is ${s.size} bytes, over the limit of ${limits.maxFileBytes}; split it into several files` });
          continue;
        }
        files.push({ path: relPath, text: await readFile(target, 'utf8') });
      }
    }
  }

  try {
    await walk(root, '');
  } catch (err) {
    problems.push({ severity: 'error', code: 'ManifestRead', file: dir, message: `cannot read the folder: ${(err as Error).message}` });
  }
  return { files, problems };
}
