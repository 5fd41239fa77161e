import test from 'ava';
import { containersOf, execIn, image, serviceRangeFor, startServer, waitFor, type TestServer } from './docker-helpers.js';
import { kubectl, type Kubectl } from './kubectl-helpers.js';
import { componentContainerName } from '../src/runtime/node-network.js';
import { docker } from './docker-helpers.js';

/** Services as Kubernetes defines them, on the real engine, driven by the real kubectl (1.33). */
let server: TestServer;
let k: Kubectl;
test.before(async () => {
  server = await startServer();
  k = kubectl(server.kubeconfig, '1.33');
});
test.after.always(async () => {
  await server?.destroy();
});

const backend = (ns: string) => `apiVersion: v1
kind: Namespace
metadata: { name: ${ns} }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${ns} }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: "${image}"
        # Each Pod serves its own name on 8080, and is ready while /www/ready exists.
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && touch /www/ready && exec httpd -f -p 8080 -h /www"]
        ports: [{ name: http, containerPort: 8080 }]
        readinessProbe: { exec: { command: ["test", "-f", "/www/ready"] }, periodSeconds: 1 }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: ${ns} }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: web-headless, namespace: ${ns} }
spec:
  clusterIP: None
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http }]
---
apiVersion: v1
kind: Service
metadata: { name: alias, namespace: ${ns} }
spec: { type: ExternalName, externalName: web.${ns}.svc.cluster.local }
`;

const client = (ns: string) => `apiVersion: v1
kind: Namespace
metadata: { name: ${ns} }
---
apiVersion: v1
kind: Pod
metadata: { name: client, namespace: ${ns} }
spec:
  terminationGracePeriodSeconds: 1
  containers: [{ name: c, image: "${image}", command: ["sleep", "3600"] }]
`;

test.serial('from a Pod of another namespace, svc.ns:80 (targetPort 8080), its full name and its cluster IP answer, balanced over the ready Pods; a Pod that stops being ready stops getting traffic', async (t) => {
  t.timeout(300_000);
  const r = await k(['apply', '-f', '-'], { input: `${backend('svc-other')}---\n${client('svc-cli')}` });
  t.is(r.code, 0, r.err);
  t.is((await k(['rollout', 'status', 'deployment/web', '-n', 'svc-other', '--timeout=180s'])).code, 0);
  const svc = (await server.client.get('Service', 'svc-other', 'web'))!;
  const range = serviceRangeFor(server.dataDir).replace(/\.0\/24$/, '.');
  t.true(svc.spec.clusterIP.startsWith(range), `${svc.spec.clusterIP} is in ${range}0/24`);
  // kubectl shows the cluster IP and the endpoints.
  const shown = await k(['get', 'svc', 'web', '-n', 'svc-other']);
  t.regex(shown.out, new RegExp(`web\\s+ClusterIP\\s+${svc.spec.clusterIP.replace(/\./g, '\\.')}\\s+<none>\\s+80/TCP`));
  const pods = (await server.client.list('Pod', 'svc-other', 'app=web')).filter((p) => p.status?.podIP);
  t.is(pods.length, 2);
  const endpoints = await waitFor('both endpoints', async () => {
    const e = await k(['get', 'endpoints', 'web', '-n', 'svc-other']);
    return pods.every((p) => e.out.includes(`${p.status.podIP}:8080`)) && e.out;
  });
  t.truthy(endpoints);
  t.regex((await k(['get', 'endpointslices', '-n', 'svc-other', '-l', 'kubernetes.io/service-name=web'])).out, /IPv4\s+8080/);

  await waitFor('the client Pod', async () => (await containersOf(server.installation, 'svc-cli')).some((c) => c.State === 'running'));
  const [c] = await containersOf(server.installation, 'svc-cli');
  const get = async (url: string) => {
    const r = await execIn(c!.Id, ['timeout', '5', 'wget', '-q', '-O', '-', url]);
    return r.code === 0 ? r.out.trim() : '';
  };
  // The resolver is the cluster's, as the kubelet writes it.
  const resolv = (await execIn(c!.Id, ['cat', '/etc/resolv.conf'])).out;
  t.regex(resolv, /search svc-cli\.svc\.cluster\.local svc\.cluster\.local cluster\.local/);
  t.regex(resolv, /options ndots:5/);
  const names = new Set(pods.map((p) => p.metadata.name));
  for (const url of ['http://web.svc-other/', 'http://web.svc-other.svc/', 'http://web.svc-other.svc.cluster.local/', `http://${svc.spec.clusterIP}/`, 'http://alias.svc-other/']) {
    const answer = await waitFor(url, async () => (await get(url)) || undefined, 60_000, 500);
    t.true(names.has(answer), `${url} answered ${answer}`);
  }
  // Balanced: both Pods answer within a few requests.
  const seen = new Set<string>();
  await waitFor('both Pods answering', async () => {
    seen.add(await get('http://web.svc-other/'));
    return seen.size === 2;
  });
  // A headless Service's name is every ready Pod's address; SRV records name the ports.
  const nslookup = async (name: string) => (await execIn(c!.Id, ['timeout', '5', 'nslookup', name])).out;
  const lookup = await waitFor('every ready Pod in the headless name', async () => {
    const out = await nslookup('web-headless.svc-other.svc.cluster.local');
    return pods.every((p) => out.includes(p.status.podIP)) && out;
  }, 30_000, 500);
  for (const p of pods) t.true(lookup.includes(p.status.podIP), `${p.status.podIP} in ${lookup}`);
  const srv = (await execIn(c!.Id, ['timeout', '5', 'nslookup', '-type=srv', '_http._tcp.web.svc-other.svc.cluster.local'])).out;
  t.regex(srv, /80 web\.svc-other\.svc\.cluster\.local/);

  // One Pod stops being ready: within a probe period (1 s) and the endpoints' update, it gets nothing.
  const [gone, kept] = pods;
  const goneContainer = (await containersOf(server.installation, 'svc-other')).find((x) => x.Labels['gouvernail.io/pod'] === gone!.metadata.name)!;
  await execIn(goneContainer.Id, ['rm', '/www/ready']);
  await waitFor('the unready Pod out of the endpoints', async () => {
    const e = await server.client.get('Endpoints', 'svc-other', 'web');
    const subsets = (e?.subsets ?? []) as { addresses?: { ip: string }[] }[];
    return !subsets.some((s) => (s.addresses ?? []).some((a) => a.ip === gone!.status.podIP));
  }, 30_000, 200);
  const after = new Set<string>();
  for (let i = 0; i < 10; i++) after.add(await get('http://web.svc-other/'));
  t.deepEqual([...after], [kept!.metadata.name]);
  const headless = await waitFor('the headless name without the unready Pod', async () => {
    const out = await nslookup('web-headless.svc-other.svc.cluster.local');
    return !out.includes(gone!.status.podIP) && out;
  }, 30_000, 500);
  t.true(headless.includes(kept!.status.podIP));

  // The network component runs on the node, and the cluster DNS shows as kube-dns.
  t.true((await docker.getContainer(componentContainerName(server.installation)).inspect()).State.Running);
  t.regex((await k(['get', 'svc', 'kube-dns', '-n', 'kube-system'])).out, new RegExp(`kube-dns\\s+ClusterIP\\s+${range.replace(/\./g, '\\.')}10\\s`));
});
