import type { Identity } from './identity.js';

/** What a request asks to do, as Kubernetes' authorizer.Attributes. */
export interface Attributes {
  identity: Identity;
  verb: string;
  apiGroup: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface Decision {
  allowed: boolean;
  reason?: string;
}

export interface Authorizer {
  authorize(attributes: Attributes): Decision;
  /** The rules an identity has in a namespace, for `kubectl auth can-i --list`; undefined when unknown. */
  rulesFor?(identity: Identity, namespace?: string): { apiGroups?: string[]; resources?: string[]; verbs: string[]; resourceNames?: string[]; nonResourceURLs?: string[] }[];
}

/** Allows every authenticated request: the seam RBAC plugs into. */
export const allowAll: Authorizer = { authorize: () => ({ allowed: true }) };

/** Kubernetes' wording of a refusal. */
export function forbiddenMessage(a: Attributes, reason?: string): string {
  const what = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const named = a.name ? `${what}${a.apiGroup ? `.${a.apiGroup}` : ''} "${a.name}"` : `${what}${a.apiGroup ? `.${a.apiGroup}` : ''}`;
  const where = a.namespace ? ` in the namespace "${a.namespace}"` : ' at the cluster scope';
  return `${named} is forbidden: User "${a.identity.user}" cannot ${a.verb} resource "${what}" in API group "${a.apiGroup}"${where}${reason ? `: ${reason}` : ''}`;
}
