import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { findKustomization } from '../manifest/kustomize.js';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import type { Problem } from '../manifest/problems.js';
import { defaultSourceLimits, sourceOverLimits, type SourceFile, type SourceLimits } from '../manifest/read-folder.js';
import { defaultLimits } from '../manifest/parse.js';
import type { Snapshot } from './folder-source.js';

export interface GitCredentials {
  /** A file holding a token (sent as the password, with username `git` unless one is given). */
  tokenFile?: string;
  /** An environment variable holding a token. */
  tokenEnv?: string;
  username?: string;
  passwordFile?: string;
  /** A Secret (keys username and password) the Application controller has read; never written anywhere. */
  secretRef?: { name: string };
  secret?: { username?: string; password: string };
}

export interface GitSourceSpec {
  repoURL: string;
  targetRevision?: string;
  path?: string;
  credentials?: GitCredentials;
}

export interface GitRevision extends Snapshot {
  commit: { sha: string; message: string; author: string };
}

export class GitFetchError extends Error {}

/** The URL with any user and password taken out, for every message and log line. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/)[^/@]*@/i, '$1***@');
}

async function auth(c: GitCredentials | undefined): Promise<{ username: string; password: string } | undefined> {
  if (!c) return undefined;
  let token: string | undefined;
  if (c.secret) return { username: c.secret.username ?? c.username ?? 'git', password: c.secret.password };
  if (c.tokenFile) token = (await readFile(c.tokenFile, 'utf8')).trim();
  else if (c.tokenEnv) token = process.env[c.tokenEnv];
  else if (c.passwordFile) token = (await readFile(c.passwordFile, 'utf8')).trim();
  if (token === undefined) return undefined;
  return { username: c.username ?? 'git', password: token };
}

const isLocal = (url: string) => url.startsWith('/') || url.startsWith('file://');

/**
 * Fetches the source's revision (a branch, tag or commit) into a cache under `cacheRoot`, shallow
 * where it can, and reads the manifests under `path` straight from Git's objects: no working tree
 * is written, so nothing in the repository can point the reader outside it. A local repository
 * path is read in place.
 */
export async function fetchGitRevision(spec: GitSourceSpec, cacheRoot: string, limits: SourceLimits = defaultSourceLimits): Promise<GitRevision> {
  const ref = spec.targetRevision && spec.targetRevision !== 'HEAD' ? spec.targetRevision : undefined;
  const shown = redactUrl(spec.repoURL);
  let gitdir: string;
  let sha: string;
  try {
    if (isLocal(spec.repoURL)) {
      const dir = spec.repoURL.replace(/^file:\/\//, '');
      gitdir = fs.existsSync(path.join(dir, '.git')) ? path.join(dir, '.git') : dir;
      sha = await resolve(gitdir, ref ?? 'HEAD');
    } else {
      const parsed = new URL(spec.repoURL);
      const fromUrl = parsed.username ? { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) } : undefined;
      parsed.username = '';
      parsed.password = '';
      const bareUrl = parsed.toString();
      gitdir = path.join(cacheRoot, createHash('sha256').update(bareUrl).digest('hex').slice(0, 16));
      fs.mkdirSync(gitdir, { recursive: true });
      if (!fs.existsSync(path.join(gitdir, 'config'))) {
        await git.init({ fs, dir: gitdir, gitdir, bare: true });
        // The URL is kept in the cache's config without credentials; they come from onAuth.
        await git.addRemote({ fs, gitdir, remote: 'origin', url: bareUrl, force: true });
      }
      const credentials = (await auth(spec.credentials)) ?? fromUrl;
      const onAuth = () => credentials ?? { cancel: true };
      const onAuthFailure = () => ({ cancel: true });
      const isSha = ref !== undefined && /^[0-9a-f]{40}$/.test(ref);
      const result = await git.fetch({ fs, http, gitdir, remote: 'origin', url: bareUrl, ref: isSha ? undefined : ref, singleBranch: !isSha, depth: isSha ? undefined : 1, tags: false, onAuth, onAuthFailure });
      sha = isSha ? ref! : (result.fetchHead ?? '');
      if (!sha) throw new Error(`the repository has no ${ref ?? 'default branch'}`);
    }
  } catch (err) {
    throw new GitFetchError(`cannot fetch ${shown}${ref ? ` at ${ref}` : ''}: ${String((err as Error).message).replaceAll(spec.repoURL, shown)}`);
  }
  const commit = await git.readCommit({ fs, gitdir, oid: sha });
  let { files, problems } = await readTreeFiles(gitdir, commit.commit.tree, spec.path ?? '.', limits);
  // A kustomization that reaches above its folder (an overlay on ../../base) is read with the whole
  // repository, which is its root: nothing outside the repository is ever read.
  const k = findKustomization(files);
  const base = path.posix.normalize((spec.path ?? '.').replace(/^\.?\/+/, '') || '.');
  let under: string | undefined;
  if (k && base !== '.' && /(^|[\s[,'"])\.\.\//m.test(k.text)) {
    ({ files, problems } = await readTreeFiles(gitdir, commit.commit.tree, '.', limits));
    under = base;
  }
  return {
    revision: sha,
    files,
    problems,
    ...(under ? { base: under } : {}),
    commit: { sha, message: commit.commit.message.trim().split('\n')[0]!, author: `${commit.commit.author.name} <${commit.commit.author.email}>` },
  };
}

async function resolve(gitdir: string, ref: string): Promise<string> {
  if (/^[0-9a-f]{40}$/.test(ref)) return ref;
  return git.resolveRef({ fs, gitdir, ref });
}

const manifestExtension = /\.(ya?ml|json)$/i;

/** Reads the manifests under `base` in a Git tree, refusing entries that escape it. */
export async function readTreeFiles(gitdir: string, treeOid: string, base: string, limits: SourceLimits = defaultSourceLimits): Promise<{ files: SourceFile[]; problems: Problem[] }> {
  const files: SourceFile[] = [];
  const problems: Problem[] = [];
  const root = path.posix.normalize(base.replace(/^\.?\/+/, '') || '.');
  if (root.startsWith('..') || path.posix.isAbsolute(base)) {
    problems.push({ severity: 'error', code: 'ManifestOutsideRoot', file: base, message: 'the source path leaves the repository' });
    return { files, problems };
  }
  const entries = new Map<string, { oid: string; mode: string; type: string }>();
  const folders = new Set<string>(['.']);
  async function walk(oid: string, prefix: string): Promise<void> {
    const { tree } = await git.readTree({ fs, gitdir, oid });
    for (const e of tree) {
      const p = prefix ? `${prefix}/${e.path}` : e.path;
      if (e.path === '..' || e.path === '.' || e.path.includes('/') || e.path.includes('\\') || e.path.toLowerCase() === '.git') {
        problems.push({ severity: 'error', code: 'ManifestOutsideRoot', file: p, message: 'is a tree entry that would escape the checkout or reach .git; the revision is refused' });
        continue;
      }
      if (e.type === 'tree') {
        folders.add(p);
        await walk(e.oid, p);
      }
      else entries.set(p, { oid: e.oid, mode: e.mode, type: e.type });
    }
  }
  await walk(treeOid, '');
  if (!folders.has(root) && !entries.has(root)) {
    // A renamed or deleted path is not an emptied source: nothing may be pruned for it.
    problems.push({ severity: 'error', code: 'SourcePathMissing', file: base, message: `the source path ${base} does not exist in this revision; nothing was applied or pruned (fix spec.source.path)` });
    return { files, problems };
  }
  const inside = (p: string) => root === '.' || p === root || p.startsWith(`${root}/`);
  // Counted from the tree before any blob is read; bytes are summed as blobs are read, and the
  // source is dropped as soon as it passes the bound, so memory stays within it.
  const candidates = [...entries.keys()].filter((p) => inside(p) && manifestExtension.test(p)).length;
  const tooMany = sourceOverLimits(base, candidates, 0, limits);
  if (tooMany) return { files: [], problems: [...problems, tooMany] };
  let bytes = 0;
  for (const [p, e] of [...entries].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!inside(p) || e.type !== 'blob') continue;
    const rel = root === '.' ? p : p.slice(root.length + 1);
    if (rel.split('/').some((part) => part.startsWith('.'))) continue;
    let oid = e.oid;
    if (e.mode === '120000') {
      const target = Buffer.from((await git.readBlob({ fs, gitdir, oid })).blob).toString('utf8');
      const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(p), target));
      if (path.posix.isAbsolute(target) || !inside(resolved) || resolved.split('/').includes('.git')) {
        problems.push({ severity: 'error', code: 'ManifestOutsideRoot', file: rel, message: `is a symlink to ${target}, outside the source path; the revision is refused` });
        continue;
      }
      const found = entries.get(resolved);
      if (!found) continue;
      oid = found.oid;
    }
    if (!manifestExtension.test(p)) continue;
    const { blob } = await git.readBlob({ fs, gitdir, oid });
    if (blob.length > defaultLimits.maxFileBytes) {
      problems.push({ severity: 'error', code: 'ManifestTooLarge', file: rel, message: `file is ${blob.length} bytes, over the limit of ${defaultLimits.maxFileBytes}` });
      continue;
    }
    bytes += blob.length;
    const tooBig = sourceOverLimits(base, files.length + 1, bytes, limits);
    if (tooBig) return { files: [], problems: [...problems, tooBig] };
    files.push({ path: rel, text: Buffer.from(blob).toString('utf8') });
  }
  return { files, problems };
}
