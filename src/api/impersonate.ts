import { ApiError } from './errors.js';
import type { Attributes } from './authorize.js';
import type { Identity } from './identity.js';

/** What a request asks to act as: kubectl's --as and --as-group (the Impersonate-* headers). */
export interface Impersonation {
  user?: string;
  groups: string[];
  /** Names of the other Impersonate-* headers sent (Impersonate-Uid, Impersonate-Extra-KEY). */
  others: string[];
}

/**
 * The impersonation a request's headers ask for, from its raw headers (name, value, name, value...:
 * a group per Impersonate-Group header, as kubectl sends them); undefined when they ask for none.
 */
export function impersonationOf(rawHeaders: string[]): Impersonation | undefined {
  const asked: Impersonation = { groups: [], others: [] };
  let any = false;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (!name.startsWith('impersonate-')) continue;
    any = true;
    if (name === 'impersonate-user') asked.user ??= rawHeaders[i + 1];
    else if (name === 'impersonate-group') asked.groups.push(rawHeaders[i + 1]!);
    else if (!asked.others.includes(headerName(name))) asked.others.push(headerName(name));
  }
  return any ? asked : undefined;
}

/** A header as Kubernetes names it, with kubectl's flag for it: impersonate-uid is Impersonate-Uid (kubectl --as-uid). */
function headerName(lower: string): string {
  const name = lower.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
  return lower === 'impersonate-uid' ? `${name} (kubectl --as-uid)` : name;
}

const serviceAccountUser = /^system:serviceaccount:([^:]+):([^:]+)$/;

/**
 * Kubernetes' impersonation: the identity a request acts as once the requester was allowed to
 * `impersonate` the user (`users`, or `serviceaccounts` in its namespace for a service account's
 * user) and each group (`groups`). The impersonated user has the groups asked for, a service
 * account's own groups when none are, and system:authenticated. A uid or extra fields cannot be
 * carried by Gouvernail's identities, so asking for them is refused rather than ignored.
 */
export function impersonate(requester: Identity, asked: Impersonation, authorize: (a: Attributes) => void): Identity {
  if (!asked.user) throw new ApiError(400, 'BadRequest', `${asked.groups.length ? 'Impersonate-Group' : asked.others.join(', ')} was sent without Impersonate-User: name the user to act as (kubectl --as=USER)`);
  if (asked.others.length) throw new ApiError(400, 'BadRequest', `${asked.others.join(', ')} is not served: an impersonated identity here is a user and its groups (kubectl --as, --as-group)`);
  const sa = serviceAccountUser.exec(asked.user);
  if (sa) authorize({ identity: requester, verb: 'impersonate', apiGroup: '', resource: 'serviceaccounts', namespace: sa[1], name: sa[2] });
  else authorize({ identity: requester, verb: 'impersonate', apiGroup: '', resource: 'users', name: asked.user });
  for (const group of asked.groups) authorize({ identity: requester, verb: 'impersonate', apiGroup: '', resource: 'groups', name: group });
  const groups = asked.groups.length ? [...asked.groups] : sa ? ['system:serviceaccounts', `system:serviceaccounts:${sa[1]}`] : [];
  if (asked.user !== 'system:anonymous' && !groups.includes('system:authenticated')) groups.push('system:authenticated');
  return { user: asked.user, groups, impersonatedBy: requester };
}
