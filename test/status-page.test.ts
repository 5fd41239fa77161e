import test from 'ava';
import { createHmac } from 'node:crypto';
import { chromium } from 'playwright-core';
import { startServer, waitFor } from './docker-helpers.js';
import { makeRepo, startGitServer } from './git-helpers.js';

const secret = 'page-webhook-secret';
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

test.serial('the status page shows a push without a reload, reads without JavaScript, and shows no secret', async (t) => {
  const git = await startGitServer();
  const server = await startServer(undefined, { webhookSecret: secret, insecureHttp: true });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs });
  t.teardown(async () => {
    await browser.close();
    await server.destroy();
    await git.close();
  });
  const repo = makeRepo(git, 'site.git');
  repo.write('app/config.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: site }\ndata: { v: "1" }\n');
  repo.write('app/secret.yaml', 'apiVersion: v1\nkind: Secret\nmetadata: { name: site-creds }\nstringData: { password: page-must-not-show-this }\n');
  const first = await repo.commit('first version of the site');
  await server.client.apply({ apiVersion: 'gouvernail.io/v1', kind: 'Application', metadata: { name: 'site', namespace: 'default' }, spec: { source: { repoURL: git.url('site.git'), targetRevision: 'main', path: 'app' }, syncPolicy: { automated: true, interval: '1h' } } });
  await waitFor('the first sync', async () => (await server.client.get('Application', 'default', 'site'))?.status?.lastAppliedRevision === first);

  const basic = `Basic ${Buffer.from(`admin:${server.token}`).toString('base64')}`;
  t.is((await fetch(`${server.url}/`)).status, 401, 'the page needs the token');
  const html = await (await fetch(`${server.url}/`, { headers: { authorization: basic } })).text();
  t.regex(html, /<td class="Synced">Synced<\/td><td class="Healthy">Healthy<\/td>/);
  t.true(html.includes(first.slice(0, 10)));
  t.regex(html, /<h2>Nodes<\/h2>.*test-node/s);

  const context = await browser.newContext({ httpCredentials: { username: 'admin', password: server.token } });
  const page = await context.newPage();
  await page.goto(`${server.url}/`);
  t.is(await page.locator('tr[data-app="site"] .revision').innerText(), first.slice(0, 10));
  await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

  repo.write('app/config.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: site }\ndata: { v: "2" }\n');
  // With a field Gouvernail does not act on: applied, and warned about on the page (a suspended CronJob makes no Pod).
  repo.write('app/report.yaml', 'apiVersion: batch/v1\nkind: CronJob\nmetadata: { name: report }\nspec:\n  schedule: "0 3 * * *"\n  suspend: true\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          runtimeClassName: gvisor\n          containers: [{ name: report, image: busybox }]\n');
  const second = await repo.commit('second version of the site');
  const payload = { ref: 'refs/heads/main', after: second, repository: { full_name: 'team/site', clone_url: git.url('site.git'), default_branch: 'main' } };
  const body = JSON.stringify(payload);
  const hook = await fetch(`${server.url}/api/webhooks/github`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': 'page-1', 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` } });
  t.is(hook.status, 202);
  await page.waitForFunction((sha) => document.querySelector('tr[data-app="site"] .revision')?.textContent === sha, second.slice(0, 10), { timeout: 20_000 });
  t.true(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded === true), 'the page updated without a reload');
  t.regex(await page.locator('body').innerText(), /second version of the site/);
  t.regex(await page.locator('body').innerText(), /github push/);
  t.regex(await page.locator('tr[data-app="site"] .err').innerText(), /^1 warning \(the Application's page lists them\)$/);

  // Drift by hand: the Application's page shows the difference, Secret values hidden.
  const live = (await server.client.get('ConfigMap', 'default', 'site'))!;
  await server.client.applyKnown({ ...live, data: { v: 'edited by hand' } }, live);
  const creds = (await server.client.get('Secret', 'default', 'site-creds'))!;
  await server.client.applyKnown({ ...creds, data: { password: Buffer.from('another-hidden-value').toString('base64') } }, creds);
  await page.click('text=default/site');
  await page.waitForURL(/\/applications\/default\/site$/);
  const detail = await page.locator('main').innerText();
  t.regex(detail, /Warnings\s+Applied all the same; the revision applied says:\s+report\.yaml:12:11: CronJob\/report: spec\.jobTemplate\.spec\.template\.spec\.runtimeClassName: is not acted on by Gouvernail yet/);
  t.regex(detail, /ConfigMap\s+default\s+site\s+Healthy/);
  t.regex(detail, /Secret\s+default\s+site-creds\s+Healthy/);
  t.regex(detail, /~ ConfigMap\/default\/site\n\s+~ data\.v: "edited by hand" -> "2"/);
  t.regex(detail, /~ data\.password: \*\*\* \(hidden\) -> \*\*\* \(hidden\)/);
  t.regex(detail, /Events[\s\S]*Warning\s+Drift\s+ConfigMap\/default\/site was changed outside the source/);
  t.regex(detail, /Normal\s+Synced\s+revision/);
  // The order of the revision, drawn from the same graph as `plan -o dot|mermaid`.
  const order = await page.locator('svg.plan').innerHTML();
  t.regex(order, />wave 1</);
  t.regex(order, />Secret\/site-creds</);
  t.regex(order, />ConfigMap\/site</);
  t.false(detail.includes('another-hidden-value') || detail.includes(Buffer.from('another-hidden-value').toString('base64')));
  for (const text of [detail, html, await page.content()]) {
    t.false(text.includes('page-must-not-show-this'));
    t.false(text.includes(Buffer.from('page-must-not-show-this').toString('base64')));
  }
  await page.screenshot({ path: '/tmp/gouvernail-status-page.png' });
});
