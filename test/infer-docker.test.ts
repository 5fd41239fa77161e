import test from 'ava';
import { cp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { label } from '../src/runtime/labels.js';
import { containersOf, docker, image, isReady, runCli, startServer, waitFor } from './docker-helpers.js';
import { fixture, tempDir } from './helpers.js';

/** A stand-in for a public image: busybox that sleeps, as the image's own command would run. */
async function standIn(tag: string): Promise<void> {
  if (await docker.getImage(tag).inspect().catch(() => undefined)) return;
  const c = await docker.createContainer({ Image: image, Cmd: ['true'] });
  await c.commit({ repo: tag.split(':')[0], tag: tag.split(':')[1], changes: 'CMD ["sleep", "3600"]' });
  await c.remove();
}

test.serial("the tutorial's WordPress as published: WordPress's container is created only once the MySQL Pod is ready", async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  await standIn('gouvernail-test/mysql-standin:1');
  await standIn('gouvernail-test/wordpress-standin:1');
  // The manifests as published; a kustomization only points their images at the stand-ins.
  const dir = tempDir();
  await cp(fixture('k8s-wordpress-tutorial'), dir, { recursive: true });
  await writeFile(path.join(dir, 'kustomization.yaml'), `resources: [mysql-deployment.yaml, wordpress-deployment.yaml, secret.yaml]
images:
  - { name: mysql, newName: gouvernail-test/mysql-standin, newTag: "1" }
  - { name: wordpress, newName: gouvernail-test/wordpress-standin, newTag: "1" }
`);
  const planned = await runCli('plan', '-f', dir);
  t.is(planned.code, 0, planned.err);
  t.regex(planned.out, /after Service\/wordpress-mysql has a ready endpoint \(inferred: env WORDPRESS_DB_HOST names Service\/wordpress-mysql\)/);
  const applied = await runCli('apply', '-f', dir, '--kubeconfig', server.kubeconfig, '--timeout', '120s');
  t.is(applied.code, 0, applied.out + applied.err);
  t.regex(applied.out, /waiting for .*Service\/wordpress-mysql/);

  const mysqlPod = (await server.client.list('Pod', 'default', 'app=wordpress,tier=mysql'))[0]!;
  t.true(isReady(mysqlPod));
  const readyAt = Date.parse(mysqlPod.status.conditions.find((c: { type: string }) => c.type === 'Ready').lastTransitionTime);
  const wordpress = await waitFor('the WordPress container', async () => (await containersOf(server.installation, 'default')).find((c) => c.Labels[label.pod]?.startsWith('wordpress-') && !c.Labels[label.pod]?.startsWith('wordpress-mysql')));
  const createdAt = Date.parse((await docker.getContainer(wordpress.Id).inspect()).Created);
  t.true(createdAt >= readyAt, `WordPress's container was created at ${new Date(createdAt).toISOString()}, MySQL's Pod was ready at ${new Date(readyAt).toISOString()}`);
});
