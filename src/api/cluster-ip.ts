import type { AdmissionPlugin } from './admission.js';
import { ApiError } from './errors.js';
import { contains, ipToNumber, nthAddress, parseCidr, type Cidr } from '../network/cidr.js';

/** Kubernetes' default service range (kube-apiserver --service-cluster-ip-range). */
export const defaultServiceRange = '10.96.0.0/16';

/** The cluster DNS server's address: the tenth of the service range, as kubeadm and k3s choose it. */
export function clusterDnsAddress(range: string): string {
  return nthAddress(parseCidr(range), 10);
}

/**
 * Each Service gets a virtual IP of the service range (spec.clusterIP and clusterIPs), as the API
 * server allocates it: one named in the manifest is kept if free and in range; an update keeps the
 * address the Service has, and refuses to change it. Headless (None) and ExternalName Services
 * have none.
 */
export function clusterIPAllocation(rangeText: string = defaultServiceRange): AdmissionPlugin {
  const range = parseCidr(rangeText);
  return {
    name: 'ClusterIPAllocation',
    mutate(r) {
      const service = r.object;
      if (service.kind !== 'Service' || r.subresource || !service.spec) return;
      const spec = service.spec;
      const invalid = (field: string, message: string) => new ApiError(422, 'Invalid', `Service "${service.metadata.name}" is invalid: ${field}: ${message}`, { name: service.metadata.name, kind: 'services', causes: [{ reason: 'FieldValueInvalid', field, message }] });
      if (spec.type === 'ExternalName') {
        if (spec.clusterIP && spec.clusterIP !== 'None') throw invalid('spec.clusterIP', 'an ExternalName Service has no cluster IP; drop the field');
        delete spec.clusterIP;
        delete spec.clusterIPs;
        return;
      }
      const had: string | undefined = r.oldObject?.spec?.clusterIP;
      const asked: string | undefined = spec.clusterIP || spec.clusterIPs?.[0] || undefined;
      if (had && r.oldObject?.spec?.type !== 'ExternalName') {
        if (asked && asked !== had) throw invalid('spec.clusterIP', `field is immutable (the Service has ${had}); delete and create the Service to change it`);
        spec.clusterIP = had;
        spec.clusterIPs = [had];
        return;
      }
      if (asked === 'None') {
        spec.clusterIP = 'None';
        spec.clusterIPs = ['None'];
        return;
      }
      const taken = takenAddresses(r.store.list({ kind: 'Service' }), `${service.metadata.namespace}/${service.metadata.name}`);
      if (asked) {
        if (ipToNumber(asked) === undefined) throw invalid('spec.clusterIP', `${JSON.stringify(asked)} is not an IPv4 address`);
        if (!contains(range, asked)) throw invalid('spec.clusterIP', `${asked} is not in the service range ${range.text} (serve --service-cluster-ip-range)`);
        if (taken.has(asked)) throw invalid('spec.clusterIP', `${asked} is already allocated to another Service`);
        spec.clusterIP = asked;
        spec.clusterIPs = [asked];
        return;
      }
      const ip = freeAddress(range, taken);
      if (!ip) throw new ApiError(422, 'Invalid', `no cluster IP is free in the service range ${range.text}; delete unused Services or serve with a larger --service-cluster-ip-range`);
      spec.clusterIP = ip;
      spec.clusterIPs = [ip];
    },
  };
}

function takenAddresses(services: { metadata: { namespace?: string; name: string }; spec?: { clusterIP?: string } }[], self: string): Set<string> {
  const taken = new Set<string>();
  for (const s of services) if (`${s.metadata.namespace}/${s.metadata.name}` !== self && s.spec?.clusterIP && s.spec.clusterIP !== 'None') taken.add(s.spec.clusterIP);
  return taken;
}

/**
 * The first free address after the reserved ones: .1 is the `kubernetes` Service's in Kubernetes
 * and .10 the cluster DNS server's, so allocation starts at .11 and wraps to .2.
 */
function freeAddress(range: Cidr, taken: Set<string>): string | undefined {
  const dns = 10;
  const order = [...Array.from({ length: range.size - 12 }, (_, i) => i + 11), ...Array.from({ length: 8 }, (_, i) => i + 2)];
  for (const n of order) {
    if (n === dns) continue;
    const ip = nthAddress(range, n);
    if (!taken.has(ip)) return ip;
  }
  return undefined;
}
