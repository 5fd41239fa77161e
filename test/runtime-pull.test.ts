import test from 'ava';
import { docker, isReady, runCli, startServer, waitFor } from './docker-helpers.js';
import { startRegistry } from './registry-helpers.js';

test.serial('images are pulled by imagePullPolicy from a registry; one that cannot be pulled is ImagePullBackOff', async (t) => {
  const registry = await startRegistry(['test/pulled:1', 'test/always:1']);
  const server = await startServer();
  const pulled = `${registry.host}/test/pulled:1`;
  const always = `${registry.host}/test/always:1`;
  t.teardown(async () => {
    await server.destroy();
    await registry.close();
    for (const i of [pulled, always]) await docker.getImage(i).remove({ force: true }).catch(() => {});
  });
  for (const i of [pulled, always]) await docker.getImage(i).remove({ force: true }).catch(() => {});
  const { client } = server;
  const ns = 'pulls';
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const pod = (name: string, image: string, imagePullPolicy?: string) => client.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: { containers: [{ name: 'c', image, command: ['sleep', '3600'], ...(imagePullPolicy ? { imagePullPolicy } : {}) }] } });
  await pod('pulled', pulled);
  await waitFor('the pulled image running', async () => {
    const p = await client.get('Pod', ns, 'pulled');
    return p && isReady(p);
  }, 60_000);
  t.truthy(await docker.getImage(pulled).inspect());
  t.is(registry.pulls.get('test/pulled:1'), 1);

  // IfNotPresent does not pull again; Always does.
  await pod('pulled-again', pulled);
  await pod('always', always, 'Always');
  await pod('always-again', always, 'Always');
  await waitFor('both Always Pods ready', async () => {
    const a = await client.get('Pod', ns, 'always');
    const b = await client.get('Pod', ns, 'always-again');
    return a && b && isReady(a) && isReady(b);
  }, 60_000);
  t.is(registry.pulls.get('test/pulled:1'), 1);
  t.is(registry.pulls.get('test/always:1'), 2);

  await pod('missing', `${registry.host}/test/missing:1`);
  const backoff = await waitFor('ImagePullBackOff', async () => {
    const p = await client.get('Pod', ns, 'missing');
    return p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff' ? p : undefined;
  }, 60_000);
  t.regex(backoff.status.containerStatuses[0].state.waiting.message, /cannot pull 127\.0\.0\.1:\d+\/test\/missing:1/);
  t.regex((await runCli('get', 'pods', '-n', ns, '--kubeconfig', server.kubeconfig)).out, /missing\s+0\/1\s+ImagePullBackOff/);
});
