import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { clusterDnsAddress } from '../src/api/cluster-ip.js';
import { label } from '../src/runtime/labels.js';
import { docker, ensureImage, image, removeDockerObjects, serviceRangeFor, spawnServe, waitFor, stopProcess } from './docker-helpers.js';
import { tempDir } from './helpers.js';

test('serve says so when another installation on the engine has its cluster DNS address', async (t) => {
  t.timeout(300_000);
  await ensureImage();
  const dataDir = tempDir();
  const address = clusterDnsAddress(serviceRangeFor(dataDir));
  // Another installation's network component, left running, made for this serve's address.
  const other = await docker.createContainer({
    name: `gv-test-other-component-${process.pid}`,
    Image: image,
    Cmd: ['sleep', '600'],
    Env: [`GV_DNS_ADDRESS=${address}`],
    Labels: { [label.managedBy]: 'elsewhere', [label.component]: 'network' },
  });
  const serve = spawnServe(dataDir);
  t.teardown(async () => {
    await stopProcess(serve, 'SIGKILL');
    await other.remove({ force: true });
    if (existsSync(path.join(dataDir, 'installation-id'))) await removeDockerObjects(readFileSync(path.join(dataDir, 'installation-id'), 'utf8').trim());
  });
  const line = await waitFor('the warning in the log', async () => {
    const log = existsSync(path.join(dataDir, 'serve.log')) ? readFileSync(path.join(dataDir, 'serve.log'), 'utf8') : '';
    return log.split('\n').find((l) => l.includes('same cluster DNS address'));
  }, 180_000, 500);
  const entry = JSON.parse(line) as Record<string, unknown>;
  t.is(entry.address, address);
  t.is(entry.installation, 'elsewhere');
  t.is(entry.container, `gv-test-other-component-${process.pid}`);
  t.regex(entry.msg as string, /--service-cluster-ip-range/);
});
