import test from 'ava';
import { rolloutHistory, rolloutUndo } from '../src/apply/rollout.js';
import type { KubeObject } from '../src/manifest/types.js';
import { resourcePath } from '../src/api/resources.js';
import { image, image2, isReady, startServer, waitFor } from './docker-helpers.js';

function webDeployment(ns: string, img: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: ns },
    spec: {
      replicas: 3,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } },
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [{
            name: 'web',
            image: img,
            command: ['sh', '-c', 'sleep 1; mkdir -p /www; echo ok > /www/index.html; exec httpd -f -p 8080 -h /www'],
            ports: [{ name: 'http', containerPort: 8080 }],
            readinessProbe: { httpGet: { path: '/index.html', port: 'http' }, periodSeconds: 1 },
          }],
        },
      },
    },
  };
}

test.serial('a rolling update keeps replicas - maxUnavailable Pods ready throughout, and rollout undo goes back', async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const { client } = server;
  const ns = 'rolling';
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await client.apply(webDeployment(ns, image));
  const images = async () => (await client.list('Pod', ns)).filter(isReady).map((p) => p.spec.containers[0].image);
  await waitFor('3 ready Pods of the first image', async () => (await images()).filter((i) => i === image).length === 3);

  let lowest = 3;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      lowest = Math.min(lowest, (await images()).length);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await client.request('PATCH', resourcePath(client.resource('deployments'), ns, 'web'), { spec: { template: { spec: { containers: [{ ...webDeployment(ns, image2).spec.template.spec.containers[0] }] } } } }, 'application/merge-patch+json');
  await waitFor('3 ready Pods of the new image and no old one', async () => {
    const all = await client.list('Pod', ns);
    return all.length === 3 && all.every((p) => p.spec.containers[0].image === image2 && isReady(p));
  }, 90_000);
  sampling = false;
  await sampler;
  t.true(lowest >= 2, `ready Pods fell to ${lowest} during the rollout (replicas 3, maxUnavailable 1)`);

  const { revisions } = await rolloutHistory(client, ns, 'web');
  t.deepEqual(revisions.map((r) => r.revision), [1, 2]);
  const back = await rolloutUndo(client, ns, 'web');
  t.is(back, 1);
  await waitFor('the first image back on 3 ready Pods', async () => {
    const all = await client.list('Pod', ns);
    return all.length === 3 && all.every((p) => p.spec.containers[0].image === image && isReady(p));
  }, 90_000);
  const after = await rolloutHistory(client, ns, 'web');
  t.is(after.revisions.length, 2, 'undo reuses the old ReplicaSet instead of making a new one');
  t.is(after.revisions.at(-1)!.replicaSet.spec.template.spec.containers[0].image, image);
});
