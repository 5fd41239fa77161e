import type { KubeObject } from '../manifest/types.js';
import type { Rule } from './rbac.js';
import { identities } from './identity.js';

/**
 * The roles and bindings every cluster starts with, as Kubernetes bootstraps them: the user-facing
 * view, edit and admin (aggregated from labelled pieces, so a team can extend them) and
 * cluster-admin; the least each of Gouvernail's components needs; and what every authenticated user
 * may ask about itself (whoami, can-i). `serve` puts them back at every start.
 */

const read = ['get', 'list', 'watch'];
const write = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const bootstrap = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const aggregate = (to: string) => `rbac.authorization.k8s.io/aggregate-to-${to}`;

function clusterRole(name: string, rules: Rule[], labels: Record<string, string> = {}, aggregateFrom?: string[]): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name, labels: { ...bootstrap, ...labels } },
    rules,
    ...(aggregateFrom ? { aggregationRule: { clusterRoleSelectors: aggregateFrom.map((to) => ({ matchLabels: { [aggregate(to)]: 'true' } })) } } : {}),
  };
}

function clusterBinding(name: string, role: string, subjects: { kind: string; name: string; namespace?: string }[]): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: { ...bootstrap } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: subjects.map((s) => ({ ...s, ...(s.kind === 'ServiceAccount' ? {} : { apiGroup: 'rbac.authorization.k8s.io' }) })),
  };
}

const coreWorkloads = ['pods', 'services', 'configmaps', 'persistentvolumeclaims', 'serviceaccounts', 'replicationcontrollers', 'replicationcontrollers/scale'];
const appsWorkloads = ['deployments', 'deployments/scale', 'replicasets', 'replicasets/scale', 'statefulsets', 'statefulsets/scale', 'daemonsets'];
const batchWorkloads = ['jobs', 'cronjobs'];
const autoscaling = ['horizontalpodautoscalers'];
const workloadStatus = { apps: ['deployments/status', 'replicasets/status', 'statefulsets/status', 'daemonsets/status'], batch: ['jobs/status', 'cronjobs/status'] };

export function defaultRbacObjects(): KubeObject[] {
  return [
    clusterRole('cluster-admin', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }]),
    clusterRole('admin', [], {}, ['admin', 'edit', 'view']),
    clusterRole('edit', [], {}, ['edit', 'view']),
    clusterRole('view', [], {}, ['view']),
    clusterRole('system:aggregate-to-view', [
      { apiGroups: [''], resources: [...coreWorkloads, 'pods/log', 'pods/status', 'services/status', 'persistentvolumeclaims/status', 'events', 'namespaces', 'namespaces/status', 'limitranges', 'resourcequotas', 'resourcequotas/status'], verbs: read },
      { apiGroups: ['apps'], resources: [...appsWorkloads, ...workloadStatus.apps, 'controllerrevisions'], verbs: read },
      { apiGroups: ['batch'], resources: [...batchWorkloads, ...workloadStatus.batch], verbs: read },
      { apiGroups: ['autoscaling'], resources: [...autoscaling, 'horizontalpodautoscalers/status'], verbs: read },
      { apiGroups: ['policy'], resources: ['poddisruptionbudgets', 'poddisruptionbudgets/status'], verbs: read },
      { apiGroups: [''], resources: ['replicationcontrollers/status', 'endpoints'], verbs: read },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: read },
      { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies', 'ingresses', 'ingresses/status'], verbs: read },
      { apiGroups: ['gouvernail.io'], resources: ['applications', 'applications/status'], verbs: read },
    ], { [aggregate('view')]: 'true' }),
    clusterRole('system:aggregate-to-edit', [
      { apiGroups: [''], resources: [...coreWorkloads, 'secrets'], verbs: write },
      { apiGroups: [''], resources: ['secrets'], verbs: read },
      { apiGroups: [''], resources: ['pods/exec', 'pods/attach', 'pods/portforward'], verbs: ['create', 'get'] },
      // HTTP to a Pod or a Service through the API (kubectl proxy), as Kubernetes' edit allows it.
      { apiGroups: [''], resources: ['pods/proxy', 'services/proxy'], verbs: [...read, ...write] },
      { apiGroups: [''], resources: ['pods/ephemeralcontainers'], verbs: ['get', 'patch', 'update'] },
      { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
      { apiGroups: [''], resources: ['pods/resize'], verbs: ['get', 'patch', 'update'] },
      { apiGroups: ['apps'], resources: appsWorkloads, verbs: write },
      { apiGroups: ['batch'], resources: batchWorkloads, verbs: write },
      { apiGroups: ['autoscaling'], resources: autoscaling, verbs: write },
      { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: write },
      { apiGroups: [''], resources: ['endpoints'], verbs: write },
      { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies', 'ingresses'], verbs: write },
      { apiGroups: ['gouvernail.io'], resources: ['applications'], verbs: write },
    ], { [aggregate('edit')]: 'true' }),
    // As metrics-server installs it: whoever may view a namespace may kubectl top its Pods.
    clusterRole('system:aggregated-metrics-reader', [
      { apiGroups: ['metrics.k8s.io'], resources: ['pods', 'nodes'], verbs: read },
    ], { [aggregate('view')]: 'true', [aggregate('edit')]: 'true', [aggregate('admin')]: 'true' }),
    clusterRole('system:aggregate-to-admin', [
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: [...read, ...write] },
    ], { [aggregate('admin')]: 'true' }),
    clusterRole('system:basic-user', [
      { apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create'] },
      { apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create'] },
    ]),
    // The controllers: the garbage collector and the namespace controller read and delete anything.
    clusterRole('system:kube-controller-manager', [
      { apiGroups: ['*'], resources: ['*'], verbs: [...read, 'delete', 'update'] },
      { apiGroups: [''], resources: ['pods', 'events', 'serviceaccounts', 'persistentvolumeclaims', 'endpoints'], verbs: ['create'] },
      // The endpoints and endpoint slice controllers, and the load balancer's addresses.
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['create'] },
      { apiGroups: [''], resources: ['services/status'], verbs: ['update', 'patch'] },
      { apiGroups: ['networking.k8s.io'], resources: ['ingresses/status'], verbs: ['update', 'patch'] },
      { apiGroups: ['apps'], resources: ['replicasets', 'controllerrevisions'], verbs: ['create', 'patch'] },
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create', 'patch'] },
      { apiGroups: ['apps'], resources: workloadStatus.apps, verbs: ['update', 'patch'] },
      { apiGroups: ['batch'], resources: workloadStatus.batch, verbs: ['update', 'patch'] },
      // The autoscaler sets its targets' replicas.
      { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'replicasets'], verbs: ['patch'] },
      { apiGroups: [''], resources: ['replicationcontrollers'], verbs: ['patch'] },
      { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers/status'], verbs: ['update', 'patch'] },
      { apiGroups: ['policy'], resources: ['poddisruptionbudgets/status'], verbs: ['update', 'patch'] },
      { apiGroups: [''], resources: ['replicationcontrollers/status'], verbs: ['update', 'patch'] },
      { apiGroups: [''], resources: ['resourcequotas/status'], verbs: ['update', 'patch'] },
    ]),
    clusterRole('system:kube-scheduler', [
      { apiGroups: [''], resources: ['pods', 'nodes'], verbs: read },
      { apiGroups: [''], resources: ['pods/binding'], verbs: ['create'] },
      // Preemption: a lower-priority Pod is deleted, and the preemptor's nominated node written.
      { apiGroups: [''], resources: ['pods'], verbs: ['delete'] },
      { apiGroups: [''], resources: ['pods/status'], verbs: ['patch', 'update'] },
      { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['patch', 'update'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'update', 'patch'] },
    ]),
    clusterRole('system:node', [
      { apiGroups: [''], resources: ['pods', 'configmaps', 'secrets', 'services', 'persistentvolumeclaims', 'nodes', 'serviceaccounts', 'endpoints', 'namespaces'], verbs: read },
      { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies', 'ingresses', 'ingressclasses'], verbs: read },
      { apiGroups: ['networking.k8s.io'], resources: ['ingresses/status'], verbs: ['update', 'patch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: read },
      { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] },
      { apiGroups: [''], resources: ['pods/status', 'persistentvolumeclaims/status', 'nodes/status', 'persistentvolumes/status'], verbs: ['update', 'patch'] },
      // A deleted Pod is deleted for good by its node, once its containers have stopped (as the kubelet).
      { apiGroups: [''], resources: ['pods'], verbs: ['delete'] },
      // The claim binder: a claim's volume, provisioned or written, and the claim's volumeName.
      { apiGroups: [''], resources: ['persistentvolumes'], verbs: [...read, 'create', 'update', 'patch', 'delete'] },
      { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['update', 'patch'] },
      { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: read },
      { apiGroups: [''], resources: ['nodes'], verbs: ['create', 'update'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'update', 'patch'] },
      // Its heartbeat, as the kubelet renews it in kube-node-lease.
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: [...read, 'create', 'update', 'patch'] },
    ]),
    clusterBinding('system:basic-user', 'system:basic-user', [{ kind: 'Group', name: 'system:authenticated' }]),
    clusterBinding('system:kube-controller-manager', 'system:kube-controller-manager', [{ kind: 'User', name: identities.controllerManager.user }]),
    clusterBinding('system:kube-scheduler', 'system:kube-scheduler', [{ kind: 'User', name: identities.scheduler.user }]),
    clusterBinding('system:node', 'system:node', [{ kind: 'Group', name: 'system:nodes' }]),
    // Applications apply whatever their source holds, anywhere, until they name a ServiceAccount to act as.
    clusterBinding('gouvernail:application-controller', 'cluster-admin', [{ kind: 'ServiceAccount', name: 'application-controller', namespace: 'kube-system' }]),
  ];
}
