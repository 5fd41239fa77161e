import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { runCli, startServer, waitFor } from './docker-helpers.js';
import { tempDir } from './helpers.js';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const run = promisify(execFile);

test.serial('git push to a hosted Application deploys at once; a push without the token is refused', async (t) => {
  const server = await startServer(undefined, { insecureHttp: true });
  t.teardown(() => server.destroy());
  const created = await runCli('app', 'create', 'shop', '--hosted', '--prune', '--kubeconfig', server.kubeconfig);
  t.is(created.code, 0, created.err);
  const url = `${server.url}/git/shop.git`;
  t.regex(created.out, new RegExp(`push to deploy: git push ${url.replace(/[.]/g, '\\.')} main`));
  const waiting = await waitFor('the waiting status', async () => {
    const a = await server.client.get('Application', 'default', 'shop');
    return a?.status?.operation?.phase === 'Waiting' ? a : undefined;
  });
  t.regex(waiting.status.operation.message, /waiting for the first push: git push http:\/\/127\.0\.0\.1:\d+\/git\/shop\.git main/);

  const work = tempDir();
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', ...args], { cwd: work, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  writeFileSync(path.join(work, 'config.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: pushed }\ndata: { v: "1" }\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'first push');
  const sha = git('rev-parse', 'HEAD');

  const denied = await t.throwsAsync(run('git', ['push', '-q', url.replace('http://', 'http://dev:wrong-token@'), 'main'], { cwd: work, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } }));
  t.regex(String((denied as { stderr?: string }).stderr), /Authentication failed|401/);

  const pushedAt = Date.now();
  await run('git', ['push', '-q', url.replace('http://', `http://dev:${server.token}@`), 'main'], { cwd: work });
  const app = await waitFor('the pushed revision applied', async () => {
    const a = await server.client.get('Application', 'default', 'shop');
    return a?.status?.lastAppliedRevision === sha ? a : undefined;
  }, 20_000, 50);
  t.log(`push to applied: ${Date.now() - pushedAt} ms`);
  t.is(app.status.lastAppliedCommit.message, 'first push');
  t.is((await server.client.get('ConfigMap', 'default', 'pushed'))!.data!.v, '1');
});

test.serial('app rollback pins an earlier revision until a new commit arrives; app resume releases it', async (t) => {
  const server = await startServer(undefined, { insecureHttp: true });
  t.teardown(() => server.destroy());
  const k = (...args: string[]) => runCli('app', ...args, '--kubeconfig', server.kubeconfig);
  await k('create', 'pinned', '--hosted');
  const work = tempDir();
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', ...args], { cwd: work, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  const remote = `${server.url}/git/pinned.git`.replace('http://', `http://dev:${server.token}@`);
  const release = async (v: string) => {
    writeFileSync(path.join(work, 'config.yaml'), `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: release }\ndata: { v: "${v}" }\n`);
    git('add', '-A');
    git('commit', '-q', '-m', `release ${v}`);
    await run('git', ['push', '-q', remote, 'main'], { cwd: work });
    const sha = git('rev-parse', 'HEAD');
    await live(v);
    return sha;
  };
  const live = (v: string) => waitFor(`v${v} live`, async () => (await server.client.get('ConfigMap', 'default', 'release'))?.data?.v === v);
  const v1 = await release('1');
  await release('2');
  const back = await k('rollback', 'pinned');
  t.is(back.code, 0, back.err);
  t.regex(back.out, new RegExp(`rolled back to ${v1}`));
  await live('1');
  // A sync now, or the poll, leaves it there.
  await k('sync', 'pinned');
  await new Promise((r) => setTimeout(r, 1000));
  t.is((await server.client.get('ConfigMap', 'default', 'release'))!.data!.v, '1');
  const pinned = await server.client.get('Application', 'default', 'pinned');
  t.regex(pinned!.status.operation.message, /pinned by a rollback/);
  // A new commit releases the pin.
  await release('3');
  t.is((await server.client.get('Application', 'default', 'pinned'))!.metadata.annotations?.['gouvernail.io/pinned-revision'], undefined);
  // Rollback to a named revision, then resume.
  t.is((await k('rollback', 'pinned', v1.slice(0, 10))).code, 0);
  await live('1');
  t.regex((await k('resume', 'pinned')).out, /follows its branch again/);
  await live('3');
  const history = await k('history', 'pinned');
  t.true(history.out.split('\n').length >= 6);
});
