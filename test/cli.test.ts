import test from 'ava';
import { spawnSync } from 'node:child_process';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadManifests } from '../src/manifest/load.js';
import { keyOf } from '../src/manifest/keys.js';
import { ObjectStore } from '../src/store/object-store.js';
import { folderInventory, inventoryObject } from '../src/apply/inventory.js';
import { fixture, root, tempDir } from './helpers.js';

const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');
const wordpress = path.join(root, 'manifests-example', 'wordpress');

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('validate: exit 0 for a valid folder, 2 with every located error for an invalid one', (t) => {
  const ok = run('validate', '-f', wordpress);
  t.is(ok.code, 0);
  t.regex(ok.out, /valid: 8 objects, 0 errors, 0 warnings/);
  const bad = run('validate', '-f', fixture('invalid'));
  t.is(bad.code, 2);
  t.regex(bad.err, /error: broken-deployment\.yaml:16:11: Deployment\/web: spec\.template\.spec\.containers\[0\]\.image: is required/);
  t.regex(bad.err, /error: second-file\.yaml:17:1: Widget\/w: kind: unknown kind "Widget"/);
  t.regex(bad.out, /invalid: 5 errors, 0 warnings; nothing would be applied/);
  const json = JSON.parse(run('validate', '-f', fixture('invalid'), '-o', 'json').out);
  t.is(json.valid, false);
  t.is(json.problems.length, 5);
  // The folder as an argument, as other validators take it; one folder only.
  t.regex(run('validate', wordpress).out, /valid: 8 objects, 0 errors, 0 warnings/);
  const two = run('validate', wordpress, fixture('invalid'));
  t.is(two.code, 2);
  t.regex(two.err, /give one folder, as -f DIR or as DIR/);
});

test('plan: the WordPress example puts MySQL in earlier waves than WordPress, with reasons', (t) => {
  const r = run('plan', '-f', wordpress);
  t.is(r.code, 0, r.err);
  const out = r.out;
  const at = (s: string) => out.indexOf(s);
  t.regex(out, /8 objects in 4 waves/);
  t.true(at('Deployment/wordpress/wordpress-mysql') < at('Wave 4 of 4'));
  t.true(at('Service/wordpress/wordpress-mysql') < at('Wave 3 of 4'));
  t.true(at('Deployment/wordpress/wordpress\n') > at('Wave 4 of 4'));
  t.regex(out, /Deployment\/wordpress\/wordpress\n\s+after Deployment\/wordpress-mysql is healthy \(depends-on\)\n\s+after Service\/wordpress-mysql is healthy \(depends-on\)/);
  const json = JSON.parse(run('plan', '-f', wordpress, '-o', 'json').out);
  t.deepEqual(json.waves.at(-1).objects.map((o: { kind: string; name: string }) => `${o.kind}/${o.name}`), ['Service/wordpress', 'Deployment/wordpress']);
});

test('plan: a cycle exits 2 and prints the cycle', async (t) => {
  const dir = tempDir();
  const d = (name: string, dep: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, annotations: { gouvernail.io/depends-on: "Deployment/${dep}" } }
spec:
  selector: { matchLabels: { app: ${name} } }
  template: { metadata: { labels: { app: ${name} } }, spec: { containers: [{ name: c, image: busybox }] } }
`;
  await writeFile(path.join(dir, 'a.yaml'), `${d('a', 'b')}---\n${d('b', 'a')}`);
  const r = run('plan', '-f', dir);
  t.is(r.code, 2);
  t.regex(r.err, /a\.yaml:3:37: Deployment\/a: metadata\.annotations\.gouvernail\.io\/depends-on: dependency cycle: Deployment\/a -\(gouvernail\.io\/depends-on: "Deployment\/b"\)-> Deployment\/b -\(gouvernail\.io\/depends-on: "Deployment\/a"\)-> Deployment\/a/);
});

test('diff: exit 0 when the store matches, 1 with a field diff when it does not, secrets masked', async (t) => {
  const dir = tempDir();
  const folder = path.join(dir, 'wordpress');
  await cp(wordpress, folder, { recursive: true });
  const state = path.join(dir, 'state.db');
  const store = ObjectStore.open(state);
  const set = await loadManifests(folder);
  store.batch(() => {
    for (const m of set.manifests) store.create(m.object);
  });
  store.create(inventoryObject(folderInventory(folder), set.manifests.map((m) => keyOf(m.object))));
  store.close();

  const same = run('diff', '-f', folder, '--state', state);
  t.is(same.code, 0, same.err);
  t.regex(same.out, /0 to create, 0 to update, 0 to prune, 8 unchanged/);

  const file = path.join(folder, '30-wordpress.yaml');
  await writeFile(file, (await readFile(file, 'utf8')).replace('wordpress:6.2.1-apache', 'wordpress:6.4-apache'));
  const secretFile = path.join(folder, '10-secret.yaml');
  await writeFile(secretFile, (await readFile(secretFile, 'utf8')).replace('change-me-please', 'a-much-better-password'));
  await rm(path.join(folder, '00-namespace.yaml'));
  const changed = run('diff', '-f', folder, '--state', state);
  t.is(changed.code, 1, changed.err);
  t.regex(changed.out, /~ Deployment\/wordpress\/wordpress\n\s+~ spec\.template\.spec\.containers\[wordpress\]\.image: "wordpress:6\.2\.1-apache" -> "wordpress:6\.4-apache"/);
  t.regex(changed.out, /~ data\.password: \*\*\* \(hidden\) -> \*\*\* \(hidden\)/);
  t.regex(changed.out, /- Namespace\/wordpress \(prune\)/);
  t.false(changed.out.includes('a-much-better-password') || changed.out.includes('change-me-please'));
});

test('diff: a missing store is a usage error that says what to do', (t) => {
  const r = run('diff', '-f', wordpress, '--state', '/nonexistent/state.db');
  t.is(r.code, 2);
  t.regex(r.err, /there is no store at \/nonexistent\/state\.db; check the path/);
});

test('every command has --help, and unknown flags are refused', (t) => {
  for (const cmd of ['validate', 'plan', 'diff']) {
    const r = run(cmd, '--help');
    t.is(r.code, 0);
    t.regex(r.out, new RegExp(`Usage: gouvernail ${cmd} -f DIR`));
  }
  const top = run('--help');
  t.regex(top.out, /Commands:\n\s+serve .*\n\s+validate/);
  const bad = run('plan', '--frobnicate');
  t.is(bad.code, 2);
  t.regex(bad.err, /Unknown option '--frobnicate'/);
});

test('a missing kubeconfig or a server that does not answer is a one-line error saying what to do', async (t) => {
  const missing = run('get', 'pods', '--kubeconfig', '/nonexistent/kubeconfig');
  t.is(missing.code, 2);
  t.regex(missing.err, /^error: cannot read the kubeconfig \/nonexistent\/kubeconfig: .*start 'gouvernail serve' or pass --kubeconfig\n$/);
  const file = path.join(tempDir(), 'kubeconfig');
  await writeFile(file, 'apiVersion: v1\nkind: Config\nclusters: [{ name: g, cluster: { server: "http://127.0.0.1:1" } }]\nusers: [{ name: a, user: { token: t } }]\ncontexts: [{ name: g, context: { cluster: g, user: a } }]\ncurrent-context: g\n');
  const down = run('get', 'pods', '--kubeconfig', file);
  t.is(down.code, 1);
  t.regex(down.err, /^error: cannot reach the Gouvernail API at http:\/\/127\.0\.0\.1:1 .*is 'gouvernail serve' running\?\n$/);
});
