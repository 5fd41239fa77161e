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

test.serial("a private registry's image is pulled with the Pod's imagePullSecrets, or its ServiceAccount's; without them it backs off, and the password shows nowhere", async (t) => {
  const password = 'pull-s3cret-value';
  const registry = await startRegistry(['team/private:1'], { username: 'puller', password });
  const server = await startServer();
  const image = `${registry.host}/team/private:1`;
  const removeImage = () => docker.getImage(image).remove({ force: true }).catch(() => {});
  t.teardown(async () => {
    await server.destroy();
    await registry.close();
    await removeImage();
  });
  await removeImage();
  const { client } = server;
  const ns = 'private-pulls';
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const pod = (name: string, pullSecrets?: string[]) => client.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: { containers: [{ name: 'c', image, command: ['sleep', '3600'], imagePullPolicy: 'Always' }], ...(pullSecrets ? { imagePullSecrets: pullSecrets.map((n) => ({ name: n })) } : {}) } });
  const waiting = (name: string, reason: string) => waitFor(`${name}: ${reason}`, async () => {
    const p = await client.get('Pod', ns, name);
    return p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === reason ? p : undefined;
  }, 90_000);
  const ready = (name: string) => waitFor(`${name} ready`, async () => {
    const p = await client.get('Pod', ns, name);
    return p && isReady(p) ? p : undefined;
  }, 90_000);

  // Without credentials, and with a Secret that does not exist: refused by the registry.
  await pod('anonymous');
  await pod('missing-secret', ['nowhere']);
  await client.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'opaque', namespace: ns }, stringData: { password } });
  await pod('opaque-secret', ['opaque']);
  t.regex((await waiting('anonymous', 'ImagePullBackOff')).status.containerStatuses[0].state.waiting.message, /cannot pull .*team\/private:1/);
  await waiting('missing-secret', 'ImagePullBackOff');
  const warned = await waitFor('the missing Secret said', async () => (await client.list('Event', ns)).find((e) => e.reason === 'FailedToRetrieveImagePullSecret' && (e.involvedObject as { name: string }).name === 'missing-secret'), 60_000);
  t.regex(String(warned.message), /Unable to retrieve some image pull secrets \(nowhere\)/);
  const opaque = await waitFor('the Opaque Secret said', async () => (await client.list('Event', ns)).find((e) => e.reason === 'FailedToRetrieveImagePullSecret' && (e.involvedObject as { name: string }).name === 'opaque-secret'), 60_000);
  t.regex(String(opaque.message), /Secret opaque is of type Opaque, not kubernetes\.io\/dockerconfigjson/);
  t.is(registry.pulls.get('team/private:1') ?? 0, 0);

  // A docker-registry Secret, as kubectl create secret docker-registry makes it.
  const config = { auths: { [registry.host]: { username: 'puller', password, auth: Buffer.from(`puller:${password}`).toString('base64') } } };
  await client.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'registry', namespace: ns }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from(JSON.stringify(config)).toString('base64') } });
  await pod('with-secret', ['registry']);
  await ready('with-secret');
  t.is(registry.pulls.get('team/private:1'), 1);

  // The ServiceAccount's Secret serves a Pod that names none.
  await client.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns }, imagePullSecrets: [{ name: 'registry' }] });
  await pod('by-account');
  await ready('by-account');
  t.is(registry.pulls.get('team/private:1'), 2);

  const said = JSON.stringify([await client.list('Event', ns), await client.list('Pod', ns)]);
  t.false(said.includes(password));
  t.false(said.includes(Buffer.from(`puller:${password}`).toString('base64')));
});
