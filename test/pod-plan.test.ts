import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { applyDefaults } from '../src/manifest/defaults.js';
import type { KubeObject } from '../src/manifest/types.js';
import { planPod, withServiceLinks } from '../src/runtime/pod-containers.js';
import { PodAddresses } from '../src/runtime/pod-addresses.js';
import { networkWaitScript, withNetworkWait } from '../src/runtime/network-wait.js';
import { hostPortRules, hostPortsOf, loopbackPorts } from '../src/network/host-ports.js';

const pod = (ports: object[]): KubeObject =>
  applyDefaults({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop', uid: 'u1' }, spec: { containers: [{ name: 'web', image: 'busybox:1', ports }] } });
const none = { configMap: () => undefined, secret: () => undefined };

test("a Pod's first container owns its network namespace, with no Docker network: the Pod's address, its name in /etc/hosts; the others join it", (t) => {
  const p = pod([{ containerPort: 8080, hostPort: 18080 }]);
  p.spec.containers.push({ ...p.spec.containers[0], name: 'side', ports: [] });
  p.spec.containers[1].env = [{ name: 'MY_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }];
  const plan = planPod(p, { ...none, podAddress: '10.244.0.7' }, 'i');
  const [first, side] = plan.containers.map((c) => c.options);
  t.is(first!.HostConfig!.NetworkMode, 'none');
  t.is(first!.Labels!['gouvernail.io/pod-ip'], '10.244.0.7');
  t.deepEqual(first!.HostConfig!.ExtraHosts, ['web:10.244.0.7']);
  t.is(first!.HostConfig!.PortBindings, undefined, 'hostPorts are the network component\'s');
  t.is(side!.HostConfig!.NetworkMode, 'container:gv_shop_web_web');
  t.true(side!.Env!.includes('MY_IP=10.244.0.7'), 'the downward API has the address from the first start');
});

test("a Pod with a subdomain has its fully qualified name first on its /etc/hosts line (hostname -f); setHostnameAsFQDN makes it the hostname; shareProcessNamespace joins the owner's processes", (t) => {
  const p = pod([]);
  p.spec.hostname = 'db-0';
  p.spec.subdomain = 'db';
  p.spec.containers.push({ name: 'agent', image: 'busybox:1' });
  const plain = planPod(p, { ...none, podAddress: '10.244.0.7' }, 'i').containers.map((c) => c.options);
  t.is(plain[0]!.Hostname, 'db-0');
  t.deepEqual(plain[0]!.HostConfig!.ExtraHosts, ['db-0.db.shop.svc.cluster.local db-0:10.244.0.7']);
  t.is(plain[1]!.HostConfig!.PidMode, undefined, 'each container its own processes by default');
  p.spec.setHostnameAsFQDN = true;
  p.spec.shareProcessNamespace = true;
  const [first, agent] = planPod(p, { ...none, podAddress: '10.244.0.7' }, 'i').containers.map((c) => c.options);
  t.is(first!.Hostname, 'db-0.db.shop.svc.cluster.local');
  t.is(first!.HostConfig!.PidMode, undefined);
  t.is(agent!.HostConfig!.PidMode, 'container:gv_shop_web_web');
  // Kubernetes refuses a hostname over 64 characters: the Pod waits, saying why.
  p.spec.subdomain = 'a-very-long-subdomain-name-that-makes-the-fqdn-too-long';
  t.regex(planPod(p, { ...none, podAddress: '10.244.0.7' }, 'i').configError?.message ?? '', /longer than 64 characters/);
});

test("each Service of the namespace with a cluster IP is in a new container's env, as Docker links named it, unless enableServiceLinks is false; the spec hash does not see them", (t) => {
  const svc = (name: string, spec: object) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'shop' }, spec });
  const services = [
    svc('redis-master', { clusterIP: '10.96.0.11', ports: [{ port: 6379, protocol: 'TCP' }] }),
    svc('web', { clusterIP: '10.96.0.12', ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns-udp', port: 53, protocol: 'UDP' }] }),
    svc('headless', { clusterIP: 'None', ports: [{ port: 80 }] }),
    svc('outside', { type: 'ExternalName', externalName: 'example.com' }),
  ];
  const p = pod([]);
  p.spec.containers[0].env = [{ name: 'WEB_SERVICE_PORT', value: 'mine' }];
  const planned = planPod(p, none, 'i').containers[0]!;
  const env = withServiceLinks(planned.options, p, () => services).Env!;
  t.deepEqual(env.filter((e) => /^(REDIS_MASTER|WEB|HEADLESS|OUTSIDE)_/.test(e)), [
    'REDIS_MASTER_SERVICE_HOST=10.96.0.11', 'REDIS_MASTER_SERVICE_PORT=6379', 'REDIS_MASTER_PORT=tcp://10.96.0.11:6379',
    'REDIS_MASTER_PORT_6379_TCP=tcp://10.96.0.11:6379', 'REDIS_MASTER_PORT_6379_TCP_PROTO=tcp', 'REDIS_MASTER_PORT_6379_TCP_PORT=6379', 'REDIS_MASTER_PORT_6379_TCP_ADDR=10.96.0.11',
    'WEB_SERVICE_HOST=10.96.0.12', 'WEB_SERVICE_PORT=80', 'WEB_SERVICE_PORT_HTTP=80', 'WEB_SERVICE_PORT_DNS_UDP=53', 'WEB_PORT=tcp://10.96.0.12:80',
    'WEB_PORT_80_TCP=tcp://10.96.0.12:80', 'WEB_PORT_80_TCP_PROTO=tcp', 'WEB_PORT_80_TCP_PORT=80', 'WEB_PORT_80_TCP_ADDR=10.96.0.12',
    'WEB_PORT_53_UDP=udp://10.96.0.12:53', 'WEB_PORT_53_UDP_PROTO=udp', 'WEB_PORT_53_UDP_PORT=53', 'WEB_PORT_53_UDP_ADDR=10.96.0.12',
    // The container's own variable comes last: Docker keeps the last of a name.
    'WEB_SERVICE_PORT=mine',
  ]);
  t.false(planned.options.Env!.some((e) => e.startsWith('REDIS_MASTER_')), 'the plan (and its hash) has none of them');
  const off = { ...p, spec: { ...p.spec, enableServiceLinks: false } };
  t.false(withServiceLinks(planned.options, off, () => services).Env!.some((e) => e.startsWith('REDIS_MASTER_')));
});

test('$(VAR) in env values, command and args expands as the kubelet does: earlier variables, then the Services\' links; $$ escapes; an unknown name stays; the spec hash sees what is written', (t) => {
  const services = [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'shop' }, spec: { clusterIP: '10.96.0.20', ports: [{ port: 5432, protocol: 'TCP' }] } }];
  const p = pod([]);
  const c = p.spec.containers[0];
  c.env = [
    { name: 'A', value: 'hello' },
    { name: 'B', value: '$(A) world $$(A) $(MISSING) $(LATER) pa$$word $x $' },
    { name: 'DB', value: '$(DB_SERVICE_HOST):$(DB_SERVICE_PORT)' },
    { name: 'LATER', value: 'late' },
  ];
  c.command = ['sh', '-c', 'echo $(A) $(LATER) $(DB_SERVICE_HOST)'];
  c.args = ['$$(A)', '$(A'];
  const planned = planPod(p, { ...none, services: () => services }, 'i').containers[0]!;
  const env = planned.options.Env!;
  t.true(env.includes('B=hello world $(A) $(MISSING) $(LATER) pa$word $x $'), env.join('\n'));
  t.true(env.includes('DB=10.96.0.20:5432'));
  t.deepEqual(planned.options.Entrypoint, ['sh', '-c', 'echo hello late 10.96.0.20']);
  t.deepEqual(planned.options.Cmd, ['$(A)', '$(A']);
  // Services link variables are off: their names stay as written.
  const off = planPod({ ...p, spec: { ...p.spec, enableServiceLinks: false } }, { ...none, services: () => services }, 'i').containers[0]!;
  t.true(off.options.Env!.includes('DB=$(DB_SERVICE_HOST):$(DB_SERVICE_PORT)'));
  t.is(off.hash, planned.hash, 'a Service made later replaces no container');
});

test('hostPorts: on the hostIP, else each address the node publishes on, else all; loopback is answered by a proxy, the rest translated', (t) => {
  const running = (ports: object[], ip = '10.244.0.7') => ({ ...pod(ports), spec: { ...pod(ports).spec, nodeName: 'n1' }, status: { podIP: ip } }) as KubeObject;
  const all = hostPortsOf([running([{ containerPort: 8080, hostPort: 18080 }]), running([{ containerPort: 53, hostPort: 1053, protocol: 'UDP' }], '10.244.0.8')], 'n1');
  t.deepEqual(all.map((p) => [p.hostIP, p.hostPort, p.podIP, p.containerPort, p.protocol]), [[undefined, 1053, '10.244.0.8', 53, 'UDP'], [undefined, 18080, '10.244.0.7', 8080, 'TCP']]);
  t.deepEqual(hostPortsOf([running([{ containerPort: 8080, hostPort: 18080 }])], 'other'), [], 'another node\'s Pod');
  const rules = hostPortRules('GV-SVC-X', all);
  t.deepEqual(rules, [
    '-A GV-SVC-X ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -p udp -m udp --dport 1053 -m comment --comment "shop/web hostPort" -j DNAT --to-destination 10.244.0.8:53',
    '-A GV-SVC-X ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -p tcp -m tcp --dport 18080 -m comment --comment "shop/web hostPort" -j DNAT --to-destination 10.244.0.7:8080',
  ]);
  t.deepEqual(loopbackPorts(all), [
    { protocol: 'UDP', address: '127.0.0.1', port: 1053, to: { host: '10.244.0.8', port: 53 } },
    { protocol: 'TCP', address: '127.0.0.1', port: 18080, to: { host: '10.244.0.7', port: 8080 } },
  ], 'TCP and UDP on loopback');
  const limited = hostPortsOf([running([{ containerPort: 8080, hostPort: 18080 }])], 'n1', ['127.0.0.1', '10.1.2.3']);
  t.deepEqual(hostPortRules('C', limited), ['-A C -d 10.1.2.3/32 -p tcp -m tcp --dport 18080 -m comment --comment "shop/web hostPort" -j DNAT --to-destination 10.244.0.7:8080']);
  t.deepEqual(loopbackPorts(limited).map((l) => `${l.address}:${l.port}`), ['127.0.0.1:18080']);
  const refused = planPod(pod([{ containerPort: 8080, hostPort: 18080, hostIP: '0.0.0.0' }]), { ...none, publishAddresses: ['127.0.0.1'] }, 'i');
  t.regex(refused.configError!.message, /hostIP 0\.0\.0\.0 of hostPort 18080 is not an address this node publishes on \(127\.0\.0\.1\)/);
});

test('Pod addresses: the next free one of the subnet, kept for the Pod, read back from the containers, not given again at once', (t) => {
  const a = new PodAddresses();
  t.is(a.of('u1', '10.244.0.0/24'), '10.244.0.2');
  t.is(a.of('u2', '10.244.0.0/24'), '10.244.0.3');
  t.is(a.of('u1', '10.244.0.0/24'), '10.244.0.2', 'kept');
  // u1 is gone (no container, not live): its address is free, but the next Pod gets a new one.
  a.seen([{ Labels: { 'gouvernail.io/uid': 'u2', 'gouvernail.io/pod-ip': '10.244.0.3' } } as never], new Set(['u2']));
  t.is(a.of('u3', '10.244.0.0/24'), '10.244.0.4');
  // After a restart, what the containers hold is never handed out, nor an earlier version's Docker addresses.
  const b = new PodAddresses();
  b.seen([{ Labels: { 'gouvernail.io/uid': 'u2', 'gouvernail.io/pod-ip': '10.244.0.2' } }, { Labels: { 'gouvernail.io/uid': 'old' }, NetworkSettings: { Networks: { 'gouvernail-shop': { IPAddress: '10.244.0.3' } } } }] as never, new Set(['u2']));
  t.is(b.of('u9', '10.244.0.0/24'), '10.244.0.4');
  t.is(b.of('u2', '10.244.0.0/24'), '10.244.0.2');
  const small = new PodAddresses();
  t.is(small.of('x', '10.0.0.0/30'), '10.0.0.2');
  t.throws(() => small.of('y', '10.0.0.0/30'), { message: /no free Pod address in 10\.0\.0\.0\/30/ });
});

test("hostPID and hostIPC put every container in the host's namespaces", (t) => {
  const p = pod([]);
  p.spec.hostPID = true;
  p.spec.hostIPC = true;
  p.spec.containers.push({ ...p.spec.containers[0], name: 'side' });
  const plan = planPod(p, none, 'i');
  t.deepEqual(plan.containers.map((c) => [c.options.HostConfig!.PidMode, c.options.HostConfig!.IpcMode]), [['host', 'host'], ['host', 'host']]);
});

test("hostNetwork puts the Pod on the host's network: no network of its own, no hostname of its own", (t) => {
  const p = pod([{ containerPort: 8080, hostPort: 8080 }]);
  p.spec.hostNetwork = true;
  const first = planPod(p, none, 'i').containers[0]!.options;
  t.is(first.HostConfig!.NetworkMode, 'host');
  t.is(first.Hostname, undefined);
  t.is(first.NetworkingConfig, undefined);
  t.is(first.HostConfig!.PortBindings, undefined);
});

/** The commands of a process's children, from /proc. */
function childrenOf(pid: number): string[] {
  const out: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...
      const close = stat.lastIndexOf(')');
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      if (ppid === pid) out.push(stat.slice(stat.indexOf('(') + 1, close));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function waitUntil(ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("a Pod's network owner waits for its address, then runs what Docker would have run (the spec's command and args over the image's)", async (t) => {
  const wait = ['/bin/sh', '-c', networkWaitScript, 'gouvernail-wait-network'];
  const image = { Entrypoint: ['/docker-entrypoint.sh'], Cmd: ['nginx', '-g', 'daemon off;'] };
  t.deepEqual(withNetworkWait({ Image: 'nginx' }, image), { Image: 'nginx', Entrypoint: wait, Cmd: ['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;'] });
  t.deepEqual(withNetworkWait({ Image: 'nginx', Cmd: ['nginx', '-T'] }, image).Cmd, ['/docker-entrypoint.sh', 'nginx', '-T'], 'args replace the image CMD');
  t.deepEqual(withNetworkWait({ Image: 'nginx', Entrypoint: ['sleep'] }, image).Cmd, ['sleep'], "a command drops the image's CMD");
  t.deepEqual(withNetworkWait({ Image: 'nginx', Entrypoint: ['sleep'], Cmd: ['9'] }, image).Cmd, ['sleep', '9']);
  t.deepEqual(withNetworkWait({ Image: 'x' }, { Cmd: 'sh' }).Cmd, ['sh'], 'a string CMD');
  t.deepEqual(withNetworkWait({ Image: 'x' }, {}), { Image: 'x' }, 'nothing to run: left for Docker to refuse');
  // The script runs with a POSIX shell alone: with the default route through eth0 it runs the program at once.
  const dir = mkdtempSync(path.join(tmpdir(), 'gv-wait-'));
  const script = (route: string) => networkWaitScript.replace('/proc/net/route', route);
  writeFileSync(path.join(dir, 'route'), 'Iface\tDestination\tGateway\neth0\t00000000\t0100600A\n');
  t.is(execFileSync('sh', ['-c', script(path.join(dir, 'route')), 'w', 'echo', 'ran'], { encoding: 'utf8', timeout: 10_000 }), 'ran\n');
  // Without it, it waits, with no polling, until SIGUSR1 (the network component's, once the Pod has its address).
  writeFileSync(path.join(dir, 'none'), 'Iface\tDestination\tGateway\n');
  const child = spawn('sh', ['-c', script(path.join(dir, 'none')), 'w', 'echo', 'ran'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  // 'close', not 'exit': the output is all read by then.
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  // Waiting: its one background sleep is there.
  await waitUntil(() => childrenOf(child.pid!).includes('sleep'));
  t.is(out, '', 'nothing ran before the signal');
  child.kill('SIGUSR1');
  t.is(await exited, 0);
  t.is(out, 'ran\n');
});
