import test from 'ava';
import http from 'node:http';
import https from 'node:https';
import { containersOf, execIn, freePort, image, serviceRangeFor, startServer, waitFor, type TestServer } from './docker-helpers.js';
import { tempDir } from './helpers.js';
import { ensureServingCertificate } from '../src/server/tls.js';
import { kubectl, type Kubectl } from './kubectl-helpers.js';
import { componentContainerName } from '../src/runtime/node-network.js';
import { docker } from './docker-helpers.js';

/** Services as Kubernetes defines them, on the real engine, driven by the real kubectl (1.33). */
let server: TestServer;
let k: Kubectl;
const ports = { http: 0, https: 0 };
test.before(async () => {
  // Ingress on ports of its own: test files run at once on this host.
  ports.http = await freePort();
  ports.https = await freePort();
  server = await startServer(undefined, { ingressPorts: ports });
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
  // A Pod reaches its own Service, and gets itself too (hairpin).
  const self = (await containersOf(server.installation, 'svc-other')).find((x) => x.Labels['gouvernail.io/pod'] === pods[0]!.metadata.name)!;
  await waitFor('a Pod answered by itself through its own Service', async () => (await execIn(self.Id, ['timeout', '5', 'wget', '-q', '-O', '-', 'http://web/'])).out.trim() === pods[0]!.metadata.name || undefined, 60_000, 100);
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
  const unready = Date.now();
  await waitFor('the unready Pod out of the endpoints', async () => {
    const e = await server.client.get('Endpoints', 'svc-other', 'web');
    const subsets = (e?.subsets ?? []) as { addresses?: { ip: string }[] }[];
    return !subsets.some((s) => (s.addresses ?? []).some((a) => a.ip === gone!.status.podIP));
  }, 30_000, 200);
  // Then the node's rules follow: ten answers in a row from the ready Pod alone.
  await waitFor('only the ready Pod answering', async () => {
    for (let i = 0; i < 10; i++) if ((await get('http://web.svc-other/')) !== kept!.metadata.name) return false;
    return true;
  }, 30_000, 100);
  t.log(`the unready Pod stopped getting traffic within ${Date.now() - unready} ms (probe period 1 s; ten requests included)`);
  const headless = await waitFor('the headless name without the unready Pod', async () => {
    const out = await nslookup('web-headless.svc-other.svc.cluster.local');
    return !out.includes(gone!.status.podIP) && out;
  }, 30_000, 500);
  t.true(headless.includes(kept!.status.podIP));

  // A LoadBalancer Service gets the nodes' addresses as its external IPs, as k3s's load balancer.
  t.is((await k(['expose', 'deployment', 'web', '-n', 'svc-other', '--name', 'web-lb', '--type', 'LoadBalancer', '--port', '8081', '--target-port', '8080'])).code, 0);
  const node = (await server.client.get('Node', undefined, 'test-node'))!;
  const nodeIP = node.status.addresses.find((a: { type: string }) => a.type === 'InternalIP').address as string;
  await waitFor('the load balancer address', async () => new RegExp(`web-lb\\s+LoadBalancer\\s+\\S+\\s+${nodeIP.replace(/\./g, '\\.')}\\s`).test((await k(['get', 'svc', 'web-lb', '-n', 'svc-other'])).out));
  // That address answers on the Service's port, from a Pod and from this host's loopback (serve's
  // proxy), as k3s's does; external IPs answer on their Service's ports.
  const ready = kept!.metadata.name;
  await waitFor('the load balancer port on the node address, from a Pod', async () => (await get(`http://${nodeIP}:8081/`)) === ready, 60_000, 500);
  const loopback = () => new Promise<string | false>((resolve) => {
    http.get({ host: '127.0.0.1', port: 8081, path: '/', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body.trim()));
    }).on('error', () => resolve(false));
  });
  const local = await waitFor('the load balancer port on loopback', loopback, 60_000, 500);
  t.is(local, ready);
  // A second LoadBalancer on the same port, created later, stays pending and says which Service
  // holds the port; the port keeps answering for the first one, on loopback and on the node's
  // address. Named to sort before web-lb, and selecting no Pod: taking the port would show.
  t.is((await k(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: Service\nmetadata: { name: a-lb, namespace: svc-other }\nspec:\n  type: LoadBalancer\n  selector: { app: nobody }\n  ports: [{ port: 8081, targetPort: 8080 }]\n' })).code, 0);
  const refused = await waitFor('the refused port told', async () => (await server.client.list('Event', 'svc-other')).find((e) => (e.involvedObject as { name?: string } | undefined)?.name === 'a-lb' && e.reason === 'PortInUse'));
  t.is(refused.type, 'Warning');
  t.regex(refused.message as string, /LoadBalancer port 8081\/TCP is not published on the nodes' addresses: Service svc-other\/web-lb, created before, holds it/);
  // Its Endpoints are written after its status, in the same pass.
  await waitFor('the endpoints of a-lb', async () => (await server.client.get('Endpoints', 'svc-other', 'a-lb')) !== undefined);
  t.regex((await k(['get', 'svc', 'a-lb', '-n', 'svc-other'])).out, /a-lb\s+LoadBalancer\s+\S+\s+<pending>\s/);
  for (let i = 0; i < 3; i++) t.is(await loopback(), ready, 'loopback 8081 still the first Service');
  t.is(await get(`http://${nodeIP}:8081/`), ready, "the node's address too");
  // Once the holder goes, the port is the waiting Service's: it gets the node's address.
  t.is((await k(['delete', 'svc', 'web-lb', '-n', 'svc-other'])).code, 0);
  await waitFor('a-lb holding the port', async () => new RegExp(`a-lb\\s+LoadBalancer\\s+\\S+\\s+${nodeIP.replace(/\./g, '\\.')}\\s`).test((await k(['get', 'svc', 'a-lb', '-n', 'svc-other'])).out));
  // Made a ClusterIP, it loses its node port and the address it was reached on.
  t.is((await k(['patch', 'svc', 'a-lb', '-n', 'svc-other', '-p', '{"spec":{"type":"ClusterIP"}}'])).code, 0);
  await waitFor('a-lb without its load balancer address', async () => /a-lb\s+ClusterIP\s+\S+\s+<none>\s+8081\/TCP\s/.test((await k(['get', 'svc', 'a-lb', '-n', 'svc-other'])).out));
  t.deepEqual((await server.client.get('Service', 'svc-other', 'a-lb'))!.status, { loadBalancer: {} });
  const ext = await k(['apply', '-f', '-'], { input: `apiVersion: v1\nkind: Service\nmetadata: { name: web-ext, namespace: svc-other }\nspec:\n  selector: { app: web }\n  externalIPs: [${nodeIP}]\n  ports: [{ port: 8082, targetPort: 8080 }]\n` });
  t.is(ext.code, 0, ext.err);
  await waitFor('the external IP', async () => (await get(`http://${nodeIP}:8082/`)) === ready, 60_000, 500);

  // The network component runs on the node, and the cluster DNS shows as kube-dns.
  const component = await docker.getContainer(componentContainerName(server.installation)).inspect();
  t.true(component.State.Running);
  t.regex((await k(['get', 'pods', '-n', 'kube-system'])).out, /gouvernail-network-test-node\s+1\/1\s+Running/);
  // Its Pod is as old as its container's run, however many configurations it applied since.
  const componentPod = JSON.parse((await k(['get', 'pod', '-n', 'kube-system', 'gouvernail-network-test-node', '-o', 'json'])).out);
  t.is(componentPod.metadata.creationTimestamp, new Date(component.State.StartedAt).toISOString());
  t.is(componentPod.status.containerStatuses[0].state.running.startedAt, new Date(component.State.StartedAt).toISOString());
  // Read until it says so: the component may have been made again since (its first apply puts the address on loopback).
  // A loaded machine (CI runs test files side by side) can take longer than a minute.
  await waitFor('the component serving the cluster DNS', async () => /serving the cluster DNS/.test((await k(['logs', '-n', 'kube-system', 'gouvernail-network-test-node'])).out), 180_000, 1000);
  t.regex((await k(['get', 'svc', 'kube-dns', '-n', 'kube-system'])).out, new RegExp(`kube-dns\\s+ClusterIP\\s+${range.replace(/\./g, '\\.')}10\\s`));
});

const server1 = (name: string, ns: string, labels: string) => `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${ns}, labels: { ${labels} } }
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: "${image}"
    # The Pod's name at /, /b/ and /bee/; a CGI script whose header lines end in a bare line feed.
    command: ["sh", "-c", "mkdir -p /www/b /www/bee /www/cgi-bin && echo ${name} > /www/index.html && cp /www/index.html /www/b/ && cp /www/index.html /www/bee/ && (echo '#!/bin/sh'; echo 'echo Content-Type: text/plain'; echo echo; echo 'echo cgi of ${name}') > /www/cgi-bin/who && chmod +x /www/cgi-bin/who && exec httpd -f -p 8080 -h /www"]
    ports: [{ name: http, containerPort: 8080 }]
`;

test.serial('NetworkPolicy: a deny-all ingress blocks traffic from another namespace; an allow rule for one label lets exactly that Pod in', async (t) => {
  t.timeout(300_000);
  const r = await k(['apply', '-f', '-'], {
    input: `apiVersion: v1
kind: Namespace
metadata: { name: np-db }
---
apiVersion: v1
kind: Namespace
metadata: { name: np-cli }
---
${server1('db', 'np-db', 'app: db')}---
${server1('api', 'np-cli', 'role: api')}---
${server1('other', 'np-cli', 'role: web')}`,
  });
  t.is(r.code, 0, r.err);
  const ready = await waitFor('the three Pods running with addresses', async () => {
    const pods = [...(await server.client.list('Pod', 'np-db')), ...(await server.client.list('Pod', 'np-cli'))];
    return pods.length === 3 && pods.every((p) => p.status?.podIP && p.status?.phase === 'Running') && pods;
  }, 120_000);
  const db = ready.find((p) => p.metadata.name === 'db')!;
  const containers = await containersOf(server.installation, 'np-cli');
  const from = (pod: string) => containers.find((c) => c.Labels['gouvernail.io/pod'] === pod)!.Id;
  const reaches = async (pod: string) => (await execIn(from(pod), ['timeout', '5', 'wget', '-q', '-O', '-', `http://${db.status.podIP}:8080/`])).code === 0;
  // Default allow: both reach the database across namespaces, by address.
  await waitFor('api reaching db', () => reaches('api'), 30_000, 500);
  t.true(await reaches('other'));

  t.is((await k(['apply', '-f', '-'], { input: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: deny-all, namespace: np-db }
spec: { podSelector: {}, policyTypes: [Ingress] }
` })).code, 0);
  await waitFor('api blocked by deny-all', async () => !(await reaches('api')), 30_000, 500);
  t.false(await reaches('other'));

  t.is((await k(['apply', '-f', '-'], { input: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: allow-api, namespace: np-db }
spec:
  podSelector: { matchLabels: { app: db } }
  ingress:
  - from:
    - namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: np-cli } }
      podSelector: { matchLabels: { role: api } }
    ports: [{ port: http }]
` })).code, 0);
  await waitFor('api let in by allow-api', () => reaches('api'), 30_000, 500);
  t.false(await reaches('other'), 'a Pod without the label stays out');
  t.regex((await k(['get', 'networkpolicy', '-n', 'np-db'])).out, /allow-api\s+app=db/);

  // The policy goes: the default allow is back.
  t.is((await k(['delete', 'networkpolicy', '--all', '-n', 'np-db'])).code, 0);
  await waitFor('other reaching db again', () => reaches('other'), 30_000, 500);

  // Egress: the web Pod may talk only to the api Pod of its namespace.
  const api = ready.find((p) => p.metadata.name === 'api')!;
  const reachesApi = async (pod: string) => (await execIn(from(pod), ['timeout', '5', 'wget', '-q', '-O', '-', `http://${api.status.podIP}:8080/`])).code === 0;
  t.is((await k(['apply', '-f', '-'], { input: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: web-egress, namespace: np-cli }
spec:
  podSelector: { matchLabels: { role: web } }
  policyTypes: [Egress]
  egress: [{ to: [{ podSelector: { matchLabels: { role: api } } }], ports: [{ port: 8080 }] }]
` })).code, 0);
  await waitFor('other kept from db by its egress policy', async () => !(await reaches('other')), 30_000, 500);
  t.true(await reachesApi('other'), 'what the egress rule allows still goes');
  t.true(await reaches('api'), 'a Pod no egress policy selects is not isolated');
});

test.serial('Ingress: two hosts and two paths to two Services, over HTTP and over HTTPS with the certificate of a Secret', async (t) => {
  t.timeout(300_000);
  const tlsDir = tempDir();
  const cert = await ensureServingCertificate(tlsDir, ['a.test']);
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const backendPod = (name: string) => `${server1(name, 'ing', `app: ${name}`)}---
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ing }
spec: { selector: { app: ${name} }, ports: [{ name: web, port: 80, targetPort: http }] }
`;
  const r = await k(['apply', '-f', '-'], {
    input: `apiVersion: v1
kind: Namespace
metadata: { name: ing }
---
${backendPod('site-a')}---
${backendPod('site-b')}---
apiVersion: v1
kind: Secret
metadata: { name: a-tls, namespace: ing }
type: kubernetes.io/tls
data: { tls.crt: ${b64(cert.cert)}, tls.key: ${b64(cert.key)} }
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: sites, namespace: ing }
spec:
  ingressClassName: nginx
  tls: [{ hosts: [a.test], secretName: a-tls }]
  rules:
  - host: a.test
    http:
      paths:
      - { path: /, pathType: Prefix, backend: { service: { name: site-a, port: { number: 80 } } } }
      - { path: /b, pathType: Prefix, backend: { service: { name: site-b, port: { name: web } } } }
  - host: b.test
    http:
      paths:
      - { path: /, pathType: Prefix, backend: { service: { name: site-b, port: { number: 80 } } } }
`,
  });
  t.is(r.code, 0, r.err);
  const get = (host: string, path: string, secure = false) =>
    new Promise<{ status: number; body: string }>((resolve) => {
      const req = (secure ? https : http).request({ host: '127.0.0.1', port: secure ? ports.https : ports.http, path, headers: { host }, servername: host, ca: cert.ca, timeout: 5000 }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
      });
      req.on('error', (err) => resolve({ status: 0, body: err.message }));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  await waitFor('a.test served', async () => (await get('a.test', '/')).body === 'site-a', 120_000, 500).catch(async (err) => {
    const logs = await docker.getContainer(componentContainerName(server.installation)).logs({ stdout: true, stderr: true, tail: 20 });
    t.log(logs.toString(), await get('a.test', '/'), (await k(['get', 'pods', '-n', 'kube-system', 'gouvernail-network-test-node', '-o', 'jsonpath={.status}'])).out, (await k(['get', 'ingress', '-A', '-o', 'wide'])).out);
    throw err;
  });
  // Each backend once its own Pod is ready (site-b's may be a moment behind site-a's).
  await waitFor('a.test/b/ served by site-b', async () => (await get('a.test', '/b/')).body === 'site-b', 120_000, 250);
  t.is((await get('b.test', '/')).body, 'site-b');
  t.is((await get('a.test', '/bee/')).body, 'site-a', 'a prefix matches whole path elements');
  t.is((await get('c.test', '/')).status, 404, 'no rule for this host');
  // Header lines ended by a bare line feed (a shell CGI's) are read, as nginx and traefik read them.
  t.deepEqual(await get('a.test', '/cgi-bin/who'), { status: 200, body: 'cgi of site-a' });
  // HTTPS: the Secret's certificate, checked against its CA, for the name asked.
  const secure = await get('a.test', '/', true);
  t.deepEqual(secure, { status: 200, body: 'site-a' });
  // The Ingress shows the node's address, as kubectl get ingress prints it.
  await waitFor('the Ingress status', async () => ((await server.client.get('Ingress', 'ing', 'sites'))?.status?.loadBalancer?.ingress ?? []).length > 0);
  t.regex((await k(['get', 'ingress', '-n', 'ing'])).out, /sites\s+nginx\s+a\.test,b\.test\s+\S+\s+80, 443/);
});
