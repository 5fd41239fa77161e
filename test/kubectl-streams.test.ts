import test from 'ava';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, image, runCli, startServer, waitFor, type TestServer } from './docker-helpers.js';
import { kubectl, kubectlBinary } from './kubectl-helpers.js';
import { tempDir } from './helpers.js';

let server: TestServer;
test.before(async () => {
  server = await startServer();
});
test.after.always(async () => {
  await server?.destroy();
});

/** A command under a pseudo-terminal (util-linux `script`), as a person at a terminal runs it. */
function underPty(command: string, env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...env }, timeout: 120_000 }, (err, out) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: String(out) }));
  });
}

for (const version of ['1.30', '1.33']) {
  test.serial(`kubectl ${version}: exec (exit code, stdin, a terminal), cp both ways, attach through run --rm, logs with its flags`, async (t) => {
    const k = kubectl(server.kubeconfig, version);
    const ns = `streams-${version.replace('.', '-')}`;
    const ok = async (args: string[], options?: Parameters<typeof k>[1]) => {
      const r = await k(args, options);
      t.is(r.code, 0, `kubectl ${args.join(' ')}: ${r.out}${r.err}`);
      return r.out;
    };
    await ok(['create', 'namespace', ns]);
    const dir = tempDir();
    writeFileSync(path.join(dir, 'pods.yaml'), `apiVersion: v1
kind: Pod
metadata: { name: shell, namespace: ${ns}, labels: { role: shell } }
spec:
  containers:
    - { name: main, image: "${image}", command: ["sh", "-c", "echo started; while [ ! -f /tmp/go ]; do sleep 0.2; done; echo after-start; sleep 3600"] }
    - { name: side, image: "${image}", command: ["sh", "-c", "echo from the side; sleep 3600"] }
---
apiVersion: v1
kind: Pod
metadata: { name: web, namespace: ${ns} }
spec:
  containers:
    - { name: web, image: "${image}", command: ["sh", "-c", "mkdir -p /www; echo served through port-forward > /www/index.html; exec httpd -f -p 8080 -h /www"] }
---
apiVersion: v1
kind: Pod
metadata: { name: crasher, namespace: ${ns} }
spec:
  containers:
    - { name: c, image: "${image}", command: ["sh", "-c", "echo run at $(date +%s); sleep 1; exit 1"] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: talker, namespace: ${ns} }
spec:
  selector: { matchLabels: { app: talker } }
  template:
    metadata: { labels: { app: talker } }
    spec:
      containers: [{ name: c, image: "${image}", command: ["sh", "-c", "echo talker says hi; sleep 3600"] }]
`);
    await ok(['apply', '-f', dir]);
    await ok(['wait', '-n', ns, '--for=condition=Ready', 'pod/shell', '--timeout=120s']);

    // exec: output, the exit code, stdin closed at its end.
    const failed = await k(['exec', '-n', ns, 'shell', '--', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    t.is(failed.code, 7);
    t.is(failed.out, 'out\n');
    t.regex(failed.err, /err\n[\s\S]*command terminated with exit code 7/);
    t.is(await ok(['exec', '-i', '-n', ns, 'shell', '--', 'wc', '-l'], { input: 'one\ntwo\nthree\n' }), '3\n');
    t.is(await ok(['exec', '-n', ns, 'shell', '-c', 'side', '--', 'sh', '-c', 'echo side container']), 'side container\n');
    // -it under a pseudo-terminal: the command gets a TTY of its own.
    const env = { KUBECONFIG: server.kubeconfig, HOME: tempDir('gouvernail-kubectl-home-') };
    const pty = await underPty(`${kubectlBinary(version)} exec -it -n ${ns} shell -- sh -c 'tty; echo interactive'`, env);
    t.is(pty.code, 0, pty.out);
    t.regex(pty.out, /\/dev\/pts\/\d+\r?\n[\s\S]*interactive/);

    // cp both ways (tar over exec).
    const local = path.join(tempDir(), 'note.txt');
    writeFileSync(local, 'copied in by kubectl cp\n');
    await ok(['cp', local, `${ns}/shell:/tmp/note.txt`, '-c', 'main']);
    t.is(await ok(['exec', '-n', ns, 'shell', '--', 'cat', '/tmp/note.txt']), 'copied in by kubectl cp\n');
    const back = path.join(tempDir(), 'back.txt');
    await ok(['cp', `${ns}/shell:/tmp/note.txt`, back, '-c', 'main']);
    t.is(readFileSync(back, 'utf8'), 'copied in by kubectl cp\n');

    // attach, as run --rm -i does it: stdin to the process, its output back, then the Pod deleted.
    const attached = await k(['run', 'asker', '-n', ns, `--image=${image}`, '--rm', '-i', '--restart=Never', '--command', '--', 'sh', '-c', 'read x; echo got $x'], { input: 'the answer\n' });
    t.is(attached.code, 0, attached.err);
    t.regex(attached.out, /got the answer/);
    t.regex(attached.out + attached.err, /pod "asker" deleted/);
    await waitFor('the run --rm Pod gone', async () => (await k(['get', 'pod', 'asker', '-n', ns])).code !== 0);
    // run --rm -it, at a terminal: the Pod's own TTY, then the Pod deleted.
    const runIt = await underPty(`${kubectlBinary(version)} run teletype -n ${ns} --image=${image} --rm -it --restart=Never --command -- sh -c 'sleep 5; tty; echo at a terminal'`, env);
    t.is(runIt.code, 0, runIt.out);
    t.regex(runIt.out, /\/dev\/pts\/\d+\r?\n[\s\S]*at a terminal[\s\S]*pod "teletype" deleted/);

    // logs: -f gets a line written after it started; --tail, --timestamps, -c, --all-containers, -l, deploy/NAME.
    const follow = k.spawn(['logs', '-f', '-n', ns, 'shell', '-c', 'main']);
    await waitFor('logs -f printing', async () => follow.output().includes('started'));
    await ok(['exec', '-n', ns, 'shell', '--', 'touch', '/tmp/go']);
    await waitFor('logs -f receiving a new line', async () => follow.output().includes('after-start'));
    follow.proc.kill();
    t.is(await ok(['logs', '-n', ns, 'shell', '-c', 'main', '--tail=1']), 'after-start\n');
    t.regex(await ok(['logs', '-n', ns, 'shell', '-c', 'main', '--timestamps']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z started\n/);
    t.is(await ok(['logs', '-n', ns, 'shell', '-c', 'main', '--since=1h', '--tail=1']), 'after-start\n');
    const all = await ok(['logs', '-n', ns, 'shell', '--all-containers']);
    t.regex(all, /started/);
    t.regex(all, /from the side/);
    t.regex(await ok(['logs', '-n', ns, '-l', 'role=shell', '-c', 'side']), /from the side/);
    await ok(['wait', '-n', ns, '--for=condition=Available', 'deploy/talker', '--timeout=120s']);
    t.regex(await ok(['logs', '-n', ns, 'deploy/talker']), /talker says hi/);
    // --previous: what the container wrote in the run before its last one, that run alone.
    await waitFor('the crasher restarted twice', async () => /"restartCount":\s*([2-9]|\d\d)/.test((await k(['get', 'pod', 'crasher', '-n', ns, '-o', 'json'])).out), 120_000);
    t.regex(await ok(['logs', '-n', ns, 'crasher', '--previous']), /^run at \d+\n$/);
    // Without it, the log of the last run only, as the kubelet keeps one log per run (Docker keeps one for all).
    let current = '';
    await waitFor('the crasher\'s last run logged', async () => (current = await ok(['logs', '-n', ns, 'crasher'])) !== '');
    t.regex(current, /^run at \d+\n$/);
    const noPrevious = await k(['logs', '-n', ns, 'shell', '-c', 'main', '--previous']);
    t.not(noPrevious.code, 0);
    t.regex(noPrevious.err, /previous terminated container "main" in pod "shell" not found/);

    // port-forward: kubectl 1.31+ tunnels SPDY in a WebSocket; 1.30 upgrades the connection to SPDY.
    await ok(['wait', '-n', ns, '--for=condition=Ready', 'pod/web', '--timeout=120s']);
    const port = await freePort();
    const forward = k.spawn(['port-forward', '-n', ns, 'pod/web', `${port}:8080`]);
    await waitFor('port-forward listening', async () => forward.output().includes(`Forwarding from 127.0.0.1:${port} -> 8080`));
    for (let i = 0; i < 2; i++) t.is(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'served through port-forward\n');
    forward.proc.kill();
    await ok(['delete', 'namespace', ns, '--wait=false']);
  });
}

test.serial('kubectl get --raw and kubectl proxy reach a Pod and a Service through their proxy subresource: method, query and body go on, the answer comes back; a user without pods/proxy is refused', async (t) => {
  const k = kubectl(server.kubeconfig, '1.33');
  const ns = 'proxies';
  const ok = async (args: string[]) => {
    const r = await k(args);
    t.is(r.code, 0, `kubectl ${args.join(' ')}: ${r.out}${r.err}`);
    return r.out;
  };
  await ok(['create', 'namespace', ns]);
  const dir = tempDir();
  // busybox httpd: a page, and a CGI script that answers with the method, the query and the body.
  writeFileSync(path.join(dir, 'echo.yaml'), `apiVersion: v1
kind: Pod
metadata: { name: echo, namespace: ${ns}, labels: { app: echo } }
spec:
  containers:
    - name: web
      image: "${image}"
      command: ["sh", "-c", "mkdir -p /www/cgi-bin; echo served through the API > /www/index.html; printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho $REQUEST_METHOD $QUERY_STRING\\ncat\\n' > /www/cgi-bin/echo; chmod +x /www/cgi-bin/echo; exec httpd -f -p 8080 -h /www"]
      ports: [{ name: http, containerPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: echo, namespace: ${ns} }
spec:
  selector: { app: echo }
  ports: [{ name: web, port: 80, targetPort: http }]
---
apiVersion: v1
kind: Service
metadata: { name: nobody, namespace: ${ns} }
spec:
  selector: { app: nobody }
  ports: [{ port: 80 }]
`);
  await ok(['apply', '-f', path.join(dir, 'echo.yaml')]);
  await ok(['wait', '-n', ns, '--for=condition=Ready', 'pod/echo', '--timeout=120s']);
  await waitFor('the Service\'s endpoint', async () => (await k(['get', 'endpoints', 'echo', '-n', ns, '-o', 'jsonpath={.subsets[0].addresses[0].ip}'])).out !== '');

  const api = `/api/v1/namespaces/${ns}`;
  t.is(await ok(['get', '--raw', `${api}/pods/echo:http/proxy/`]), 'served through the API\n', 'a Pod by its port\'s name');
  t.is(await ok(['get', '--raw', `${api}/pods/http:echo:8080/proxy/index.html`]), 'served through the API\n', 'a Pod by scheme, name and port number');
  t.is(await ok(['get', '--raw', `${api}/services/echo:web/proxy/cgi-bin/echo?a=1`]), 'GET a=1\n', 'a Service by its port\'s name, with the query');
  t.is(await ok(['get', '--raw', `${api}/services/echo:80/proxy/index.html`]), 'served through the API\n', 'a Service by its port number');
  const none = await k(['get', '--raw', `${api}/services/nobody/proxy/`]);
  t.not(none.code, 0);
  t.regex(none.err, /no endpoints available for service "nobody"/);

  // kubectl proxy: the API on a local port, without credentials; the Pod's own statuses come back.
  const port = await freePort();
  const proxy = k.spawn(['proxy', `--port=${port}`]);
  t.teardown(() => proxy.proc.kill());
  await waitFor('kubectl proxy listening', async () => proxy.output().includes(`127.0.0.1:${port}`));
  const posted = await fetch(`http://127.0.0.1:${port}${api}/services/echo:web/proxy/cgi-bin/echo?b=2`, { method: 'POST', body: 'a posted body' });
  t.is(posted.status, 200);
  t.is(await posted.text(), 'POST b=2\na posted body');
  const put = await fetch(`http://127.0.0.1:${port}${api}/pods/echo:8080/proxy/cgi-bin/echo`, { method: 'PUT', body: 'put' });
  t.is(await put.text(), 'PUT\nput');
  t.is((await fetch(`http://127.0.0.1:${port}${api}/pods/echo:8080/proxy/missing`)).status, 404, 'the Pod\'s 404, passed on');

  // Authorised as pods/proxy: reading Pods is not enough.
  await ok(['create', 'serviceaccount', 'viewer', '-n', ns]);
  await ok(['create', 'role', 'pod-reader', '--verb=get', '--resource=pods', '-n', ns]);
  await ok(['create', 'rolebinding', 'viewer-reads', '--role=pod-reader', `--serviceaccount=${ns}:viewer`, '-n', ns]);
  const viewer = `--as=system:serviceaccount:${ns}:viewer`;
  await ok(['get', 'pod', 'echo', '-n', ns, viewer]);
  const refused = await k(['get', '--raw', `${api}/pods/echo:http/proxy/`, viewer]);
  t.not(refused.code, 0);
  t.regex(refused.err, /forbidden/i);
  t.regex(refused.err, /pods\/proxy/);
  // Kubernetes' edit role allows it.
  await ok(['create', 'serviceaccount', 'editor', '-n', ns]);
  await ok(['create', 'rolebinding', 'editor-edits', '--clusterrole=edit', `--serviceaccount=${ns}:editor`, '-n', ns]);
  t.is(await ok(['get', '--raw', `${api}/services/echo:web/proxy/`, `--as=system:serviceaccount:${ns}:editor`]), 'served through the API\n');
  await ok(['delete', 'namespace', ns, '--wait=false']);
});

test.serial("gouvernail exec speaks the same WebSocket protocol: stdin, the exit code, a terminal", async (t) => {
  const ns = 'streams-own';
  await server.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await server.client.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'own', namespace: ns }, spec: { containers: [{ name: 'c', image, command: ['sleep', '3600'] }] } });
  await waitFor('the Pod ready', async () => (await server.client.get('Pod', ns, 'own'))?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'));
  const code = await runCli('exec', 'own', '-n', ns, '--kubeconfig', server.kubeconfig, '--', 'sh', '-c', 'echo own exec; exit 4');
  t.is(code.code, 4);
  t.is(code.out, 'own exec\n');
  const pty = await underPty(`${process.execPath} ${path.join(process.cwd(), 'dist', 'src', 'cli', 'main.js')} exec own -n ${ns} -i -t --kubeconfig ${server.kubeconfig} -- sh -c 'tty'`, {});
  t.regex(pty.out, /\/dev\/pts\/\d+/);

  // Only into a running container, as the kubelet: one that has finished is refused, saying why.
  await server.client.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'halfdone', namespace: ns }, spec: { restartPolicy: 'Never', containers: [{ name: 'main', image, command: ['sleep', '3600'] }, { name: 'once', image, command: ['true'] }] } });
  await waitFor('the second container finished', async () => (await server.client.get('Pod', ns, 'halfdone'))?.status?.containerStatuses?.find((c: { name: string }) => c.name === 'once')?.state?.terminated);
  const refused = await runCli('exec', 'halfdone', '-n', ns, '-c', 'once', '--kubeconfig', server.kubeconfig, '--', 'true');
  t.not(refused.code, 0);
  t.regex(refused.err, /container once in pod halfdone is not running \(terminated: Completed\)/);
});
