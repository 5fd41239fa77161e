import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, openSync, closeSync, ftruncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readManifestFolder, defaultSourceLimits } from '../src/manifest/read-folder.js';
import { formatProblem } from '../src/manifest/problems.js';
import { fetchGitRevision } from '../src/sync/git-source.js';
import { parseOne, tempDir } from './helpers.js';

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { a: "1" }\n`;

test('a source over its total size is refused before any file is read, and memory stays flat', async (t) => {
  const dir = tempDir();
  // 25 files of 8 MB (200 MB), each under the per-file limit; sparse, so the disk is not filled.
  for (let i = 0; i < 25; i++) {
    const fd = openSync(path.join(dir, `big-${String(i).padStart(2, '0')}.yaml`), 'w');
    ftruncateSync(fd, 8_000_000);
    closeSync(fd);
  }
  global.gc?.();
  const before = process.memoryUsage().rss;
  const { files, problems } = await readManifestFolder(dir, undefined, defaultSourceLimits);
  const grown = process.memoryUsage().rss - before;
  t.deepEqual(files, []);
  t.is(problems.length, 1);
  t.is(problems[0]!.code, 'SourceTooLarge');
  t.regex(formatProblem(problems[0]!), /total 200000000 bytes, over the limit of 67108864; nothing was read/);
  t.true(grown < 40 * 1024 * 1024, `memory grew by ${Math.round(grown / 1048576)} MiB reading a refused source`);
});

test('a source with more files than the bound is refused without walking it all', async (t) => {
  const dir = tempDir();
  for (let d = 0; d < 20; d++) {
    mkdirSync(path.join(dir, `d${d}`));
    for (let i = 0; i < 1000; i++) writeFileSync(path.join(dir, `d${d}`, `f${i}.yaml`), '');
  }
  const { files, problems } = await readManifestFolder(dir, undefined, defaultSourceLimits);
  t.deepEqual(files, []);
  t.is(problems[0]!.code, 'SourceTooLarge');
  t.regex(problems[0]!.message, /over the limit of 10000; nothing was read .*--max-source-files/);
  const small = await readManifestFolder(dir, undefined, { maxSourceBytes: 1 << 20, maxSourceFiles: 20_000 });
  t.is(small.files.length, 20_000, 'under raised bounds the same folder is read');
});

function gitRepo() {
  const work = tempDir();
  const run = (...args: string[]) => execFileSync('git', ['-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', ...args], { cwd: work, encoding: 'utf8' }).trim();
  run('init', '-q', '-b', 'main');
  return { work, run };
}

test('a Git path that a commit renamed is an error, not an emptied source', async (t) => {
  const { work, run } = gitRepo();
  mkdirSync(path.join(work, 'deploy'));
  writeFileSync(path.join(work, 'deploy', 'a.yaml'), cm('a'));
  run('add', '-A');
  run('commit', '-qm', 'first');
  const first = await fetchGitRevision({ repoURL: work, path: 'deploy' }, tempDir());
  t.is(first.files.length, 1);
  run('mv', 'deploy', 'renamed');
  run('commit', '-qm', 'rename');
  const moved = await fetchGitRevision({ repoURL: work, path: 'deploy' }, tempDir());
  t.deepEqual(moved.files, []);
  t.is(moved.problems[0]?.code, 'SourcePathMissing');
  t.regex(moved.problems[0]!.message, /the source path deploy does not exist in this revision; nothing was applied or pruned/);
  // An existing but emptied path is not an error: allowEmpty decides.
  mkdirSync(path.join(work, 'empty'));
  writeFileSync(path.join(work, 'empty', 'README.md'), 'nothing here');
  run('add', '-A');
  run('commit', '-qm', 'empty folder');
  const empty = await fetchGitRevision({ repoURL: work, path: 'empty' }, tempDir());
  t.deepEqual(empty.problems, []);
});

test('a Git source over its bounds is refused: files counted from the tree, bytes as they are read', async (t) => {
  const { work, run } = gitRepo();
  for (let i = 0; i < 12; i++) writeFileSync(path.join(work, `cm-${i}.yaml`), cm(`c${i}`));
  run('add', '-A');
  run('commit', '-qm', 'twelve');
  const many = await fetchGitRevision({ repoURL: work }, tempDir(), { maxSourceBytes: 1 << 20, maxSourceFiles: 10 });
  t.deepEqual(many.files, []);
  t.regex(many.problems[0]!.message, /holds 12 manifest files, over the limit of 10/);
  const heavy = await fetchGitRevision({ repoURL: work }, tempDir(), { maxSourceBytes: 300, maxSourceFiles: 100 });
  t.deepEqual(heavy.files, []);
  t.regex(heavy.problems[0]!.message, /over the limit of 300; nothing was read/);
});

/**
 * Fields that were accepted without a check before; each is now refused, named by its place.
 * (The others of the kinds were checked already: validate.test.ts.)
 */
const refused: [string, string, RegExp][] = [
  ['Secret data that is not base64', 'apiVersion: v1\nkind: Secret\nmetadata: { name: s }\ndata: { password: "not base64!" }\n', /Secret\/s: data\.password: is not valid base64/],
  ['ConfigMap binaryData that is not base64', 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\nbinaryData: { blob: "%%%" }\n', /ConfigMap\/c: binaryData\.blob: is not valid base64/],
  ['a TLS Secret without its key', 'apiVersion: v1\nkind: Secret\nmetadata: { name: t }\ntype: kubernetes.io/tls\ndata: { tls.crt: "YQ==" }\n', /Secret\/t: data: a Secret of type kubernetes\.io\/tls needs the key tls\.key/],
  ['a request over its limit', 'apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers: [{ name: c, image: i, resources: { requests: { cpu: "2" }, limits: { cpu: "1" } } }]\n', /spec\.containers\[0\]\.resources\.requests\.cpu: must be less than or equal to the cpu limit of 1/],
  ['a negative memory limit', 'apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers: [{ name: c, image: i, resources: { limits: { memory: "-1Gi" } } }]\n', /resources\.limits\.memory: must not be negative/],
  ['two Service ports with one number', 'apiVersion: v1\nkind: Service\nmetadata: { name: s }\nspec:\n  ports: [{ name: a, port: 80 }, { name: b, port: 80 }]\n', /spec\.ports\[1\]\.port: duplicate port 80\/TCP/],
  ['a relative hostPath', 'apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers: [{ name: c, image: i }]\n  volumes: [{ name: v, hostPath: { path: data } }]\n', /spec\.volumes\[0\]\.hostPath\.path: must be an absolute path/],
  ['an unknown hostPath type', 'apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers: [{ name: c, image: i }]\n  volumes: [{ name: v, hostPath: { path: /srv, type: Folder } }]\n', /hostPath\.type: must be one of/],
  ['a volume item path that climbs out', 'apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers: [{ name: c, image: i }]\n  volumes: [{ name: v, configMap: { name: x, items: [{ key: a, path: ../../etc/passwd }] } }]\n', /items\[0\]\.path: must not contain "\.\."/],
  ['two mounts at one path', 'apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers: [{ name: c, image: i, volumeMounts: [{ name: v, mountPath: /a }, { name: v, mountPath: /a }] }]\n  volumes: [{ name: v, emptyDir: {} }]\n', /volumeMounts\[1\]\.mountPath: duplicate mountPath "\/a"/],
  ['a negative claim size', 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: { name: p }\nspec: { accessModes: [ReadWriteOnce], resources: { requests: { storage: -1Gi } } }\n', /spec\.resources\.requests\.storage: must not be negative/],
  ['a claim with no access mode', 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: { name: p }\nspec: { accessModes: [], resources: { requests: { storage: 1Gi } } }\n', /spec\.accessModes: must list at least one access mode/],
  ['a negative quota', 'apiVersion: v1\nkind: ResourceQuota\nmetadata: { name: q }\nspec: { hard: { pods: "-1" } }\n', /spec\.hard\.pods: must not be negative/],
  ['a sync interval under the minimum', 'apiVersion: gouvernail.io/v1\nkind: Application\nmetadata: { name: a }\nspec: { source: { path: x }, syncPolicy: { interval: 1ms } }\n', /spec\.syncPolicy\.interval: must be at least 30s, the minimum \(for faster syncs, use a webhook or push to a hosted repository\) \(got "1ms"\)/],
  ['a sync timeout of zero', 'apiVersion: gouvernail.io/v1\nkind: Application\nmetadata: { name: a }\nspec: { source: { path: x }, syncPolicy: { timeout: 0s } }\n', /spec\.syncPolicy\.timeout: must be at least 1s/],
  ['a repoURL Gouvernail cannot fetch', 'apiVersion: gouvernail.io/v1\nkind: Application\nmetadata: { name: a }\nspec: { source: { repoURL: "ftp://host/repo.git" } }\n', /spec\.source\.repoURL: must be an http, https or file URL, or an absolute path \(got the scheme ftp\)/],
  ['a repoURL with a password, never quoted', 'apiVersion: gouvernail.io/v1\nkind: Application\nmetadata: { name: a }\nspec: { source: { repoURL: "ssh://git:hunter2@host/r.git" } }\n', /spec\.source\.repoURL: must be an http, https or file URL, or an absolute path \(got the scheme ssh\)$/],
  ['two kinds of credentials', 'apiVersion: gouvernail.io/v1\nkind: Application\nmetadata: { name: a }\nspec: { source: { repoURL: "https://h/r.git", credentials: { tokenFile: /t, tokenEnv: T } } }\n', /spec\.source\.credentials: takes one of tokenFile, tokenEnv, passwordFile and secretRef/],
];

for (const [what, text, error] of refused) {
  test(`refused with its place: ${what}`, (t) => {
    const set = parseOne(text);
    const errors = set.problems.filter((p) => p.severity === 'error').map(formatProblem);
    t.true(errors.some((e) => error.test(e)), errors.join('\n') || 'accepted');
    t.is(set.manifests.length, 0);
  });
}

test('the same fields, valid, are accepted', (t) => {
  const set = parseOne(`apiVersion: v1
kind: Secret
metadata: { name: s }
type: kubernetes.io/tls
data: { tls.crt: "YQ==", tls.key: "Yg==" }
---
apiVersion: gouvernail.io/v1
kind: Application
metadata: { name: a }
spec: { source: { repoURL: "https://h/r.git", credentials: { tokenEnv: T } }, syncPolicy: { interval: 30s, timeout: 1s } }
`);
  t.deepEqual(set.problems.filter((p) => p.severity === 'error').map(formatProblem), []);
});

test('a hostPath type Docker does not check is warned about where it is written', (t) => {
  const set = parseOne('apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers: [{ name: c, image: i }]\n  volumes: [{ name: v, hostPath: { path: /srv/data, type: Directory } }]\n');
  const warnings = set.problems.filter((p) => p.severity === 'warning').map(formatProblem);
  t.true(warnings.some((w) => /volumes\[0\]\.hostPath\.type: Directory is not checked on Docker/.test(w)), warnings.join('\n'));
  t.is(set.manifests.length, 1);
});
