import { watch, type FSWatcher } from 'chokidar';
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Problem } from '../manifest/problems.js';
import { defaultSourceLimits, readManifestFolder, type SourceFile, type SourceLimits } from '../manifest/read-folder.js';
import { defaultLimits } from '../manifest/parse.js';

export interface Snapshot {
  /** For a folder, a hash of its files' names and contents; for Git, the commit. */
  revision: string;
  files: SourceFile[];
  problems: Problem[];
  /** Where the source's kustomization is among the files, when they are read from above it (a Git overlay on `../base`). */
  base?: string;
}

export async function readFolderSnapshot(dir: string, limits: SourceLimits = defaultSourceLimits): Promise<Snapshot> {
  const { files, problems } = await readManifestFolder(dir, defaultLimits, limits);
  const hash = createHash('sha256');
  for (const f of files) hash.update(f.path).update('\0').update(f.text).update('\0');
  return { revision: `folder-${hash.digest('hex').slice(0, 12)}`, files, problems };
}

/** Editors' temporary and backup files, which are never manifests. */
const editorFile = /(^|[/\\])(\.[^/\\]*|[^/\\]*~|#[^/\\]*#|4913|[^/\\]*\.(swp|swx|tmp|bak))$/;

/**
 * Calls `onChange` once after a burst of changes in the folder settles (debounced). Symlinks are
 * not followed (the reader refuses those that leave the folder); editor files are ignored.
 */
export function watchFolder(dir: string, onChange: () => void, debounceMs = 150): FSWatcher {
  let timer: NodeJS.Timeout | undefined;
  const root = path.resolve(dir);
  const watcher = watch(root, {
    ignoreInitial: true,
    followSymlinks: false,
    ignored: (p: string) => p !== root && editorFile.test(path.relative(root, p)),
  });
  watcher.on('all', () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  });
  return watcher;
}
