import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { containersOf, docker, freePort, runCli, serviceRangeFor, startServer, waitFor } from './docker-helpers.js';
import { image } from './docker-helpers.js';
import { tempDir } from './helpers.js';

const ns = 'teardown';

/** What this host's network holds of an installation: its chains and hooks, its loopback addresses, its Pods' veths. */
function hostNetworkOf(installation: string, dnsAddress: string): string[] {
  const id = installation.slice(0, 12).toUpperCase();
  const found: string[] = [];
  for (const cmd of ['iptables-nft', 'iptables-legacy']) {
    for (const table of ['nat', 'filter']) {
      const listed = spawnSync(cmd, ['-w', '-t', table, '-S'], { encoding: 'utf8' });
      for (const line of (listed.stdout ?? '').split('\n')) if (line.includes(`-${id}`)) found.push(`${cmd} ${table}: ${line}`);
    }
  }
  const lo = spawnSync('ip', ['-4', '-o', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' }).stdout;
  if (lo.includes(` ${dnsAddress}/32 `)) found.push(`lo: ${dnsAddress}`);
  for (const line of spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout.split('\n')) {
    if (line.includes(`: gv${installation.slice(0, 4)}`)) found.push(`link: ${line.split(':')[1]!.trim()}`);
  }
  return found;
}

test('gouvernail down removes what an installation runs and put on the host, keeps volumes unless asked, refuses while serve runs, and serve makes it all again', async (t) => {
  t.timeout(300_000);
  const dataDir = tempDir();
  const port = await freePort();
  let server = await startServer(dataDir, { port });
  const installation = server.installation;
  const byHand = `gv-teardown-by-hand-${installation}`;
  t.teardown(async () => {
    await server.destroy();
    await docker.getVolume(byHand).remove().catch(() => {});
    await docker.getVolume('gv-pvc-teardown-keep').remove().catch(() => {});
  });
  const { client } = server;
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await client.apply({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'keep', namespace: ns }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
  await client.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: ns, labels: { app: 'web' } },
    spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image, command: ['sh', '-c', 'mkdir -p /w; echo up > /w/index.html; exec httpd -f -p 8080 -h /w'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'keep' } }] },
  });
  await client.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: ns }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } });
  const ip = await waitFor('the Pod running with its address', async () => {
    const p = await client.get('Pod', ns, 'web');
    return p?.status?.phase === 'Running' && (p.status.podIP as string | undefined);
  }, 120_000);
  const dnsAddress = serviceRangeFor(dataDir).replace(/\.0\/24$/, '.10');
  await waitFor('the installation on the host network', async () => hostNetworkOf(installation, dnsAddress).some((l) => l.startsWith('link:')) && hostNetworkOf(installation, dnsAddress).some((l) => l.includes('GV-SVC')));
  // A volume with the installation's label that Gouvernail did not make: never removed.
  await docker.createVolume({ Name: byHand, Labels: { 'gouvernail.io/managed-by': installation } });

  const refused = await runCli('down', '--data-dir', dataDir);
  t.is(refused.code, 2);
  t.regex(refused.err, /serve is running on .* stop it first/);
  t.true((await containersOf(installation, ns)).length > 0, 'nothing removed while serve runs');

  await server.close();
  t.true(readdirSync(path.join(dataDir, 'pods')).length > 0, "the Pod's files (its service account token) are in the data folder");
  const down = await runCli('down', '--data-dir', dataDir);
  t.is(down.code, 0, down.err);
  t.regex(down.out, /removed [1-9]\d* containers, 0 networks, 0 volumes and [1-9]\d* host network entries/);
  t.deepEqual(await docker.listContainers({ all: true, filters: { label: [`gouvernail.io/managed-by=${installation}`] } }), []);
  t.deepEqual(hostNetworkOf(installation, dnsAddress), []);
  t.truthy(await docker.getVolume('gv-pvc-teardown-keep').inspect(), 'volumes are kept without --volumes');
  t.regex(down.err, /volumes: kept 1 \(--volumes removes them\)/);
  t.false(existsSync(path.join(dataDir, 'pods')), "the Pods' files went with their containers");
  t.regex(down.err, /removed the Pods' files \(service account tokens\)/);

  const withVolumes = await runCli('down', '--data-dir', dataDir, '--volumes');
  t.is(withVolumes.code, 0, withVolumes.err);
  t.regex(withVolumes.out, /removed 0 containers, 0 networks, 1 volumes/);
  await t.throwsAsync(docker.getVolume('gv-pvc-teardown-keep').inspect());
  t.truthy(await docker.getVolume(byHand).inspect(), 'a volume Gouvernail did not make stays');

  // The store was kept: serve makes it all again, at the same address.
  server = await startServer(dataDir, { port });
  await waitFor('the Pod answering again', async () => (await fetch(`http://${ip}:8080/`, { signal: AbortSignal.timeout(2000) }).then((r) => r.text(), () => '')) === 'up\n', 120_000);
  const token = await waitFor('its service account token written again', async () => {
    const dir = path.join(dataDir, 'pods');
    const uid = existsSync(dir) ? readdirSync(dir)[0] : undefined;
    const file = uid ? path.join(dir, uid, 'serviceaccount', 'token') : undefined;
    return file && existsSync(file) ? file : undefined;
  });
  t.truthy(token);
});
