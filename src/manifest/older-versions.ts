import { hpaFromV1, hpaToV1 } from './hpa-v1.js';
import { kindInfo, olderKindVersions, type KindInfo } from './kinds.js';
import type { KubeObject } from './types.js';

export { ConversionError } from './hpa-v1.js';

/**
 * An older version of a kind, as Kubernetes still serves it: its schema, and its conversion to
 * and from the version stored. Manifests in it are converted when read; the API serves it beside
 * the stored version (converting requests and answers).
 */
export interface OlderVersion {
  info: KindInfo;
  /** The stored version's kind. */
  stored: KindInfo;
  /** To the stored version; throws ConversionError (src/manifest/hpa-v1.ts) naming what it cannot read. */
  toStored(o: KubeObject): KubeObject;
  fromStored(o: KubeObject): KubeObject;
}

const conversions: Record<string, Pick<OlderVersion, 'toStored' | 'fromStored'>> = {
  'autoscaling/v1/HorizontalPodAutoscaler': { toStored: hpaFromV1, fromStored: hpaToV1 },
};

export const olderVersions: OlderVersion[] = olderKindVersions.map((info) => ({ info, stored: kindInfo(info.kind)!, ...conversions[`${info.apiVersion}/${info.kind}`]! }));

export function olderVersion(apiVersion: unknown, kind: unknown): OlderVersion | undefined {
  for (const v of olderVersions) if (v.info.apiVersion === apiVersion && v.info.kind === kind) return v;
  return undefined;
}

/** The object in the version stored: converted when it is in an older one, else itself. */
export function toStoredVersion(o: KubeObject): KubeObject {
  const older = olderVersion(o.apiVersion, o.kind);
  return older ? older.toStored(o) : o;
}
