import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KubeObject } from '../manifest/types.js';
import type { ObjectStore } from '../store/object-store.js';
import type { Authenticator, Credentials } from './authenticate.js';
import type { Identity } from './identity.js';

/**
 * User tokens: `gvt_ID_SECRET`. Only SECRET's SHA-256 is kept, in a Secret `gouvernail-token-ID`
 * of kube-system (type gouvernail.io/user-token) with the user's name and an optional expiry;
 * deleting that Secret revokes the token.
 */
export const tokenNamespace = 'kube-system';
export const tokenSecretType = 'gouvernail.io/user-token';
export const tokenUserLabel = 'gouvernail.io/token-user';
const expiresAnnotation = 'gouvernail.io/expires';

export function tokenSecretName(id: string): string {
  return `gouvernail-token-${id}`;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** A new token and the Secret that records it (the token itself is not in it). */
export function newUserToken(user: string, expires?: Date): { token: string; secret: KubeObject } {
  const id = randomBytes(5).toString('hex');
  const secret = randomBytes(24).toString('base64url');
  return {
    token: `gvt_${id}_${secret}`,
    secret: {
      apiVersion: 'v1',
      kind: 'Secret',
      type: tokenSecretType,
      metadata: { name: tokenSecretName(id), namespace: tokenNamespace, labels: { [tokenUserLabel]: user }, ...(expires ? { annotations: { [expiresAnnotation]: expires.toISOString() } } : {}) },
      data: { user: Buffer.from(user).toString('base64'), sha256: sha256(secret).toString('base64') },
    },
  };
}

/** Recognises user tokens against the Secrets that record them. */
export class UserTokenAuthenticator implements Authenticator {
  constructor(private readonly store: ObjectStore, private readonly now: () => Date = () => new Date()) {}

  authenticate(credentials: Credentials): Identity | undefined {
    const m = /^gvt_([0-9a-f]{10})_([A-Za-z0-9_-]+)$/.exec(credentials.bearerToken ?? '');
    if (!m) return undefined;
    const record = this.store.get('Secret', tokenNamespace, tokenSecretName(m[1]!));
    if (!record || record.type !== tokenSecretType || !record.data?.sha256 || !record.data.user) return undefined;
    const want = Buffer.from(record.data.sha256, 'base64');
    const given = sha256(m[2]!);
    if (want.length !== given.length || !timingSafeEqual(want, given)) return undefined;
    const expires = record.metadata.annotations?.[expiresAnnotation];
    if (expires && Date.parse(expires) <= this.now().getTime()) return undefined;
    return { user: Buffer.from(record.data.user, 'base64').toString('utf8'), groups: ['system:authenticated'] };
  }
}
