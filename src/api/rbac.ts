import { matchesSelector, type LabelSelector } from '../manifest/selector.js';
import type { KubeObject } from '../manifest/types.js';
import type { ObjectStore } from '../store/object-store.js';
import type { Attributes, Authorizer, Decision } from './authorize.js';
import type { Identity } from './identity.js';

/** A PolicyRule, as Role and ClusterRole hold them. */
export interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind: 'User' | 'Group' | 'ServiceAccount';
  name: string;
  namespace?: string;
}

interface Index {
  clusterRoles: Map<string, Rule[]>;
  roles: Map<string, Rule[]>;
  clusterBindings: KubeObject[];
  bindingsByNamespace: Map<string, KubeObject[]>;
}

const rbacKinds = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);

function has(list: string[] | undefined, value: string): boolean {
  return !!list && (list.includes('*') || list.includes(value));
}

/** Whether one rule allows a request on a resource. */
export function ruleAllows(rule: Rule, a: Attributes): boolean {
  if (!has(rule.verbs, a.verb) || !has(rule.apiGroups, a.apiGroup)) return false;
  const resources = rule.resources ?? [];
  const target = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resourceOk = resources.includes('*') || resources.includes(target) || (!!a.subresource && resources.includes(`${a.resource}/*`)) || (!!a.subresource && resources.includes(`*/${a.subresource}`));
  if (!resourceOk) return false;
  if (rule.resourceNames?.length) return !!a.name && rule.resourceNames.includes(a.name);
  return true;
}

function subjectMatches(s: Subject, identity: Identity, bindingNamespace?: string): boolean {
  switch (s.kind) {
    case 'User':
      return s.name === identity.user;
    case 'Group':
      return identity.groups.includes(s.name);
    case 'ServiceAccount':
      return identity.user === `system:serviceaccount:${s.namespace ?? bindingNamespace}:${s.name}`;
    default:
      return false;
  }
}

/**
 * Kubernetes' RBAC over the store's Roles, ClusterRoles and their bindings: a request is allowed when
 * a rule bound to its user, one of its groups or its ServiceAccount allows it, cluster-wide through
 * a ClusterRoleBinding or in the request's namespace through a RoleBinding. ClusterRoles with an
 * aggregationRule hold the rules of the ClusterRoles their selectors match. The group
 * system:masters may do anything, as on Kubernetes.
 */
export class RbacAuthorizer implements Authorizer {
  private index?: Index;
  private readonly unwatch: () => void;

  constructor(private readonly store: ObjectStore) {
    this.unwatch = store.watch(store.resourceVersion(), (c) => {
      if (rbacKinds.has(c.object.kind)) this.index = undefined;
    });
  }

  close(): void {
    this.unwatch();
  }

  authorize(a: Attributes): Decision {
    if (a.identity.groups.includes('system:masters')) return { allowed: true };
    return { allowed: this.rulesFor(a.identity, a.namespace).some((r) => ruleAllows(r, a)) };
  }

  /** Every rule that applies to an identity in a namespace (cluster-wide ones included). */
  rulesFor(identity: Identity, namespace?: string): Rule[] {
    if (identity.groups.includes('system:masters')) return [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }];
    const index = this.build();
    const rules: Rule[] = [];
    for (const b of index.clusterBindings) {
      if ((b.subjects as Subject[] | undefined)?.some((s) => subjectMatches(s, identity))) rules.push(...(index.clusterRoles.get((b.roleRef as { name: string }).name) ?? []));
    }
    if (namespace) {
      for (const b of index.bindingsByNamespace.get(namespace) ?? []) {
        if (!(b.subjects as Subject[] | undefined)?.some((s) => subjectMatches(s, identity, namespace))) continue;
        const ref = b.roleRef as { kind: string; name: string };
        rules.push(...((ref.kind === 'ClusterRole' ? index.clusterRoles.get(ref.name) : index.roles.get(`${namespace}/${ref.name}`)) ?? []));
      }
    }
    return rules;
  }

  private build(): Index {
    if (this.index) return this.index;
    const clusterRoleObjects = this.store.list({ kind: 'ClusterRole' });
    const clusterRoles = new Map<string, Rule[]>();
    for (const cr of clusterRoleObjects) {
      const selectors = (cr.aggregationRule as { clusterRoleSelectors?: LabelSelector[] } | undefined)?.clusterRoleSelectors;
      const own = (cr.rules as Rule[] | undefined) ?? [];
      const aggregated = selectors?.length ? clusterRoleObjects.filter((o) => o !== cr && selectors.some((sel) => matchesSelector(sel, o.metadata.labels ?? {}))).flatMap((o) => (o.rules as Rule[] | undefined) ?? []) : [];
      clusterRoles.set(cr.metadata.name, [...own, ...aggregated]);
    }
    const roles = new Map(this.store.list({ kind: 'Role' }).map((r) => [`${r.metadata.namespace}/${r.metadata.name}`, (r.rules as Rule[] | undefined) ?? []]));
    const bindingsByNamespace = new Map<string, KubeObject[]>();
    for (const b of this.store.list({ kind: 'RoleBinding' })) (bindingsByNamespace.get(b.metadata.namespace!) ?? bindingsByNamespace.set(b.metadata.namespace!, []).get(b.metadata.namespace!)!).push(b);
    this.index = { clusterRoles, roles, clusterBindings: this.store.list({ kind: 'ClusterRoleBinding' }), bindingsByNamespace };
    return this.index;
  }
}
