import test from 'ava';
import { createWriteStream } from 'node:fs';
import { writeFile, symlink, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { loadManifests } from '../src/manifest/load.js';
import { couldNestDeeper, findDeepNesting, parseManifestText } from '../src/manifest/parse.js';
import { errorsOf, parseOne, tempDir } from './helpers.js';

const billionLaughs = `apiVersion: v1
kind: ConfigMap
metadata:
  name: lol
data:
  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
  h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
  i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`;

test('a billion-laughs file ends in a clear error about aliases, without a memory spike', (t) => {
  const before = process.memoryUsage().rss;
  const set = parseOne(billionLaughs, 'lol.yaml');
  const grown = process.memoryUsage().rss - before;
  const errors = errorsOf(set);
  t.is(errors.length, 1);
  t.is(errors[0]!.file, 'lol.yaml');
  t.regex(errors[0]!.message, /alias/i);
  t.is(set.manifests.length, 0);
  t.true(grown < 64 * 1024 * 1024, `rss grew by ${grown} bytes`);
});

test('a 5,000-deep flow nesting is refused before parsing, with its line', (t) => {
  const text = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n  x: ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
  const errors = errorsOf(parseOne(text, 'deep.yaml'));
  t.is(errors.length, 1);
  t.is(errors[0]!.code, 'ManifestUnsafe');
  t.is(errors[0]!.line, 6);
  t.regex(errors[0]!.message, /nesting is deeper than 100/);
});

test('explicit keys nested 50,000 deep are refused before parsing, by either parser', (t) => {
  // An anchor sends the document to the yaml package, which would recurse until the stack ran out.
  for (const labels of ['{ x: y }', '{ x: &a y }']) {
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\n  labels: ${labels}\ndata:\n${'? '.repeat(50_000)}key\n`;
    const errors = errorsOf(parseOne(text, 'deep.yaml'));
    t.is(errors.length, 1);
    t.like(errors[0], { code: 'ManifestUnsafe', line: 7 });
  }
});

test('a document with thousands of YAML errors reports the first five and how many more', (t) => {
  const text = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tabs\n  labels: { x: &a y }\ndata:\n  x:\n    ${'-\t'.repeat(90)}leaf\n`;
  const errors = errorsOf(parseOne(text, 'tabs.yaml'));
  t.is(errors.length, 5);
  t.regex(errors[4]!.message, /and \d+ more YAML errors in this document/);
  t.true(errors.every((e) => e.file === 'tabs.yaml' && e.line === 8));
});

test('a 5,000-deep block nesting is refused too', (t) => {
  const text = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\nspec:\n  x:\n  ${'- '.repeat(5000)}leaf\n`;
  const errors = errorsOf(parseOne(text, 'deep.yaml'));
  t.is(errors.length, 1);
  t.is(errors[0]!.code, 'ManifestUnsafe');
});

test('block mappings nested deeper than the limit, written as the fast reader reads them, are refused with their line', (t) => {
  const nested = (levels: number) => Array.from({ length: levels }, (_, i) => `${' '.repeat(i + 2)}k${i}:`).join('\n') + ' leaf\n';
  const deep = errorsOf(parseOne(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n${nested(101)}`, 'deep.yaml'));
  t.is(deep.length, 1);
  t.like(deep[0], { code: 'ManifestUnsafe', file: 'deep.yaml' });
  t.true(deep[0]!.line! > 5, `line ${deep[0]!.line}`);
  // 98 levels under data: 100 with the document's mapping and data's: read as written.
  const read = parseManifestText(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n${nested(98)}`, 'ok.yaml');
  t.deepEqual(read.problems, []);
  let value: unknown = read.manifests[0]!.object.data;
  for (let i = 0; i < 98; i++) value = (value as Record<string, unknown>)[`k${i}`];
  t.is(value, 'leaf');
});

test('ordinary manifests, block scalars and quoted brackets included, are not mistaken for deep nesting', (t) => {
  const text = 'data:\n  nginx.conf: |\n' + Array.from({ length: 200 }, (_, i) => `${' '.repeat(4 + (i % 60))}line {{ [ "[" ]\n`).join('') + 'other: "[[[[[["\n';
  t.is(findDeepNesting(text, 100), undefined);
});

test('the quick count that lets most documents skip the nesting scan never lets a deep one through', (t) => {
  const deep = [
    `x: ${'['.repeat(101)}${']'.repeat(101)}`,
    `x: ${'{a: '.repeat(101)}1${'}'.repeat(101)}`,
    `x:\n  ${'- '.repeat(101)}leaf`,
    `${'? '.repeat(101)}key`,
    Array.from({ length: 102 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n'),
    `x:\n  - ${'? '.repeat(50)}${'- '.repeat(50)}leaf`,
  ];
  for (const text of deep) {
    t.truthy(findDeepNesting(text, 100), `the scan finds it: ${text.slice(0, 30)}`);
    t.true(couldNestDeeper(text, 100), `the count lets it through to the scan: ${text.slice(0, 30)}`);
  }
  // An ordinary Deployment is counted as harmless and skips the scan.
  const ordinary = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web, labels: { app: web } }\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: busybox\n          args: ["--port", "8080"]\n';
  t.false(couldNestDeeper(ordinary, 100));
});

test('a 200 MB file is refused from its size before it is read', async (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'huge.yaml');
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(file);
    const chunk = Buffer.alloc(1024 * 1024, 'a: b\n');
    let left = 200;
    const write = () => {
      while (left > 0) {
        left--;
        if (!out.write(chunk)) return out.once('drain', write);
      }
      out.end(resolve);
    };
    out.on('error', reject);
    write();
  });
  await writeFile(path.join(dir, 'ok.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ok\n');
  const before = process.memoryUsage().rss;
  const set = await loadManifests(dir);
  const grown = process.memoryUsage().rss - before;
  const errors = errorsOf(set);
  t.is(errors.length, 1);
  t.is(errors[0]!.code, 'ManifestTooLarge');
  t.is(errors[0]!.file, 'huge.yaml');
  t.regex(errors[0]!.message, /209715200 bytes, over the limit/);
  t.is(set.manifests.length, 1, 'the other file is still read');
  t.true(grown < 64 * 1024 * 1024, `rss grew by ${grown} bytes`);
});

test('too many documents in one file is refused', (t) => {
  const text = Array.from({ length: 6000 }, (_, i) => `---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: n${i}\n`).join('');
  const errors = errorsOf(parseOne(text));
  t.is(errors.length, 1);
  t.regex(errors[0]!.message, /6000 YAML documents, over the limit of 5000/);
});

test('custom tags are refused with their place', (t) => {
  const errors = errorsOf(parseOne('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: !!js/function "return 1"\n'));
  t.is(errors.length, 1);
  t.is(errors[0]!.line, 6);
  t.regex(errors[0]!.message, /tag .*js\/function is not allowed/);
});

test('duplicate keys and syntax errors are located', (t) => {
  const dup = errorsOf(parseOne('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n'));
  t.is(dup.length, 1);
  t.is(dup[0]!.line, 5);
  t.regex(dup[0]!.message, /duplicated mapping key/);
  const bad = errorsOf(parseOne('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: [a\n'));
  t.true(bad.length >= 1);
  t.is(bad[0]!.code, 'ManifestParse');
  t.truthy(bad[0]!.line);
});

test('YAML 1.2 core schema: yes, on and 0123 stay what YAML 1.2 says', (t) => {
  const set = parseOne('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: "1"\n  b: yes\n');
  t.deepEqual(errorsOf(set), []);
  t.is(set.manifests[0]!.object.data!.b, 'yes');
});

test('a symlink that leaves the folder is refused; one inside is followed', async (t) => {
  const outside = tempDir();
  await writeFile(path.join(outside, 'secret.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: outside\n');
  const dir = tempDir();
  await mkdir(path.join(dir, 'sub'));
  await writeFile(path.join(dir, 'sub', 'a.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: inside\n');
  await symlink(path.join(outside, 'secret.yaml'), path.join(dir, 'escape.yaml'));
  await symlink(outside, path.join(dir, 'escape-dir'));
  await symlink(path.join(dir, 'sub'), path.join(dir, 'link-inside'));
  const set = await loadManifests(dir);
  const errors = errorsOf(set);
  t.deepEqual(errors.map((e) => [e.file, e.code]).sort(), [['escape-dir', 'ManifestOutsideRoot'], ['escape.yaml', 'ManifestOutsideRoot']]);
  t.deepEqual(set.manifests.map((m) => m.object.metadata.name), ['inside']);
});

test('documents with and without anchors parse to the same objects, whichever parser reads them', (t) => {
  const plain = parseOne('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: { a: b }\ndata:\n  one: "1"\n  two: "1"\n');
  const anchored = parseOne('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: { a: b }\ndata:\n  one: &v "1"\n  two: *v\n');
  t.deepEqual(anchored.manifests[0]!.object, plain.manifests[0]!.object);
});

test('a YAML error inside a Secret does not quote the secret', (t) => {
  for (const text of [
    'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: "s3cr3t-value\n',
    'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: s3cr3t-value\n  password: s3cr3t-value\n',
    'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: &p s3cr3t-value\n   bad: *p\n',
  ]) {
    const errors = errorsOf(parseOne(text));
    t.true(errors.length > 0);
    for (const e of errors) t.false(JSON.stringify(e).includes('s3cr3t'), JSON.stringify(e));
  }
});

test('document lines are counted across --- markers', (t) => {
  const set = parseOne('# head\n---\napiVersion: v1\nkind: Namespace\nmetadata: { name: a }\n---\n\napiVersion: v1\nkind: Namespace\nmetadata: { name: B }\n');
  t.is(errorsOf(set)[0]!.line, 10);
  t.is(set.manifests[0]!.source.line, 3);
});
