import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { ObjectStore } from '../store/object-store.js';
import type { Authenticator, Credentials } from './authenticate.js';
import { serviceAccountIdentity, type Identity } from './identity.js';

interface Claims {
  /** namespace, ServiceAccount name and uid */
  ns: string;
  sa: string;
  uid: string;
  /** expiry, seconds since the epoch; absent for a token bound to a Pod's life */
  exp?: number;
  /** the Pod the token is bound to: it stops working when that Pod is gone */
  pod?: { name: string; uid: string };
}

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/**
 * ServiceAccount tokens, as TokenRequest gives them: `gvsa.CLAIMS.SIGNATURE`, HMAC-SHA256 under a key
 * kept in the data folder. A token is good while its ServiceAccount (same uid) exists, until its
 * expiry, and, when bound to a Pod, while that Pod exists.
 */
export class ServiceAccountTokens implements Authenticator {
  constructor(private readonly key: Buffer, private readonly store: ObjectStore, private readonly now: () => number = Date.now) {}

  static load(file: string, store: ObjectStore): ServiceAccountTokens {
    if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
    return new ServiceAccountTokens(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'), store);
  }

  issue(claims: Claims): string {
    const body = b64(JSON.stringify(claims));
    return `gvsa.${body}.${b64(createHmac('sha256', this.key).update(body).digest())}`;
  }

  authenticate(credentials: Credentials): Identity | undefined {
    const m = /^gvsa\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(credentials.bearerToken ?? '');
    if (!m) return undefined;
    const want = createHmac('sha256', this.key).update(m[1]!).digest();
    const given = Buffer.from(m[2]!, 'base64url');
    if (want.length !== given.length || !timingSafeEqual(want, given)) return undefined;
    const claims = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as Claims;
    if (claims.exp !== undefined && claims.exp * 1000 <= this.now()) return undefined;
    if (this.store.get('ServiceAccount', claims.ns, claims.sa)?.metadata.uid !== claims.uid) return undefined;
    if (claims.pod && this.store.get('Pod', claims.ns, claims.pod.name)?.metadata.uid !== claims.pod.uid) return undefined;
    return serviceAccountIdentity(claims.ns, claims.sa);
  }
}
