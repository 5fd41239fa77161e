import { defaultInPlace } from './defaults.js';
import { keyOf, type ObjectKey } from './keys.js';
import { defaultLimits, parseManifestText, type ParseLimits } from './parse.js';
import type { Problem } from './problems.js';
import { readManifestFolder, type SourceFile } from './read-folder.js';
import { formatPath, type Manifest } from './types.js';
import { validateObject } from './validate.js';
import { toStoredVersion } from './older-versions.js';
import { findKustomization, kustomize } from './kustomize.js';
import { issuesCheckedBefore, keepChecked } from './document-cache.js';

export interface ManifestSet {
  /** Valid objects with Kubernetes defaults applied, in file order. */
  manifests: Manifest[];
  /** Errors first, then warnings. Any error means the set must not be applied. */
  problems: Problem[];
}

export function hasErrors(problems: Problem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}

/**
 * Parses, validates and defaults a snapshot of files (a folder, a Git revision). Pure. Every
 * error of every file is reported, not just the first.
 */
export function parseSnapshot(files: SourceFile[], limits: ParseLimits = defaultLimits, base = ''): ManifestSet {
  if (findKustomization(files, base)) {
    const k = kustomize(files, limits, base);
    const checked = checkManifests(k.manifests);
    return { manifests: checked.manifests, problems: [...k.problems, ...checked.problems] };
  }
  const parsed: Manifest[] = [];
  const problems: Problem[] = [];
  for (const file of files) {
    const r = parseManifestText(file.text, file.path, limits, true);
    problems.push(...r.problems);
    parsed.push(...r.manifests);
  }
  const checked = checkManifests(parsed);
  return { manifests: checked.manifests, problems: [...problems, ...checked.problems].sort((a, b) => severityRank(a) - severityRank(b)) };
}

/** `Kind/name` for messages, whatever the object holds. */
function objectName(o: Manifest['object']): string {
  const name = typeof o.metadata?.name === 'string' ? o.metadata.name : '(no name)';
  return `${typeof o.kind === 'string' ? o.kind : '(no kind)'}/${name}`;
}

function byPlace(a: Problem, b: Problem): number {
  return (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0);
}

function severityRank(p: Problem): number {
  return p.severity === 'error' ? 0 : 1;
}

/** Validates and defaults parsed manifests, and finds duplicates. Pure. */
export function checkManifests(parsed: Manifest[]): ManifestSet {
  const errors: Problem[] = [];
  const warnings = new Map<string, { problem: Problem; more: number }>();
  const manifests: Manifest[] = [];
  const seen = new Map<ObjectKey, Manifest>();
  const unknownKinds = new Map<string, { problem: Problem; more: number }>();
  for (let i = 0; i < parsed.length; i++) {
    const m = parsed[i]!;
    const o = m.object;
    const before = issuesCheckedBefore(m);
    const issues = before ?? validateObject(o);
    let bad = false;
    const firstError = errors.length;
    const object = issues.length > 0 ? objectName(o) : '';
    for (let n = 0; n < issues.length; n++) {
      const issue = issues[n]!;
      const at = m.locate(issue.path);
      const problem: Problem = {
        severity: issue.warning ? 'warning' : 'error',
        code: issue.message.startsWith('unknown kind') ? 'ManifestUnknownKind' : 'ManifestInvalid',
        file: m.source.file,
        line: at.line,
        column: at.column,
        object,
        field: formatPath(issue.path),
        message: issue.message,
      };
      if (problem.code === 'ManifestUnknownKind') {
        // Said once per kind, with how many more objects are of it.
        const first = unknownKinds.get(String(o.kind));
        if (first) {
          first.more++;
          bad = true;
          continue;
        }
        unknownKinds.set(String(o.kind), { problem, more: 0 });
      }
      if (issue.warning) {
        // Reported once per kind and field, however many objects carry it.
        const id = `${o.kind} ${formatPath(issue.path.map((p) => (typeof p === 'number' ? 0 : p)))}`;
        const w = warnings.get(id);
        if (w) w.more++;
        else warnings.set(id, { problem, more: 0 });
      } else {
        bad = true;
        errors.push(problem);
      }
    }
    // An object's errors in the order of its lines, whatever order its checks found them in.
    if (errors.length - firstError > 1) errors.splice(firstError, Infinity, ...errors.slice(firstError).sort(byPlace));
    if (bad) continue;
    // The object was just parsed and is this function's: defaulted where it is, not copied.
    let defaulted = m;
    if (!before) {
      const kept = keepChecked(m, defaultInPlace(toStoredVersion(o)), issues);
      if (kept !== o) defaulted = { ...m, object: kept };
    }
    const key = keyOf(defaulted.object);
    // A hook named by generateName alone is a new object each time: never a duplicate.
    const first = defaulted.object.metadata.name ? seen.get(key) : undefined;
    if (first) {
      errors.push({
        severity: 'error',
        code: 'ManifestDuplicate',
        file: m.source.file,
        line: m.source.line,
        column: m.source.column,
        object: objectName(o),
        message: `is defined twice: here and at ${first.source.file}:${first.source.line}`,
      });
      continue;
    }
    seen.set(key, defaulted);
    manifests.push(defaulted);
  }
  const warningList = [...warnings.values()].map(({ problem, more }) =>
    more > 0 ? { ...problem, message: `${problem.message}; also in ${more} more place${more > 1 ? 's' : ''}` } : problem,
  );
  for (const { problem, more } of unknownKinds.values()) if (more > 0) problem.message += `; also ${more} more object${more > 1 ? 's' : ''} of this kind`;
  return { manifests, problems: [...errors, ...warningList] };
}

/** Reads and parses a folder of manifests. */
export async function loadManifests(dir: string, limits: ParseLimits = defaultLimits): Promise<ManifestSet> {
  const { files, problems } = await readManifestFolder(dir, limits);
  const set = parseSnapshot(files, limits);
  return { manifests: set.manifests, problems: [...problems, ...set.problems] };
}
