import { timingSafeEqual } from 'node:crypto';
import { ApiError } from './errors.js';
import type { Identity } from './identity.js';

/** What a request carries to prove who sends it. */
export interface Credentials {
  bearerToken?: string;
  /** The subject of a client certificate the TLS layer verified against the cluster CA. */
  certificate?: { commonName: string; organizations: string[] };
}

export interface Authenticator {
  /** The identity the credentials prove, or undefined when they prove none. */
  authenticate(credentials: Credentials): Identity | undefined;
}

/** Static bearer tokens, each bound to an identity; compared in constant time. */
export class TokenAuthenticator implements Authenticator {
  private readonly tokens: { token: Buffer; identity: Identity }[];

  constructor(tokens: { token: string; identity: Identity }[]) {
    this.tokens = tokens.map((t) => ({ token: Buffer.from(t.token), identity: t.identity }));
  }

  authenticate(credentials: Credentials): Identity | undefined {
    if (!credentials.bearerToken) return undefined;
    const given = Buffer.from(credentials.bearerToken);
    return this.tokens.find((t) => t.token.length === given.length && timingSafeEqual(t.token, given))?.identity;
  }
}

/** Client certificates signed by the cluster CA: CN is the user, each O a group. */
export const certificateAuthenticator: Authenticator = {
  authenticate(credentials) {
    const c = credentials.certificate;
    if (!c?.commonName) return undefined;
    return { user: c.commonName, groups: [...c.organizations, 'system:authenticated'] };
  },
};

/** Tries each authenticator in turn; the first that recognises the credentials answers. */
export class AuthenticatorChain implements Authenticator {
  constructor(private readonly chain: Authenticator[]) {}

  authenticate(credentials: Credentials): Identity | undefined {
    for (const a of this.chain) {
      const identity = a.authenticate(credentials);
      if (identity) return identity;
    }
    return undefined;
  }
}

export function unauthorized(): ApiError {
  return new ApiError(401, 'Unauthorized', 'Unauthorized: send a bearer token over HTTPS (see the kubeconfig written by gouvernail serve)');
}
