/**
 * One registry of error codes. Every code says how a caller should retry:
 * - stalled: the user must change something (a manifest, a flag) before a retry can succeed;
 * - waiting: a dependency or node is not ready yet; retry when it changes;
 * - transient: back off and retry as is.
 */
export type Retry = 'stalled' | 'waiting' | 'transient';

export const errorCodes = {
  ManifestTooLarge: 'stalled',
  ManifestParse: 'stalled',
  ManifestUnsafe: 'stalled',
  ManifestInvalid: 'stalled',
  ManifestUnknownKind: 'stalled',
  ManifestDuplicate: 'stalled',
  ManifestOutsideRoot: 'stalled',
  ManifestRead: 'transient',
  SourceTooLarge: 'stalled',
  SourcePathMissing: 'stalled',
  PlanCycle: 'stalled',
  PlanMissingDependency: 'stalled',
  StoreConflict: 'transient',
  StoreNotFound: 'stalled',
  StoreAlreadyExists: 'stalled',
  StoreGone: 'transient',
  StoreSchemaTooNew: 'stalled',
  UsageError: 'stalled',
} as const satisfies Record<string, Retry>;

export type ErrorCode = keyof typeof errorCodes;

export class GouvernailError extends Error {
  readonly code: ErrorCode;
  readonly retry: Retry;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GouvernailError';
    this.code = code;
    this.retry = errorCodes[code];
  }
}
