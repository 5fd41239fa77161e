import type { ErrorCode } from '../errors.js';

/** An error or warning about a manifest, located as precisely as we can. */
export interface Problem {
  severity: 'error' | 'warning';
  code: ErrorCode;
  file: string;
  line?: number;
  column?: number;
  /** `Kind/name` of the document, when it got that far. */
  object?: string;
  /** Field path inside the document, e.g. `spec.template.spec.containers[0].image`. */
  field?: string;
  message: string;
}

export function formatProblem(p: Problem): string {
  let where = p.file;
  if (p.line !== undefined) where += `:${p.line}`;
  if (p.column !== undefined) where += `:${p.column}`;
  const parts = [where];
  if (p.object) parts.push(p.object);
  if (p.field) parts.push(p.field);
  return `${parts.join(': ')}: ${p.message}`;
}
