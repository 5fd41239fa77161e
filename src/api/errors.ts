import { GouvernailError } from '../errors.js';

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string; causes?: { reason: string; message: string; field?: string }[] };
  code: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusBody['details'],
  ) {
    super(message);
  }
}

/** A failure as Kubernetes answers it: `details` is always there (kubectl reads it unchecked; debug crashed on a 404 without it). */
export function statusBody(err: ApiError): StatusBody {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: err.message, reason: err.reason, details: err.details ?? {}, code: err.code };
}

/** Maps store errors to the HTTP answer Kubernetes gives for them. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof GouvernailError) {
    switch (err.code) {
      case 'StoreNotFound':
        return new ApiError(404, 'NotFound', err.message);
      case 'StoreAlreadyExists':
        return new ApiError(409, 'AlreadyExists', err.message);
      case 'StoreConflict':
        return new ApiError(409, 'Conflict', err.message);
      case 'StoreGone':
        return new ApiError(410, 'Expired', err.message);
      default:
        return new ApiError(422, 'Invalid', err.message);
    }
  }
  return new ApiError(500, 'InternalError', `internal error: ${(err as Error)?.message ?? String(err)}`);
}
