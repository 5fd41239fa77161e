/** Who makes a request: a user name and its groups, as Kubernetes' user.Info. */
export interface Identity {
  user: string;
  groups: string[];
  /** Who made the request, when it acts as this identity by impersonation (kubectl --as). */
  impersonatedBy?: Identity;
}

/** The identities of Gouvernail's own components; each writes through the API as itself. */
export const identities = {
  admin: { user: 'admin', groups: ['system:masters', 'system:authenticated'] },
  controllerManager: { user: 'system:kube-controller-manager', groups: ['system:authenticated'] },
  scheduler: { user: 'system:kube-scheduler', groups: ['system:authenticated'] },
  applicationController: { user: 'system:serviceaccount:kube-system:application-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] },
  apiServer: { user: 'system:apiserver', groups: ['system:masters', 'system:authenticated'] },
} satisfies Record<string, Identity>;

export function nodeIdentity(node: string): Identity {
  return { user: `system:node:${node}`, groups: ['system:nodes', 'system:authenticated'] };
}

export function serviceAccountIdentity(namespace: string, name: string): Identity {
  return { user: `system:serviceaccount:${namespace}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'] };
}

/** Gouvernail's control-plane components, which may write the kinds users may not (ReplicaSet, Node, Event). */
export function isSystemComponent(identity: Identity): boolean {
  return identity.user.startsWith('system:') && !identity.user.startsWith('system:serviceaccount:');
}

/** The field manager a write is recorded under when the request names none. */
export function defaultFieldManager(identity: Identity): string {
  const user = identity.user;
  if (user.startsWith('system:node:')) return 'kubelet';
  if (user.startsWith('system:serviceaccount:')) return user.split(':').pop()!;
  return user.replace(/^system:/, '');
}
