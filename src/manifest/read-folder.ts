import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Problem } from './problems.js';
import { defaultLimits, type ParseLimits } from './parse.js';

export interface SourceFile {
  /** Path relative to the folder, with forward slashes. */
  path: string;
  text: string;
}

const manifestExtension = /\.(ya?ml|json)$/i;

/** Bounds on a whole source (a folder or a Git path), checked before any file is read. */
export interface SourceLimits {
  maxSourceBytes: number;
  maxSourceFiles: number;
}

export const defaultSourceLimits: SourceLimits = { maxSourceBytes: 64 * 1024 * 1024, maxSourceFiles: 10_000 };

/** The problem for a source over its bounds, or undefined. */
export function sourceOverLimits(source: string, files: number, bytes: number, limits: SourceLimits): Problem | undefined {
  if (files > limits.maxSourceFiles) {
    return { severity: 'error', code: 'SourceTooLarge', file: source, message: `the source holds ${files} manifest files, over the limit of ${limits.maxSourceFiles}; nothing was read (split it into several Applications, or raise serve --max-source-files)` };
  }
  if (bytes > limits.maxSourceBytes) {
    return { severity: 'error', code: 'SourceTooLarge', file: source, message: `the source's manifests total ${bytes} bytes, over the limit of ${limits.maxSourceBytes}; nothing was read (split it into several Applications, or raise serve --max-source-bytes)` };
  }
  return undefined;
}

/**
 * Reads one file, or every .yaml/.yml/.json file under a folder, recursively, in sorted order. Hidden files and
 * folders (.git, editor files) are skipped. A symlink that leads out of the folder is refused; a file
 * over the size limit is refused before it is read.
 */
export async function readManifestFolder(dir: string, limits: ParseLimits = defaultLimits, sourceLimits?: SourceLimits): Promise<{ files: SourceFile[]; problems: Problem[] }> {
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
  // Found first, read after: a source over its bounds is refused before any file is read.
  const found: { relPath: string; target: string }[] = [];
  let bytes = 0;

  async function walk(real: string, rel: string): Promise<void> {
    if (visited.has(real)) return;
    visited.add(real);
    const entries = (await readdir(real, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const name = entry.name;
      if (name.startsWith('.')) continue;
      const relPath = rel ? `${rel}/${name}` : name;
      const full = path.join(real, name);
      let target = full;
      if (entry.isSymbolicLink()) {
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
        found.push({ relPath, target });
        bytes += s.size;
        // Counting stops once the bound is passed: a huge tree is not walked to its end.
        if (sourceLimits && found.length > sourceLimits.maxSourceFiles) throw new TooMany();
      }
    }
  }

  try {
    await walk(root, '');
    const over = sourceLimits && sourceOverLimits(dir, found.length, bytes, sourceLimits);
    if (over) return { files: [], problems: [...problems, over] };
    // Read sixteen at a time, kept in the walk's order.
    const texts: string[] = new Array(found.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(16, found.length) }, async () => {
        while (next < found.length) {
          const i = next++;
          texts[i] = await readFile(found[i]!.target, 'utf8');
        }
      }),
    );
    found.forEach((f, i) => files.push({ path: f.relPath, text: texts[i]! }));
  } catch (err) {
    if (err instanceof TooMany) return { files: [], problems: [...problems, sourceOverLimits(dir, found.length, bytes, sourceLimits!)!] };
    problems.push({ severity: 'error', code: 'ManifestRead', file: dir, message: `cannot read the folder: ${(err as Error).message}` });
  }
  return { files, problems };
}

class TooMany extends Error {}
