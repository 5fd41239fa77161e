import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { containersOf, image, runCli, startServer, waitFor } from './docker-helpers.js';
import { tempDir } from './helpers.js';

const run = promisify(execFile);
const ns = 'preview';

const web = (tag: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${ns} }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [{ name: web, image: "${tag}", command: ["sleep", "3600"] }]
`;

test.serial('diff --revision on a hosted Application shows what a branch would change (an image, a pruned ConfigMap, a Secret masked), applying nothing', async (t) => {
  const server = await startServer(undefined, { insecureHttp: true });
  t.teardown(() => server.destroy());
  t.is((await runCli('app', 'create', 'shop', '--hosted', '--prune', '--kubeconfig', server.kubeconfig)).code, 0);
  const work = tempDir();
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', ...args], { cwd: work, encoding: 'utf8' }).trim();
  const remote = `${server.url}/git/shop.git`.replace('http://', `http://dev:${server.token}@`);
  git('init', '-q', '-b', 'main');
  writeFileSync(path.join(work, 'ns.yaml'), `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${ns} }\n`);
  writeFileSync(path.join(work, 'web.yaml'), web(image));
  writeFileSync(path.join(work, 'extra.yaml'), `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: extra, namespace: ${ns} }\ndata: { v: "1" }\n`);
  writeFileSync(path.join(work, 'creds.yaml'), `apiVersion: v1\nkind: Secret\nmetadata: { name: creds, namespace: ${ns} }\nstringData: { password: preview-old-secret }\n`);
  git('add', '-A');
  git('commit', '-q', '-m', 'first');
  const first = git('rev-parse', 'HEAD');
  await run('git', ['push', '-q', remote, 'main'], { cwd: work });
  await waitFor('the first revision applied', async () => (await server.client.get('Application', 'default', 'shop'))?.status?.lastAppliedRevision === first, 60_000);
  const before = await waitFor('web running', async () => {
    const list = await containersOf(server.installation, ns);
    return list.length === 1 && list[0]!.State === 'running' ? list : undefined;
  });

  // A pull request's branch: a new image, the ConfigMap gone, a new password.
  git('checkout', '-q', '-b', 'feature');
  writeFileSync(path.join(work, 'web.yaml'), web('gouvernail-example/busybox:2'));
  rmSync(path.join(work, 'extra.yaml'));
  writeFileSync(path.join(work, 'creds.yaml'), `apiVersion: v1\nkind: Secret\nmetadata: { name: creds, namespace: ${ns} }\nstringData: { password: preview-new-secret }\n`);
  git('add', '-A');
  git('commit', '-q', '-m', 'bump web');
  const feature = git('rev-parse', 'HEAD');
  await run('git', ['push', '-q', remote, 'feature'], { cwd: work });

  const preview = await runCli('diff', 'shop', '--revision', 'feature', '--kubeconfig', server.kubeconfig);
  t.is(preview.code, 1, preview.err);
  t.regex(preview.out, new RegExp(`revision ${feature} \\(bump web, Dev <dev@example.com>\\)`));
  t.regex(preview.out, /~ Deployment\/preview\/web\n\s+~ spec\.template\.spec\.containers\[web\]\.image: "gouvernail-example\/busybox:1" -> "gouvernail-example\/busybox:2"/);
  t.regex(preview.out, /- ConfigMap\/preview\/extra/);
  t.regex(preview.out, /data\.password: \*\*\* \(hidden\) -> \*\*\* \(hidden\)/);
  t.false(preview.out.includes('preview-new-secret') || preview.out.includes(Buffer.from('preview-new-secret').toString('base64')));
  const asJson = JSON.parse((await runCli('diff', 'shop', '--revision', feature.slice(0, 40), '-o', 'json', '--kubeconfig', server.kubeconfig)).out);
  t.deepEqual(asJson.diff.counts, { create: 0, update: 2, unchanged: 1, prune: 1 });

  // Nothing was applied: the same container runs, the ConfigMap is there, the Application is where it was.
  const after = await containersOf(server.installation, ns);
  t.deepEqual(after.map((c) => c.Id), before.map((c) => c.Id));
  t.truthy(await server.client.get('ConfigMap', ns, 'extra'));
  t.is((await server.client.get('Application', 'default', 'shop'))!.status.lastAppliedRevision, first);
  const missing = await runCli('diff', 'shop', '--revision', 'no-such-branch', '--kubeconfig', server.kubeconfig);
  t.not(missing.code, 0);
  t.regex(missing.err, /no-such-branch.*name a branch, tag or commit/);
});
