import test from 'ava';
import { symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fetchGitRevision, GitFetchError } from '../src/sync/git-source.js';
import { makeRepo, startGitServer } from './git-helpers.js';
import { parseSnapshot } from '../src/manifest/load.js';
import { tempDir } from './helpers.js';

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\n`;

test('fetches a branch over HTTP from a real git server, then the next commit incrementally', async (t) => {
  const server = await startGitServer();
  t.teardown(() => server.close());
  const repo = makeRepo(server, 'app.git');
  repo.write('manifests/a.yaml', cm('a'));
  repo.write('manifests/sub/b.yml', cm('b'));
  repo.write('manifests/README.md', 'not a manifest');
  repo.write('other/c.yaml', cm('c'));
  const first = await repo.commit('first commit\n\nbody');
  const cache = tempDir();
  const spec = { repoURL: server.url('app.git'), targetRevision: 'main', path: 'manifests' };
  const r1 = await fetchGitRevision(spec, cache);
  t.is(r1.revision, first);
  t.deepEqual(r1.files.map((f) => f.path), ['a.yaml', 'sub/b.yml']);
  t.deepEqual(r1.commit, { sha: first, message: 'first commit', author: 'Dev <dev@example.com>' });
  repo.write('manifests/a.yaml', cm('a2'));
  const second = await repo.commit('second');
  const r2 = await fetchGitRevision(spec, cache);
  t.is(r2.revision, second);
  t.regex(r2.files[0]!.text, /name: a2/);
  t.is((await fetchGitRevision({ ...spec, targetRevision: first }, cache)).revision, first, 'a commit SHA as targetRevision');
});

test('credentials come from a file, and the URL is redacted from every error', async (t) => {
  const server = await startGitServer({ token: 's3cret-token' });
  t.teardown(() => server.close());
  makeRepo(server, 'private.git');
  const dir = tempDir();
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, 's3cret-token\n');
  const url = server.url('private.git');
  const missing = await t.throwsAsync(fetchGitRevision({ repoURL: url }, tempDir()), { instanceOf: GitFetchError });
  t.regex(missing!.message, /cannot fetch http:\/\/127\.0\.0\.1:\d+\/private\.git/);
  const withPassword = url.replace('http://', 'http://user:hunter2@');
  const wrong = await t.throwsAsync(fetchGitRevision({ repoURL: withPassword }, tempDir()));
  t.false(wrong!.message.includes('hunter2'), wrong!.message);
  t.regex(wrong!.message, /\*\*\*@127\.0\.0\.1/);
  // An empty repository answers, but has no branch to read.
  const empty = await t.throwsAsync(fetchGitRevision({ repoURL: url, credentials: { tokenFile } }, tempDir()));
  t.notRegex(empty!.message, /401|unauthorized/i);
  // The same from a Secret's values, as an Application's secretRef gives them.
  const fromSecret = await t.throwsAsync(fetchGitRevision({ repoURL: url, credentials: { secretRef: { name: 'x' }, secret: { password: 's3cret-token' } } }, tempDir()));
  t.notRegex(fromSecret!.message, /401|unauthorized/i);
  const wrongSecret = await t.throwsAsync(fetchGitRevision({ repoURL: url, credentials: { secretRef: { name: 'x' }, secret: { password: 'nope' } } }, tempDir()));
  t.regex(wrongSecret!.message, /401|unauthorized|cancel/i);
});

test('an unreachable server is a fetch error, not an empty revision', async (t) => {
  const server = await startGitServer();
  const url = server.url('gone.git');
  await server.close();
  const err = await t.throwsAsync(fetchGitRevision({ repoURL: url }, tempDir()), { instanceOf: GitFetchError });
  t.regex(err!.message, /cannot fetch/);
});

test('a symlink out of the source path or into .git fails the revision; one inside is read', async (t) => {
  const server = await startGitServer();
  t.teardown(() => server.close());
  const repo = makeRepo(server, 'links.git');
  repo.write('manifests/real.yaml', cm('real'));
  repo.write('secrets/key.yaml', cm('outside'));
  symlinkSync('../secrets/key.yaml', path.join(repo.work, 'manifests', 'escape.yaml'));
  symlinkSync('../.git/config', path.join(repo.work, 'manifests', 'config.yaml'));
  symlinkSync('real.yaml', path.join(repo.work, 'manifests', 'alias.yaml'));
  await repo.commit('links');
  const r = await fetchGitRevision({ repoURL: server.url('links.git'), path: 'manifests' }, tempDir());
  t.deepEqual(r.problems.map((p) => [p.file, p.code]), [['config.yaml', 'ManifestOutsideRoot'], ['escape.yaml', 'ManifestOutsideRoot']]);
  t.deepEqual(r.files.map((f) => f.path), ['alias.yaml', 'real.yaml']);
});

test('a local repository path is read in place', async (t) => {
  const server = await startGitServer();
  t.teardown(() => server.close());
  const repo = makeRepo(server, 'local.git');
  repo.write('a.yaml', cm('a'));
  const sha = await repo.commit('local');
  const r = await fetchGitRevision({ repoURL: repo.work, targetRevision: 'main' }, tempDir());
  t.is(r.revision, sha);
  t.deepEqual(r.files.map((f) => f.path), ['a.yaml']);
});

test('a kustomize overlay on ../../base is read with the repository as its root, and builds', async (t) => {
  const server = await startGitServer();
  t.teardown(() => server.close());
  const repo = makeRepo(server, 'overlay.git');
  repo.write('base/kustomization.yaml', 'resources: [settings.yaml]\n');
  repo.write('base/settings.yaml', cm('settings'));
  repo.write('overlays/prod/kustomization.yaml', 'resources: [../../base]\nnamePrefix: prod-\n');
  repo.write('elsewhere/ignored.yaml', cm('not-read'));
  await repo.commit('overlay');
  const r = await fetchGitRevision({ repoURL: server.url('overlay.git'), targetRevision: 'main', path: 'overlays/prod' }, tempDir());
  t.is(r.base, 'overlays/prod');
  const set = parseSnapshot(r.files, undefined, r.base);
  t.deepEqual(set.problems, []);
  t.deepEqual(set.manifests.map((m) => m.object.metadata.name), ['prod-settings']);
});
