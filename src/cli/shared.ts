import { hasErrors, loadManifests, type ManifestSet } from '../manifest/load.js';
import { formatProblem } from '../manifest/problems.js';
import { usageError, type Io } from './command.js';

export const fileOption = { type: 'string', short: 'f', description: 'folder (or file) of manifests' } as const;
export const kubeconfigOption = { type: 'string', description: 'kubeconfig to use (default $KUBECONFIG, then the one gouvernail serve writes)' } as const;
export const outputOption = { type: 'string', short: 'o', description: 'output format: text (default) or json' } as const;

export function outputFormat(values: Record<string, unknown>): 'text' | 'json' {
  const o = (values.output as string | undefined) ?? 'text';
  if (o !== 'text' && o !== 'json') usageError(`-o ${o} is not supported here; use -o json or leave it out`);
  return o;
}

/** `validate DIR` as `validate -f DIR` (one folder, given one way). */
export function withFolderArgument<V extends Record<string, unknown>>(values: V, positionals: string[]): V {
  if (positionals.length === 0) return values;
  if (positionals.length > 1 || values.filename !== undefined) usageError(`give one folder, as -f DIR or as DIR (got ${[...(values.filename !== undefined ? [`-f ${String(values.filename)}`] : []), ...positionals].join(', ')})`);
  return { ...values, filename: positionals[0] };
}

/** Loads the manifests of -f and, in text mode, prints their problems to stderr. */
export async function loadForCommand(values: Record<string, unknown>, io: Io, json: boolean): Promise<ManifestSet> {
  const dir = values.filename as string | undefined;
  if (!dir) usageError('-f DIR is required: the folder of manifests');
  const set = await loadManifests(dir);
  if (!json) for (const p of set.problems) io.err(`${p.severity}: ${formatProblem(p)}`);
  return set;
}

export function countProblems(set: ManifestSet): string {
  const errors = set.problems.filter((p) => p.severity === 'error').length;
  const warnings = set.problems.length - errors;
  return `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
}

export { hasErrors };
