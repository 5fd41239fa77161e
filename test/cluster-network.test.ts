import test from 'ava';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { containersOf, execIn, image, runCli, startServer, waitFor, type TestServer } from './docker-helpers.js';
import { startEngine, type Engine } from './engines.js';
import { kubectl } from './kubectl-helpers.js';

/**
 * One flat Pod network across nodes, on three test hosts: network namespaces joined by veth pairs to
 * bridges, one dockerd inside each, so traffic between nodes really crosses a link. Hosts A and B
 * share a network (their Pods' traffic is routed); C is on another, behind this machine as a router
 * (the traffic to its Pods is encapsulated in VXLAN).
 */
const bridges = [
  { name: 'gvn-br', address: '10.199.0.1' },
  { name: 'gvn-br2', address: '10.198.0.1' },
];
const hosts = [
  { name: 'gvn-a', node: 'host-a', address: '10.199.0.2', bridge: bridges[0]! },
  { name: 'gvn-b', node: 'host-b', address: '10.199.0.3', bridge: bridges[0]! },
  { name: 'gvn-c', node: 'host-c', address: '10.198.0.2', bridge: bridges[1]! },
];
const sh = (...args: string[]) => execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const quiet = (...args: string[]) => {
  try {
    sh(...args);
  } catch {
    // Not there.
  }
};
// The test's own bridges forward between the hosts (this machine's FORWARD policy is Docker's DROP).
const forwardRules = bridges.flatMap((x) => bridges.map((y) => ['FORWARD', '-i', x.name, '-o', y.name, '-j', 'ACCEPT']));

function makeHosts(): void {
  removeHosts();
  for (const b of bridges) {
    sh('ip', 'link', 'add', b.name, 'type', 'bridge');
    sh('ip', 'addr', 'add', `${b.address}/24`, 'dev', b.name);
    sh('ip', 'link', 'set', b.name, 'up');
  }
  for (const rule of forwardRules) sh('iptables', '-I', ...rule);
  for (const h of hosts) {
    sh('ip', 'netns', 'add', h.name);
    sh('ip', 'link', 'add', `${h.name}-v`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.name);
    sh('ip', 'link', 'set', `${h.name}-v`, 'master', h.bridge.name, 'up');
    sh('ip', '-n', h.name, 'addr', 'add', `${h.address}/24`, 'dev', 'eth0');
    sh('ip', '-n', h.name, 'link', 'set', 'eth0', 'up');
    sh('ip', '-n', h.name, 'link', 'set', 'lo', 'up');
    sh('ip', '-n', h.name, 'route', 'add', 'default', 'via', h.bridge.address);
    sh('ip', 'netns', 'exec', h.name, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  }
}

function removeHosts(): void {
  for (const h of hosts) {
    quiet('ip', 'netns', 'del', h.name);
    quiet('ip', 'link', 'del', `${h.name}-v`);
  }
  for (const b of bridges) quiet('ip', 'link', 'del', b.name);
  for (const rule of forwardRules) {
    while (true) {
      try {
        sh('iptables', '-D', ...rule);
      } catch {
        break;
      }
    }
  }
}

let server: TestServer;
let engines: Engine[] = [];
test.before(async () => {
  makeHosts();
  [server, ...engines] = await Promise.all([startServer(), ...hosts.map((h, i) => startEngine(h.node, 30 + i, { images: [image], netns: h.name }))]);
  for (const [i, h] of hosts.entries()) {
    const r = await runCli('node', 'add', h.node, '--docker', engines[i]!.url, '--address', h.address, '--kubeconfig', server.kubeconfig);
    if (r.code !== 0) throw new Error(`node add ${h.node}: ${r.err}`);
  }
});
test.after.always(async () => {
  await server?.destroy();
  await Promise.all(engines.map((e) => e.destroy()));
  removeHosts();
});

test.serial('a Pod on node A reaches a Pod on node B by address and by Service name, and one on node C across a router (VXLAN); a NodePort of node A serves a Pod that runs only on node B', async (t) => {
  t.timeout(600_000);
  const k = kubectl(server.kubeconfig, '1.33');
  await waitFor('the test hosts Ready', async () => (await k(['get', 'nodes'])).out.match(/host-[abc]\s+Ready/g)?.length === 3, 120_000);
  const r = await k(['apply', '-f', '-'], {
    input: `apiVersion: v1
kind: Namespace
metadata: { name: flat }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: flat }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      nodeSelector: { kubernetes.io/hostname: host-b }
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: "${image}"
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
        ports: [{ containerPort: 8080 }]
        readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 }
---
apiVersion: v1
kind: Pod
metadata: { name: far, namespace: flat, labels: { app: far } }
spec:
  nodeSelector: { kubernetes.io/hostname: host-c }
  terminationGracePeriodSeconds: 1
  containers:
  - name: far
    image: "${image}"
    command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
---
apiVersion: v1
kind: Service
metadata: { name: far, namespace: flat }
spec: { selector: { app: far }, ports: [{ port: 80, targetPort: 8080 }] }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: flat }
spec: { type: NodePort, selector: { app: web }, ports: [{ port: 80, targetPort: 8080 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: client, namespace: flat }
spec:
  nodeSelector: { kubernetes.io/hostname: host-a }
  terminationGracePeriodSeconds: 1
  containers: [{ name: c, image: "${image}", command: ["sleep", "3600"] }]
`,
  });
  t.is(r.code, 0, r.err);
  t.is((await k(['rollout', 'status', 'deployment/web', '-n', 'flat', '--timeout=300s'])).code, 0);
  const web = (await server.client.list('Pod', 'flat', 'app=web'))[0]!;
  t.is(web.spec.nodeName, 'host-b');
  const [a, b] = engines;
  const clientContainer = await waitFor('the client on host A', async () => (await a!.docker.listContainers({ filters: { label: [`gouvernail.io/pod=client`], status: ['running'] } }))[0]);
  t.deepEqual(await containersOf(server.installation, 'flat'), [], 'nothing of it runs on the control plane\'s engine');
  t.true((await b!.docker.listContainers({ filters: { label: ['gouvernail.io/pod'] } })).some((c) => c.Labels['gouvernail.io/pod'] === web.metadata.name));
  // Each node's Pods have a subnet of the cluster range of their own.
  const client = await waitFor('the client\'s address', async () => {
    const p = await server.client.get('Pod', 'flat', 'client');
    return p?.status?.podIP && p;
  });
  t.not(client.status.podIP.split('.').slice(0, 3).join('.'), web.status.podIP.split('.').slice(0, 3).join('.'));
  const get = async (url: string) => {
    const res = await execIn(clientContainer.Id, ['timeout', '5', 'wget', '-q', '-O', '-', url], a!.docker);
    return res.code === 0 ? res.out.trim() : '';
  };
  for (const url of [`http://${web.status.podIP}:8080/`, 'http://web.flat/', 'http://web.flat.svc.cluster.local/']) {
    t.is(await waitFor(url, async () => (await get(url)) || undefined, 120_000, 500), web.metadata.name, url);
  }
  // Host C is on another network: its Pods are reached through the VXLAN tunnel.
  const far = await waitFor('the Pod on host C', async () => {
    const p = await server.client.get('Pod', 'flat', 'far');
    return p?.status?.podIP && p.status.phase === 'Running' && p;
  }, 120_000);
  for (const url of [`http://${far.status.podIP}:8080/`, 'http://far.flat/']) {
    t.is(await waitFor(url, async () => (await get(url)) || undefined, 120_000, 500), 'far', url);
  }
  // Each node has its Pod range (spec.podCIDR); host A routes B's straight, C's through the tunnel.
  const podCIDR = async (node: string) => (await k(['get', 'node', node, '-o', 'jsonpath={.spec.podCIDR}'])).out.trim();
  const [rangeB, rangeC] = [await podCIDR('host-b'), await podCIDR('host-c')];
  t.regex(rangeB, /^\d+\.\d+\.\d+\.0\/20$/);
  t.regex(sh('ip', '-n', 'gvn-a', 'route', 'show', rangeC), /via 10\.198\.0\.2 dev gv\.vxlan onlink/);
  // The tunnel's MTU leaves room for the 50 bytes VXLAN adds, under the link it is carried on.
  const mtu = (dev: string) => Number(/ mtu (\d+) /.exec(sh('ip', '-n', 'gvn-a', '-o', 'link', 'show', 'dev', dev))?.[1]);
  t.is(mtu('gv.vxlan'), mtu('eth0') - 50);
  t.regex(sh('ip', '-n', 'gvn-a', 'route', 'show', rangeB), /via 10\.199\.0\.3 dev eth0/);

  // The NodePort on host A, from this machine: served by the Pod on host B.
  const nodePort = (await server.client.get('Service', 'flat', 'web'))!.spec.ports[0].nodePort as number;
  const viaNodePort = (host: string) => new Promise<string | undefined>((resolve) => {
    const req = http.get({ host, port: nodePort, path: '/', timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body.trim() || undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
  const viaA = await waitFor('the NodePort of host A', () => viaNodePort(hosts[0]!.address), 120_000, 500);
  t.is(viaA, web.metadata.name);

  // Traffic policies of Local: the NodePort answers only on the node that runs the Pod, and the
  // cluster IP only to Pods of that node; elsewhere the traffic is dropped, as kube-proxy does.
  const patched = await k(['patch', 'service', 'web', '-n', 'flat', '-p', '{"spec":{"externalTrafficPolicy":"Local","internalTrafficPolicy":"Local"}}']);
  t.is(patched.code, 0, patched.err);
  await waitFor('the NodePort of host A to stop answering', async () => (await viaNodePort(hosts[0]!.address)) === undefined, 120_000, 500);
  t.is(await waitFor('the NodePort of host B', () => viaNodePort(hosts[1]!.address), 60_000, 500), web.metadata.name);
  await waitFor('web.flat to stop answering the client on host A', async () => (await get('http://web.flat/')) === '', 60_000, 500);
  t.is(await get(`http://${web.status.podIP}:8080/`), web.metadata.name, 'the Pod itself is still reached by address');
});
