import test from 'ava';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { createRequire } from 'node:module';
import { buildApi } from '../src/server/app.js';
import { ObjectStore } from '../src/store/object-store.js';
import { DeliveryLog, matchApplications, normalizeRepoUrl, readDelivery } from '../src/sync/webhooks.js';
import { tempDir } from './helpers.js';

const examples = createRequire(import.meta.url)('@octokit/webhooks-examples') as unknown;
const secret = 'webhook-secret-for-tests';
const examplesOf = (name: string) => (examples as unknown as { name: string; examples: any[] }[]).find((e) => e.name === name)!.examples;
/** GitHub's published push example, with its branch push pointed at a repository of ours. */
function pushPayload(repoURL = 'https://git.example.test/team/app.git', ref = 'refs/heads/main') {
  const p = structuredClone(examplesOf('push')[4]);
  p.repository.clone_url = repoURL;
  p.repository.html_url = repoURL.replace(/\.git$/, '');
  p.repository.ssh_url = repoURL.replace(/^https?:\/\/([^/]+)\//, 'git@$1:');
  p.ref = ref;
  return p;
}

function setup(withSecret = true) {
  const store = ObjectStore.open(path.join(tempDir(), 'state.db'));
  const started: string[] = [];
  const deliveries = new DeliveryLog();
  const app = buildApi({ store, tokens: ['t'], webhookSecret: withSecret ? secret : undefined, deliveries, syncApplication: (ns, name) => started.push(`${ns}/${name}`) });
  const application = (name: string, repoURL: string, targetRevision = 'main') =>
    store.create({ apiVersion: 'gouvernail.io/v1', kind: 'Application', metadata: { name, namespace: 'default' }, spec: { source: { repoURL, targetRevision, path: '.' }, syncPolicy: { automated: true } } });
  return { app, store, started, deliveries, application };
}

const sign = (body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
const github = (body: string, headers: Record<string, string> = {}) => ({
  method: 'POST' as const,
  url: '/api/webhooks/github',
  payload: body,
  headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': `d-${Math.random()}`, 'x-hub-signature-256': sign(body), ...headers },
});

test('a signed GitHub push starts a sync of the Applications that follow that repository and branch, at once (202)', async (t) => {
  const { app, started, application } = setup();
  application('follows', 'http://user:pw@git.example.test/team/app');
  application('other-branch', 'https://git.example.test/team/app.git', 'release');
  application('other-repo', 'https://git.example.test/team/other.git');
  const r = await app.inject(github(JSON.stringify(pushPayload())));
  t.is(r.statusCode, 202);
  t.deepEqual(r.json().matched, ['default/follows']);
  t.deepEqual(started, ['default/follows']);
});

test('a missing or wrong signature is 401; no secret configured refuses every webhook', async (t) => {
  const { app, started, application } = setup();
  application('follows', 'https://git.example.test/team/app.git');
  const body = JSON.stringify(pushPayload());
  t.is((await app.inject(github(body, { 'x-hub-signature-256': '' }))).statusCode, 401);
  t.is((await app.inject(github(body, { 'x-hub-signature-256': sign(`${body} `) }))).statusCode, 401);
  t.is((await app.inject(github(body, { 'x-hub-signature-256': 'sha256=00' }))).statusCode, 401);
  t.deepEqual(started, []);
  const open = setup(false);
  open.application('follows', 'https://git.example.test/team/app.git');
  const refused = await open.app.inject(github(body));
  t.is(refused.statusCode, 403);
  t.regex(refused.json().outcome, /no webhook secret is configured/);
  t.deepEqual(open.started, []);
});

test('a body over 1 MiB is 413', async (t) => {
  const { app } = setup();
  const big = JSON.stringify({ ...pushPayload(), padding: 'x'.repeat(1024 * 1024) });
  const r = await app.inject(github(big));
  t.is(r.statusCode, 413);
});

test('an unmatched repository starts nothing, and the delivery log says why', async (t) => {
  const { app, started, deliveries, application } = setup();
  application('follows', 'https://git.example.test/team/app.git');
  const r = await app.inject(github(JSON.stringify(pushPayload('https://git.example.test/someone/else.git'))));
  t.is(r.statusCode, 202);
  t.deepEqual(r.json().matched, []);
  t.deepEqual(started, []);
  const last = deliveries.list()[0]!;
  t.like(last, { provider: 'github', event: 'push', status: 202, matched: [] });
  t.regex(last.outcome, /no Application follows Codertocat\/Hello-World at refs\/heads\/main; nothing started/);
  const listed = await app.inject({ method: 'GET', url: '/api/v1/webhook-deliveries', headers: { authorization: 'Bearer t' } });
  t.is(listed.json().items.length, 1);
});

test('a redelivery with the same X-GitHub-Delivery is handled once', async (t) => {
  const { app, started, application } = setup();
  application('follows', 'https://git.example.test/team/app.git');
  const body = JSON.stringify(pushPayload());
  const first = await app.inject(github(body, { 'x-github-delivery': 'same-id' }));
  const again = await app.inject(github(body, { 'x-github-delivery': 'same-id' }));
  t.is(first.statusCode, 202);
  t.is(again.statusCode, 200);
  t.regex(again.json().outcome, /duplicate delivery/);
  t.deepEqual(started, ['default/follows']);
});

test('ping answers pong; GitHub\'s example tag pushes do not match a branch', async (t) => {
  const { app, started, application } = setup();
  application('follows', 'https://github.com/Codertocat/Hello-World.git', 'master');
  const ping = JSON.stringify(examplesOf('ping')[0]);
  const r = await app.inject(github(ping, { 'x-github-event': 'ping' }));
  t.is(r.statusCode, 200);
  t.is(r.json().outcome, 'pong');
  for (const example of examplesOf('push')) {
    await app.inject(github(JSON.stringify(example)));
  }
  // Two of GitHub's seven push examples are to refs/heads/master; five are tags.
  t.deepEqual(started, ['default/follows', 'default/follows']);
});

test('GitLab (X-Gitlab-Token) and Gitea (X-Gitea-Signature) deliveries are verified the same way', async (t) => {
  const { app, started, application } = setup();
  application('follows', 'https://git.example.test/team/app.git');
  const gitlabBody = JSON.stringify({ object_kind: 'push', ref: 'refs/heads/main', project: { path_with_namespace: 'team/app', git_http_url: 'https://git.example.test/team/app.git', default_branch: 'main' } });
  const gitlab = (token: string) => app.inject({ method: 'POST', url: '/api/webhooks/gitlab', payload: gitlabBody, headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': token, 'x-gitlab-event-uuid': `u-${token}` } });
  t.is((await gitlab('wrong')).statusCode, 401);
  t.is((await gitlab(secret)).statusCode, 202);
  const giteaBody = JSON.stringify({ ref: 'refs/heads/main', repository: { full_name: 'team/app', clone_url: 'https://git.example.test/team/app.git' } });
  const gitea = (sig: string) => app.inject({ method: 'POST', url: '/api/webhooks/gitea', payload: giteaBody, headers: { 'content-type': 'application/json', 'x-gitea-event': 'push', 'x-gitea-signature': sig, 'x-gitea-delivery': sig.slice(0, 8) } });
  t.is((await gitea('deadbeef')).statusCode, 401);
  t.is((await gitea(createHmac('sha256', secret).update(giteaBody).digest('hex'))).statusCode, 202);
  t.deepEqual(started, ['default/follows', 'default/follows']);
});

test('repository URLs are compared by host and path', (t) => {
  t.is(normalizeRepoUrl('https://user:tok@GitHub.com/Org/Repo.git/'), 'github.com/org/repo');
  t.is(normalizeRepoUrl('git@github.com:org/repo.git'), 'github.com/org/repo');
  t.is(normalizeRepoUrl('http://127.0.0.1:8080/x.git'), '127.0.0.1:8080/x');
  const hint = readDelivery('github', { 'x-github-event': 'push', 'x-github-delivery': '1' }, pushPayload());
  t.deepEqual(matchApplications([{ apiVersion: 'gouvernail.io/v1', kind: 'Application', metadata: { name: 'a' }, spec: { source: { repoURL: 'git@git.example.test:team/app.git', targetRevision: 'HEAD' } } }], { ...hint, defaultBranch: 'main' }).length, 1);
});
