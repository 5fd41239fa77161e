import test from 'ava';
import { parseBlock, parseCidr, subtract } from '../src/network/cidr.js';
import { buildDnsTable, lookup } from '../src/network/dns-records.js';
import { buildIngressTable, matchRoute, servedIngress } from '../src/network/ingress-routes.js';
import { policyRules } from '../src/network/policy-rules.js';
import { proxyRules } from '../src/network/proxy-rules.js';
import { describeRefusal, nodePortHolders } from '../src/network/node-port-holders.js';
import { hookInPlace } from '../src/network/hook-order.js';
import { dnsSettings } from '../src/runtime/pod-containers.js';
import type { KubeObject } from '../src/manifest/types.js';

const meta = (name: string, namespace = 'shop', extra: object = {}) => ({ name, namespace, ...extra });
const svc = (name: string, spec: object, namespace = 'shop'): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: meta(name, namespace), spec }) as KubeObject;
const eps = (name: string, subsets: object[], namespace = 'shop'): KubeObject => ({ apiVersion: 'v1', kind: 'Endpoints', metadata: meta(name, namespace), subsets }) as KubeObject;
const pod = (name: string, ip: string, labels: Record<string, string>, namespace = 'shop', ports: object[] = []): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: meta(name, namespace, { labels }), spec: { containers: [{ name: 'c', image: 'i', ports }] }, status: { phase: 'Running', podIP: ip } }) as KubeObject;
const ns = (name: string, labels: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } } }) as KubeObject;

test('cluster IPs: each port to its ready endpoints with equal chances, ClientIP affinity remembered, no endpoints refused', (t) => {
  const rules = proxyRules({
    installation: 'abc123',
    services: [
      svc('web', { clusterIP: '10.96.0.11', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }),
      svc('sticky', { clusterIP: '10.96.0.12', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, ports: [{ port: 80 }] }),
      svc('empty', { clusterIP: '10.96.0.13', ports: [{ port: 53, protocol: 'UDP' }] }),
      svc('headless', { clusterIP: 'None', ports: [{ port: 80 }] }),
      svc('kube-dns', { clusterIP: '10.96.0.10', ports: [{ port: 53, protocol: 'UDP' }] }, 'kube-system'),
      svc('multi', { type: 'NodePort', clusterIP: '10.96.0.14', ports: [{ name: 'http', port: 80, nodePort: 30080 }, { name: 'metrics', port: 9100 }] }),
    ],
    endpoints: [
      eps('web', [{ addresses: [{ ip: '172.18.0.2' }, { ip: '172.18.0.3' }, { ip: '172.18.0.4' }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }]),
      eps('sticky', [{ addresses: [{ ip: '172.18.0.5' }], ports: [{ port: 9000 }] }]),
      eps('multi', [{ addresses: [{ ip: '172.18.0.6' }], ports: [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9101 }] }]),
    ],
    podSubnets: ['172.18.0.0/16', '172.19.0.0/16'],
    local: ['10.96.0.10'],
  });
  const web = rules.split('\n').filter((l) => l.includes('10.96.0.11'));
  t.deepEqual(web.map((l) => [/probability (\S+)/.exec(l)?.[1], /--to-destination (\S+)/.exec(l)?.[1]]), [['0.3333333333', '172.18.0.2:8080'], ['0.5000000000', '172.18.0.3:8080'], [undefined, '172.18.0.4:8080']]);
  t.true(web.every((l) => l.startsWith('-A GV-SVC-ABC123 -d 10.96.0.11/32 -p tcp -m tcp --dport 80 ')));
  const sticky = rules.split('\n').filter((l) => l.includes('10.96.0.12'));
  t.regex(sticky[0]!, /-m recent --name GV\w+ --rcheck --seconds 60 --reap -j DNAT --to-destination 172\.18\.0\.5:9000/);
  t.regex(sticky[1]!, /-m recent --name GV\w+ --set -j DNAT --to-destination 172\.18\.0\.5:9000/);
  t.regex(rules, /-A GV-REJ-ABC123 -d 10\.96\.0\.13\/32 -p udp -m udp --dport 53 .* -j REJECT/);
  // The DNS address is the node component's own: nothing goes from it to a Service, not even the
  // node's own ports, which it is one of.
  t.deepEqual(rules.split('\n').filter((l) => l.includes('10.96.0.10')), ['-A GV-SVC-ABC123 -d 10.96.0.10/32 -j RETURN']);
  t.true(rules.indexOf('-d 10.96.0.10/32 -j RETURN') < rules.indexOf('--dport 30080'));
  // Every port of a multi-port Service, and its NodePort on the node's addresses (marked to leave with the node's address).
  t.regex(rules, /-d 10\.96\.0\.14\/32 -p tcp -m tcp --dport 80 .* -j DNAT --to-destination 172\.18\.0\.6:8080/);
  t.regex(rules, /-d 10\.96\.0\.14\/32 -p tcp -m tcp --dport 9100 .* -j DNAT --to-destination 172\.18\.0\.6:9101/);
  t.regex(rules, /! -d 127\.0\.0\.0\/8 -p tcp -m tcp --dport 30080 -m addrtype --dst-type LOCAL .* -j MARK --or-mark 0x1000000/);
  t.regex(rules, /--dport 30080 -m addrtype --dst-type LOCAL .* -j DNAT --to-destination 172\.18\.0\.6:8080/);
  t.regex(rules, /-A GV-POST-ABC123 -m mark --mark 0x1000000\/0x1000000 -j MASQUERADE/);
  // Pods of both namespaces reach each other, and keep their address across namespaces.
  t.regex(rules, /-A GV-PODS-ABC123 -d 172\.19\.0\.0\/16 -j ACCEPT/);
  t.regex(rules, /-A GV-POST-ABC123 -s 172\.18\.0\.0\/16 -j GV-PODS-ABC123-N/);
  // What a Pod sends out of the cluster leaves with the node's address, after the Pod destinations; replies come back.
  const post = rules.split('\n').filter((l) => l.startsWith('-A GV-POST-ABC123 -s 172.18.0.0/16'));
  t.deepEqual(post, ['-A GV-POST-ABC123 -s 172.18.0.0/16 -j GV-PODS-ABC123-N', '-A GV-POST-ABC123 -s 172.18.0.0/16 -j MASQUERADE']);
  t.regex(rules, /-A GV-FWD-ABC123 -d 172\.18\.0\.0\/16 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT/);
  // A Pod sent to itself through its Service is masqueraded (hairpin), each endpoint once.
  t.is(rules.split('\n').filter((l) => l === '-A GV-POST-ABC123 -s 172.18.0.2/32 -d 172.18.0.2/32 -m conntrack --ctstate DNAT -j MASQUERADE').length, 1);
});

test("a LoadBalancer answers on its own port at the node's addresses, but not on Gouvernail's own ports; external IPs answer on every port", (t) => {
  const rules = proxyRules({
    installation: 'abc123',
    services: [
      svc('lb', { type: 'LoadBalancer', clusterIP: '10.96.0.21', ports: [{ name: 'http', port: 8081, nodePort: 30081 }, { name: 'web', port: 80, nodePort: 30082 }] }),
      svc('ext', { clusterIP: '10.96.0.22', externalIPs: ['192.0.2.10'], ports: [{ port: 9000, protocol: 'UDP' }] }),
    ],
    endpoints: [
      eps('lb', [{ addresses: [{ ip: '172.18.0.7' }], ports: [{ name: 'http', port: 8080 }, { name: 'web', port: 8088 }] }]),
      eps('ext', [{ addresses: [{ ip: '172.18.0.8' }], ports: [{ port: 9001, protocol: 'UDP' }] }]),
    ],
    podSubnets: ['172.18.0.0/16'],
    local: ['10.96.0.10'],
    reservedPorts: [80, 443, 6443],
  });
  const onNode = (port: number) => new RegExp(`! -d 127\\.0\\.0\\.0/8 -p tcp -m tcp --dport ${port} -m addrtype --dst-type LOCAL .* -j DNAT --to-destination (\\S+)`);
  t.is(onNode(8081).exec(rules)?.[1], '172.18.0.7:8080', 'its own port on the node');
  t.is(onNode(30081).exec(rules)?.[1], '172.18.0.7:8080', 'its nodePort');
  t.is(onNode(30082).exec(rules)?.[1], '172.18.0.7:8088');
  t.is(onNode(80).exec(rules), null, "port 80 is the Ingress's");
  t.regex(rules, /--dport 8081 -m addrtype --dst-type LOCAL .* -j MARK --or-mark 0x1000000/);
  t.regex(rules, /-d 192\.0\.2\.10\/32 -p udp -m udp --dport 9000 .* -j MARK --or-mark 0x1000000/);
  t.regex(rules, /-d 192\.0\.2\.10\/32 -p udp -m udp --dport 9000 .* -j DNAT --to-destination 172\.18\.0\.8:9001/);
});

test('a port of the nodes is held by the Service created first: a later LoadBalancer on it is refused, and says who holds it', (t) => {
  const at = (s: KubeObject, time: string) => ({ ...s, metadata: { ...s.metadata, creationTimestamp: time } }) as KubeObject;
  const first = at(svc('first', { type: 'LoadBalancer', ports: [{ port: 8081, nodePort: 30081 }] }), '2026-01-01T00:00:01Z');
  // Named to sort first, created later: age decides, not the name.
  const later = at(svc('a-later', { type: 'LoadBalancer', ports: [{ port: 8081, nodePort: 30082 }, { port: 9090, nodePort: 30083 }] }), '2026-01-01T00:00:02Z');
  // Its LoadBalancer port is the nodePort another Service had first.
  const inNodePort = at(svc('in-node-port', { type: 'LoadBalancer', ports: [{ port: 30081, nodePort: 30084 }] }), '2026-01-01T00:00:03Z');
  // The same number over UDP is another port.
  const udp = at(svc('dns', { type: 'LoadBalancer', ports: [{ port: 8081, protocol: 'UDP', nodePort: 30085 }] }), '2026-01-01T00:00:04Z');
  const reserved = at(svc('web', { type: 'LoadBalancer', ports: [{ port: 443, nodePort: 30086 }] }), '2026-01-01T00:00:00Z');
  const services = [later, inNodePort, first, udp, reserved];
  const h = nodePortHolders(services, [80, 443]);
  t.true(h.holds(first, 8081));
  t.false(h.holds(later, 8081));
  t.true(h.holds(later, 9090), 'its other port is its own');
  t.true(h.holds(later, 30082), 'its nodePort too');
  t.false(h.holds(inNodePort, 30081));
  t.true(h.holds(udp, 8081, 'UDP'));
  t.false(h.holds(reserved, 443));
  t.true(h.holds(reserved, 30086));
  t.deepEqual(h.refused.map((r) => `${r.service} ${r.as} ${r.port}/${r.protocol} ${r.heldBy ?? 'Gouvernail'}`), [
    'shop/web LoadBalancer port 443/TCP Gouvernail',
    'shop/a-later LoadBalancer port 8081/TCP shop/first',
    'shop/in-node-port LoadBalancer port 30081/TCP shop/first',
  ]);
  t.regex(describeRefusal(h.refused[1]!), /LoadBalancer port 8081\/TCP is not published on the nodes' addresses: Service shop\/first, created before, holds it/);

  // The nodes' rules follow: port 8081 goes to the first Service's endpoint only.
  const rules = proxyRules({
    installation: 'abc123',
    services: [{ ...later, spec: { ...later.spec, clusterIP: '10.96.0.41' } }, { ...first, spec: { ...first.spec, clusterIP: '10.96.0.42' } }] as KubeObject[],
    endpoints: [eps('a-later', [{ addresses: [{ ip: '172.18.0.41' }], ports: [{ port: 8080 }] }]), eps('first', [{ addresses: [{ ip: '172.18.0.42' }], ports: [{ port: 8080 }] }])],
    podSubnets: ['172.18.0.0/16'],
  });
  const to8081 = rules.split('\n').filter((l) => l.includes('--dport 8081 -m addrtype') && l.includes('DNAT'));
  t.deepEqual(to8081.map((l) => /--to-destination (\S+)/.exec(l)![1]), ['172.18.0.42:8080']);
  t.regex(rules, /--dport 9090 -m addrtype --dst-type LOCAL .* -j DNAT --to-destination 172\.18\.0\.41:8080/);
});

test('traffic policies of Local keep to the endpoints of the node the rules are for, drop where it has none, and keep the source of external traffic', (t) => {
  const services = [
    svc('edge', { type: 'NodePort', clusterIP: '10.96.0.31', externalTrafficPolicy: 'Local', ports: [{ port: 80, nodePort: 30090 }] }),
    svc('near', { clusterIP: '10.96.0.32', internalTrafficPolicy: 'Local', ports: [{ port: 80 }] }),
  ];
  const two = (name: string) => eps(name, [{ addresses: [{ ip: '172.18.0.9', nodeName: 'a' }, { ip: '172.18.16.9', nodeName: 'b' }], ports: [{ port: 8080 }] }]);
  const rulesOn = (node: string) => proxyRules({ installation: 'abc123', services, endpoints: [two('edge'), two('near')], podSubnets: ['172.18.0.0/16'], node }).split('\n');
  const onA = rulesOn('a');
  // External traffic on node a goes to a's endpoint only, unmarked (its source stays).
  t.deepEqual(onA.filter((l) => l.includes('--dport 30090')).map((l) => /-j (.*)$/.exec(l)![1]), ['DNAT --to-destination 172.18.0.9:8080']);
  // The cluster IP of an external-Local Service still reaches every endpoint.
  t.is(onA.filter((l) => l.includes('-d 10.96.0.31/32') && l.includes('DNAT')).length, 2);
  // internalTrafficPolicy Local: the cluster IP goes to a's endpoint only.
  t.deepEqual(onA.filter((l) => l.includes('-d 10.96.0.32/32')).map((l) => /-j (.*)$/.exec(l)![1]), ['DNAT --to-destination 172.18.0.9:8080']);
  // On a node with no endpoint, both are dropped there.
  const onC = rulesOn('c');
  t.true(onC.some((l) => l.startsWith('-A GV-REJ-ABC123 ! -d 127.0.0.0/8 -p tcp -m tcp --dport 30090') && l.endsWith('has no endpoint on this node" -j DROP')));
  t.true(onC.some((l) => l.startsWith('-A GV-REJ-ABC123 -d 10.96.0.32/32') && l.endsWith('-j DROP')));
  t.false(onC.some((l) => l.includes('--dport 30090') && l.includes('DNAT')));
});

test('NetworkPolicy: a deny-all ingress isolates every Pod of its namespace; an allow rule lets exactly the labelled Pods of another namespace in, on its port', (t) => {
  const pods = [pod('db', '172.18.0.2', { app: 'db' }, 'shop', [{ name: 'pg', containerPort: 5432 }]), pod('api', '172.19.0.2', { role: 'api' }, 'front'), pod('other', '172.19.0.3', { role: 'web' }, 'front')];
  const namespaces = [ns('shop'), ns('front', { team: 'front' })];
  const denyAll = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta('deny-all'), spec: { podSelector: {}, policyTypes: ['Ingress'] } } as KubeObject;
  const allow = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta('allow-api'), spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'front' } }, podSelector: { matchLabels: { role: 'api' } } }], ports: [{ port: 'pg' }] }] } } as KubeObject;
  const only = policyRules('GV-POL', [denyAll], pods, namespaces);
  t.deepEqual(only.filter((l) => l.includes('-j REJECT')), ['-A GV-POL -d 172.18.0.2/32 -m mark ! --mark 0x800000/0x800000 -m comment --comment "ingress not allowed by a NetworkPolicy" -j REJECT --reject-with icmp-port-unreachable']);
  const both = policyRules('GV-POL', [denyAll, allow], pods, namespaces);
  t.deepEqual(both.filter((l) => l.includes('--or-mark')), ['-A GV-POL -d 172.18.0.2/32 -s 172.19.0.2/32 -p tcp -m tcp --dport 5432 -m comment --comment "shop/allow-api" -j MARK --or-mark 0x800000']);
  // Egress: only to an address block, less its exception.
  const egress = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta('out', 'front'), spec: { podSelector: { matchLabels: { role: 'web' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] }] } } as KubeObject;
  const out = policyRules('GV-POL', [egress], pods, namespaces);
  t.is(out.filter((l) => l.includes('--or-mark 0x400000')).length, 8, '10.0.0.0/8 without 10.1.0.0/16 is eight blocks');
  t.true(out.some((l) => l.startsWith('-A GV-POL -s 172.19.0.3/32 -m mark ! --mark 0x400000/0x400000')));
  t.deepEqual(policyRules('GV-POL', [], pods, namespaces), []);
});

test('address blocks: a range without its exceptions, in the fewest blocks', (t) => {
  t.deepEqual(subtract(parseCidr('10.0.0.0/8'), [parseBlock('10.1.0.0/16')!]).map((c) => c.text), ['10.0.0.0/16', '10.2.0.0/15', '10.4.0.0/14', '10.8.0.0/13', '10.16.0.0/12', '10.32.0.0/11', '10.64.0.0/10', '10.128.0.0/9']);
  t.deepEqual(subtract(parseCidr('10.0.0.0/24'), [parseBlock('10.0.0.0/16')!]), []);
  t.is(parseBlock('192.168.1.7')!.text, '192.168.1.7/32');
});

test('cluster DNS: Service names, headless endpoints and their hostnames, SRV, ExternalName, Pod names, NXDOMAIN and forwarding', (t) => {
  const table = buildDnsTable(
    [svc('web', { clusterIP: '10.96.0.11', ports: [{ name: 'http', port: 80 }] }), svc('db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] }), svc('out', { type: 'ExternalName', externalName: 'db.example.com.' })],
    [eps('db', [{ addresses: [{ ip: '172.18.0.2', hostname: 'db-0' }, { ip: '172.18.0.3' }], ports: [{ name: 'pg', port: 5432 }] }])],
  );
  t.deepEqual(lookup(table, 'web.shop.svc.cluster.local.'), { kind: 'answer', A: ['10.96.0.11'] });
  t.deepEqual(lookup(table, '_http._tcp.web.shop.svc.cluster.local'), { kind: 'answer', SRV: [{ port: 80, target: 'web.shop.svc.cluster.local' }] });
  t.deepEqual(lookup(table, 'DB.shop.svc.cluster.local'), { kind: 'answer', A: ['172.18.0.2', '172.18.0.3'] });
  t.deepEqual(lookup(table, 'db-0.db.shop.svc.cluster.local'), { kind: 'answer', A: ['172.18.0.2'] });
  t.deepEqual(lookup(table, '172-18-0-3.db.shop.svc.cluster.local'), { kind: 'answer', A: ['172.18.0.3'] });
  t.deepEqual(lookup(table, '_pg._tcp.db.shop.svc.cluster.local').kind === 'answer' && (lookup(table, '_pg._tcp.db.shop.svc.cluster.local') as { SRV: { target: string }[] }).SRV.map((s) => s.target), ['db-0.db.shop.svc.cluster.local', '172-18-0-3.db.shop.svc.cluster.local']);
  t.deepEqual(lookup(table, 'out.shop.svc.cluster.local'), { kind: 'answer', CNAME: 'db.example.com' });
  t.deepEqual(lookup(table, '10-1-2-3.shop.pod.cluster.local'), { kind: 'answer', A: ['10.1.2.3'] });
  // A search domain tried first (ndots:5): the zone says no such name, so the resolver goes on.
  t.deepEqual(lookup(table, 'example.com.shop.svc.cluster.local'), { kind: 'nxdomain' });
  t.deepEqual(lookup(table, 'shop.svc.cluster.local'), { kind: 'answer' });
  t.deepEqual(lookup(table, 'example.com'), { kind: 'forward' });
});

test("a Pod's resolver: ClusterFirst, Default and None, with dnsConfig added", (t) => {
  const p = (spec: object) => ({ apiVersion: 'v1', kind: 'Pod', metadata: meta('p'), spec: { containers: [], ...spec } }) as KubeObject;
  const cluster = { server: '10.96.0.10', domain: 'cluster.local' };
  t.deepEqual(dnsSettings(p({}), cluster), { Dns: ['10.96.0.10'], DnsSearch: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], DnsOptions: ['ndots:5'] });
  t.deepEqual(dnsSettings(p({ dnsPolicy: 'Default' }), cluster), {});
  t.deepEqual(dnsSettings(p({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.2.3.4'], searches: ['corp'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } }), cluster), { Dns: ['1.2.3.4'], DnsSearch: ['corp'], DnsOptions: ['ndots:2', 'edns0'] });
  // ClusterFirst with dnsConfig: its searches are added, its options merged, the Pod's value winning.
  t.deepEqual(dnsSettings(p({ dnsConfig: { searches: ['corp'], options: [{ name: 'ndots', value: '2' }, { name: 'single-request' }] } }), cluster), { Dns: ['10.96.0.10'], DnsSearch: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp'], DnsOptions: ['ndots:2', 'single-request'] });
});

test('Ingress: a host over any host, Exact over Prefix, the longest prefix, element-wise; classes it serves', (t) => {
  const ing = (name: string, spec: object) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: meta(name), spec }) as KubeObject;
  const b = (name: string) => ({ service: { name, port: { number: 80 } } });
  const services = ['a', 'b', 'c', 'd'].map((n, i) => svc(n, { clusterIP: `10.96.0.${20 + i}`, ports: [{ port: 80 }] }));
  const endpoints = ['a', 'b', 'c', 'd'].map((n, i) => eps(n, [{ addresses: [{ ip: `172.18.0.${10 + i}` }], ports: [{ port: 8080 }] }]));
  const table = buildIngressTable([
    ing('one', { rules: [{ host: 'shop.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: b('a') }, { path: '/api', pathType: 'Prefix', backend: b('b') }, { path: '/api/v1', pathType: 'Exact', backend: b('c') }] } }] }),
    ing('two', { defaultBackend: b('d'), rules: [{ host: '*.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: b('c') }] } }] }),
  ], [], services, endpoints, []);
  const to = (host: string, url: string) => matchRoute(table, host, url)?.backends[0];
  t.is(to('shop.example', '/'), '172.18.0.10:8080');
  t.is(to('shop.example:8080', '/api/x'), '172.18.0.11:8080');
  t.is(to('shop.example', '/apix'), '172.18.0.10:8080', 'a prefix matches whole path elements');
  t.is(to('shop.example', '/api/v1'), '172.18.0.12:8080');
  t.is(to('blog.example', '/'), '172.18.0.12:8080');
  t.is(to('a.b.example', '/'), '172.18.0.13:8080', 'a wildcard is one label; the rest goes to the default backend');
  const cls = (name: string, controller: string) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name }, spec: { controller } }) as KubeObject;
  const classes = [cls('gouvernail', 'gouvernail.io/ingress'), cls('other', 'example.com/other')];
  t.true(servedIngress(ing('x', {}), classes));
  t.true(servedIngress(ing('x', { ingressClassName: 'nginx' }), classes), 'no controller of that class runs here');
  t.false(servedIngress(ing('x', { ingressClassName: 'other' }), classes));
});

test("a hook stands before every rule that is not a Gouvernail hook; another installation's may precede it", (t) => {
  const chain = (...rules: string[]) => ['-P FORWARD DROP', ...rules.map((r) => `-A FORWARD ${r}`)].join('\n');
  t.true(hookInPlace(chain('-j GV-FWD-AAA111', '-j DOCKER-USER'), 'FORWARD', 'GV-FWD-AAA111'));
  t.true(hookInPlace(chain('-j GV-FWD-BBB222', '-j GV-FWD-AAA111', '-j DOCKER-USER'), 'FORWARD', 'GV-FWD-AAA111'));
  t.false(hookInPlace(chain('-j DOCKER-USER', '-j GV-FWD-AAA111'), 'FORWARD', 'GV-FWD-AAA111'), 'Docker put its own first');
  t.false(hookInPlace(chain('-j DOCKER-USER'), 'FORWARD', 'GV-FWD-AAA111'));
});
