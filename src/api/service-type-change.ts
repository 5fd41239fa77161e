import type { AdmissionPlugin } from './admission.js';

type Spec = Record<string, any>;

const reachedByNodePorts = (s: Spec | undefined) => s?.type === 'NodePort' || s?.type === 'LoadBalancer';
const hasClusterIP = (s: Spec | undefined) => s !== undefined && s.type !== 'ExternalName';

/**
 * A Service whose type changes drops what its old type had and its new one has not, where the
 * server (or its defaults) set it and the write did not change it, as Kubernetes' own API server
 * does: the assigned node ports and the external traffic policy when a NodePort or LoadBalancer
 * becomes a ClusterIP, the cluster IPs and IP families when it becomes an ExternalName,
 * allocateLoadBalancerNodePorts when it is no longer a LoadBalancer. Without it, `kubectl patch`
 * or `kubectl apply` of `type: ClusterIP` on a NodePort Service is refused for the nodePort the
 * server itself gave it.
 */
export const serviceTypeChange: AdmissionPlugin = {
  name: 'ServiceTypeChange',
  mutate(r) {
    if (r.object.kind !== 'Service' || r.subresource || r.operation !== 'UPDATE') return;
    const spec: Spec | undefined = r.object.spec;
    const old: Spec | undefined = r.oldObject?.spec;
    if (!spec || !old || spec.type === old.type) return;
    if (hasClusterIP(old) && !hasClusterIP(spec)) {
      if (same(spec.clusterIP, old.clusterIP) && same(spec.clusterIPs, old.clusterIPs)) {
        delete spec.clusterIP;
        delete spec.clusterIPs;
      }
      if (same(spec.ipFamilies, old.ipFamilies)) delete spec.ipFamilies;
      if (same(spec.ipFamilyPolicy, old.ipFamilyPolicy)) delete spec.ipFamilyPolicy;
      if (same(spec.internalTrafficPolicy, old.internalTrafficPolicy)) delete spec.internalTrafficPolicy;
    }
    if (reachedByNodePorts(old) && !reachedByNodePorts(spec) && Array.isArray(spec.ports)) {
      const oldPorts: Spec[] = Array.isArray(old.ports) ? old.ports : [];
      const kept = spec.ports.every((p: Spec, i: number) => p?.nodePort === undefined || p.nodePort === oldPorts[i]?.nodePort);
      if (kept) for (const p of spec.ports) if (p) delete p.nodePort;
    }
    if (reachedByNodePorts(old) && !reachedByNodePorts(spec) && same(spec.externalTrafficPolicy, old.externalTrafficPolicy) && !(spec.externalIPs ?? []).length) delete spec.externalTrafficPolicy;
    if (spec.type !== 'LoadBalancer') {
      if (same(spec.allocateLoadBalancerNodePorts, old.allocateLoadBalancerNodePorts)) delete spec.allocateLoadBalancerNodePorts;
      if (same(spec.loadBalancerClass, old.loadBalancerClass)) delete spec.loadBalancerClass;
    }
  },
};

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
