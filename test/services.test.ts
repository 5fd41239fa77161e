import test from 'ava';
import path from 'node:path';
import { ApiServer } from '../src/api/api-server.js';
import { TokenAuthenticator } from '../src/api/authenticate.js';
import { InProcessClient } from '../src/api/client.js';
import { identities } from '../src/api/identity.js';
import { diff } from '../src/diff/diff.js';
import { endpointSlices, endpointsObject, serviceEndpoints } from '../src/network/endpoints.js';
import { ObjectStore } from '../src/store/object-store.js';
import { ControllerState } from '../src/store/controller-state.js';
import { PodSubnets } from '../src/network/pod-subnets.js';
import type { KubeObject } from '../src/manifest/types.js';
import { tempDir } from './helpers.js';

async function setup(serviceClusterIPRange?: string) {
  const store = ObjectStore.open(path.join(tempDir(), 'state.db'));
  const api = new ApiServer({ store, authenticator: new TokenAuthenticator([]), serviceClusterIPRange });
  const admin = new InProcessClient(api, identities.admin);
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } } as KubeObject);
  return { store, admin };
}

const service = (name: string, spec: object, namespace = 'default'): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }], ...spec } }) as KubeObject;

test('each Service gets a cluster IP of the service range, kept across updates; headless and ExternalName get none', async (t) => {
  const { admin } = await setup('10.100.0.0/24');
  const a = await admin.create(service('a', {}));
  t.is(a.spec.clusterIP, '10.100.0.11');
  t.deepEqual(a.spec.clusterIPs, ['10.100.0.11']);
  const b = await admin.create(service('b', {}));
  t.is(b.spec.clusterIP, '10.100.0.12');
  // An update that leaves the field out keeps the address; one that changes it is refused.
  const updated = await admin.update({ ...service('a', { ports: [{ port: 81, targetPort: 8080 }] }), metadata: { ...a.metadata } });
  t.is(updated.spec.clusterIP, '10.100.0.11');
  const changed = await t.throwsAsync(admin.update({ ...service('a', { clusterIP: '10.100.0.50' }), metadata: { ...updated.metadata } }));
  t.regex(changed!.message, /spec\.clusterIP: field is immutable/);
  t.is((await admin.create(service('c', { clusterIP: '10.100.0.99' }))).spec.clusterIP, '10.100.0.99');
  const taken = await t.throwsAsync(admin.create(service('d', { clusterIP: '10.100.0.99' })));
  t.regex(taken!.message, /already allocated/);
  const outside = await t.throwsAsync(admin.create(service('e', { clusterIP: '10.0.0.5' })));
  t.regex(outside!.message, /not in the service range 10\.100\.0\.0\/24/);
  t.is((await admin.create(service('h', { clusterIP: 'None' }))).spec.clusterIP, 'None');
  const ext = await admin.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext', namespace: 'default' }, spec: { type: 'ExternalName', externalName: 'db.example.com' } } as KubeObject);
  t.is(ext.spec.clusterIP, undefined);
  const missing = await t.throwsAsync(admin.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext2', namespace: 'default' }, spec: { type: 'ExternalName' } } as KubeObject));
  t.regex(missing!.message, /spec\.externalName/);
});

test('a cluster IP or node port the server assigned is not drift', async (t) => {
  const { admin } = await setup();
  const live = await admin.create(service('web', { type: 'NodePort' }));
  t.regex(live.spec.clusterIP, /^10\.96\./);
  const result = diff([service('web', { type: 'NodePort' })], [live]);
  t.is(result.changes[0]!.action, 'unchanged');
  t.is(diff([service('web', { type: 'NodePort', ports: [{ port: 80, targetPort: 9090 }] })], [live]).changes[0]!.action, 'update');
});

test('a Service is given the defaults Kubernetes gives it; a changed type drops what the server set for the old one', async (t) => {
  const { admin } = await setup('10.100.0.0/24');
  const lb = await admin.create(service('lb', { type: 'LoadBalancer' }));
  t.like(lb.spec, { internalTrafficPolicy: 'Cluster', externalTrafficPolicy: 'Cluster', ipFamilyPolicy: 'SingleStack', allocateLoadBalancerNodePorts: true });
  t.deepEqual(lb.spec.ipFamilies, ['IPv4']);
  t.is(lb.spec.ports[0].nodePort, 30000);
  // kubectl patch -p '{"spec":{"type":"ClusterIP"}}': the nodePort and external policy the server set go.
  const cip = await admin.patch('Service', 'default', 'lb', 'merge', { spec: { type: 'ClusterIP' } });
  t.is(cip.spec.type, 'ClusterIP');
  t.is(cip.spec.ports[0].nodePort, undefined);
  t.is(cip.spec.externalTrafficPolicy, undefined);
  t.is(cip.spec.allocateLoadBalancerNodePorts, undefined);
  t.is(cip.spec.clusterIP, lb.spec.clusterIP);
  // A nodePort the write itself names on a ClusterIP Service is still refused.
  await admin.patch('Service', 'default', 'lb', 'merge', { spec: { type: 'NodePort' } });
  const named = await t.throwsAsync(admin.patch('Service', 'default', 'lb', 'json', [{ op: 'replace', path: '/spec/type', value: 'ClusterIP' }, { op: 'replace', path: '/spec/ports/0/nodePort', value: 31111 }]));
  t.regex(named!.message, /spec\.ports\[0\]\.nodePort: is only allowed when type is NodePort or LoadBalancer/);
  // To ExternalName: the cluster IPs and families go too.
  const ext = await admin.patch('Service', 'default', 'lb', 'merge', { spec: { type: 'ExternalName', externalName: 'db.example.com', selector: null } });
  t.is(ext.spec.clusterIP, undefined);
  t.is(ext.spec.ipFamilies, undefined);
  t.is(ext.spec.ipFamilyPolicy, undefined);
  t.is(ext.spec.ports[0].nodePort, undefined);
  // No node ports for a LoadBalancer that asks for none, but those it names.
  const bare = await admin.create(service('bare', { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81, nodePort: 31000 }] }));
  t.deepEqual(bare.spec.ports.map((p: { nodePort?: number }) => p.nodePort), [undefined, 31000]);
  // A headless Service without a selector may require two stacks, as in Kubernetes; one with a cluster IP may not.
  t.is((await admin.create(service('hl', { clusterIP: 'None', selector: undefined }))).spec.ipFamilyPolicy, 'RequireDualStack');
  const dual = await t.throwsAsync(admin.create(service('dual', { ipFamilyPolicy: 'RequireDualStack' })));
  t.regex(dual!.message, /spec\.ipFamilyPolicy: RequireDualStack needs an IPv6 cluster IP/);
  const six = await t.throwsAsync(admin.create(service('six', { ipFamilies: ['IPv6'] })));
  t.regex(six!.message, /spec\.ipFamilies\[0\]: IPv6 is not available/);
  t.is((await admin.create(service('prefer', { ipFamilyPolicy: 'PreferDualStack' }))).spec.clusterIPs.length, 1);
});

const pod = (name: string, o: { ip?: string; ready?: boolean; labels?: Record<string, string>; ports?: object[]; node?: string; deleting?: boolean; hostname?: string; subdomain?: string } = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: o.labels ?? { app: 'web' }, ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  spec: { nodeName: o.node ?? 'n1', containers: [{ name: 'c', image: 'i', ports: o.ports ?? [] }], ...(o.hostname ? { hostname: o.hostname, subdomain: o.subdomain } : {}) },
  status: { phase: 'Running', ...(o.ip ? { podIP: o.ip } : {}), conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
}) as KubeObject;

test('endpoints: ready and unready Pods, named target ports resolved per Pod, Pods without an address left out', (t) => {
  const svc = { ...service('web', { ports: [{ name: 'http', port: 80, targetPort: 'http' }] }), metadata: { name: 'web', namespace: 'default', uid: 'svc-uid' } } as KubeObject;
  const pods = [
    pod('a', { ip: '10.1.0.3', ports: [{ name: 'http', containerPort: 8080 }] }),
    pod('b', { ip: '10.1.0.2', ready: false, ports: [{ name: 'http', containerPort: 8080 }] }),
    pod('c', { ip: '10.1.0.4', ports: [{ name: 'http', containerPort: 9090 }] }),
    pod('d', { ports: [{ name: 'http', containerPort: 8080 }] }),
    pod('e', { ip: '10.1.0.5', labels: { app: 'other' } }),
    pod('f', { ip: '10.1.0.6', deleting: true, ports: [{ name: 'http', containerPort: 8080 }] }),
  ];
  const eps = serviceEndpoints(svc, pods);
  t.deepEqual(eps.map((e) => [e.ip, e.ready, e.terminating, e.ports[0]?.port]), [['10.1.0.2', false, false, 8080], ['10.1.0.3', true, false, 8080], ['10.1.0.4', true, false, 9090], ['10.1.0.6', false, true, 8080]]);
  const object = endpointsObject(svc, eps);
  t.deepEqual(object.subsets, [
    { addresses: [{ ip: '10.1.0.3', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: 'uid-a' } }], notReadyAddresses: [{ ip: '10.1.0.2', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'default', name: 'b', uid: 'uid-b' } }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
    { addresses: [{ ip: '10.1.0.4', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'default', name: 'c', uid: 'uid-c' } }], ports: [{ name: 'http', port: 9090, protocol: 'TCP' }] },
  ]);
  const slices = endpointSlices(svc, eps);
  t.is(slices.length, 2);
  t.is(slices[0]!.metadata.labels!['kubernetes.io/service-name'], 'web');
  t.deepEqual((slices[0]!.endpoints as { addresses: string[]; conditions: object }[]).map((e: { addresses: string[]; conditions: object }) => [e.addresses[0], e.conditions]), [['10.1.0.2', { ready: false, serving: false, terminating: false }], ['10.1.0.3', { ready: true, serving: true, terminating: false }], ['10.1.0.6', { ready: false, serving: false, terminating: true }]]);
  // publishNotReadyAddresses makes unready Pods endpoints too.
  t.true(serviceEndpoints({ ...svc, spec: { ...svc.spec, publishNotReadyAddresses: true } }, pods).find((e) => e.ip === '10.1.0.2')!.ready);
  // A StatefulSet Pod's hostname shows when its subdomain is the Service.
  t.is(serviceEndpoints(svc, [pod('web-0', { ip: '10.1.0.9', hostname: 'web-0', subdomain: 'web', ports: [{ name: 'http', containerPort: 1 }] })])[0]!.hostname, 'web-0');
});

test('Pod ranges: each node gets a /20 of the cluster range, each namespace a /24 of its node\'s, another range when full', async (t) => {
  const { store } = await setup();
  const state = new ControllerState(store.db);
  const subnets = new PodSubnets(state, '10.50.0.0/16');
  t.deepEqual(subnets.subnetFor('a', 'shop'), { subnet: '10.50.0.0/24', gateway: '10.50.0.1' });
  t.is(subnets.subnetFor('a', 'web').subnet, '10.50.1.0/24');
  t.is(subnets.subnetFor('b', 'shop').subnet, '10.50.16.0/24', 'another node, another range');
  t.is(subnets.subnetFor('a', 'shop').subnet, '10.50.0.0/24', 'kept');
  for (let i = 0; i < 15; i++) subnets.subnetFor('a', `ns${i}`);
  t.deepEqual(subnets.rangesOf('a'), ['10.50.0.0/20', '10.50.32.0/20'], 'a full range brings the node another');
  // Kept in the store: a restart gives the same answers.
  const again = new PodSubnets(state, '10.50.0.0/16');
  t.is(again.subnetFor('b', 'shop').subnet, '10.50.16.0/24');
  t.deepEqual(again.all().map((r) => `${r.node} ${r.subnet}`), ['a 10.50.0.0/20', 'a 10.50.32.0/20', 'b 10.50.16.0/20']);
});
