import test from 'ava';
import * as jsYaml from 'js-yaml';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { notSimple, parseSimpleYaml } from '../src/manifest/simple-yaml.js';
import { splitDocuments } from '../src/manifest/parse.js';

// The fast reader must give what js-yaml gives, or give up: js-yaml is the reference.

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(f) ? [p] : [];
  });
}

type Reference = { value: unknown } | { error: string };

function reference(text: string): Reference {
  try {
    return { value: jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA }) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** What is wrong with the fast reader's answer for `text`, if anything. */
function disagreement(text: string): string | undefined {
  const mine = parseSimpleYaml(text);
  if (mine === notSimple) return undefined;
  const ref = reference(text);
  if ('error' in ref) return `read ${JSON.stringify(mine)} where js-yaml refuses: ${ref.error}`;
  if (JSON.stringify(mine) !== JSON.stringify(ref.value)) return `read ${JSON.stringify(mine)} where js-yaml reads ${JSON.stringify(ref.value)}`;
  return undefined;
}

// Each is read by the fast reader (not given up on) and agrees with js-yaml.
const read: Record<string, string> = {
  'block mapping and sequence': 'a: 1\nb:\n  - x\n  - y\nc:\n  d: e\n',
  'sequence at the key\'s indentation': 'a:\n- x\n- y\nb: 2\n',
  'compact mapping in a sequence': 'items:\n  - name: a\n    value: "1"\n  - name: b\n    valueFrom:\n      key: k\n',
  'compact mapping with a sequence at its keys\' indentation': '- a:\n  - x\n  b: 1\n',
  'nested empty values': 'a:\nb:\n  c:\nd:\n  -\n  - x\n',
  'comments everywhere': '# head\na: 1 # one\n  # indented comment\nb: # nothing\n  - x # ex\n# tail\n',
  'a # in a plain scalar': 'a: b#c\nd: "#e"\n',
  'colons in plain scalars': 'image: registry:5000/app:1.2\nurl: http://a.b:80/x?y=z\n',
  'core schema scalars': 'a: ~\nb: null\nc: true\nd: False\ne: 0x1F\nf: 0o17\ng: -12\nh: 1.5e3\ni: .inf\nj: -.Inf\nk: .NaN\nl: yes\nm: "1"\nn: 0777\no: +5\np: 1_000\n',
  'keys resolved then made strings': '1: a\ntrue: b\n~: c\n0x10: d\n"q": e\n',
  'quoted scalars': 'a: \'it\'\'s\'\nb: "tab\\tnew\\nline \\"q\\" \\\\ \\/ \\u00e9"\nc: \'\'\nd: ""\n',
  'flow collections': 'a: { b: 1, c: [x, "y", \'z\'], d: {} }\ne: []\nf: [ {g: h}, [1, 2] ]\n',
  'flow over several lines': 'a: [\n    x,\n    y\n  ]\nb: {\n    c: 1, # note\n    d: 2 }\n',
  'literal block scalars': 'a: |\n  line 1\n    indented\n\n  line 3\n\nb: |-\n  stripped\n\n\nc: x\n',
  'folded block scalars': 'a: >\n  one\n  two\n\n  three\nb: >-\n  x\n  y\n',
  'block scalar in a sequence': 'args:\n  - |\n    echo hi\n    exit 0\n  - plain\n',
  'a block scalar with a # line': 'script: |\n  # not a comment\n  run\n',
  'a document marker with a comment': '--- # first\na: 1\n',
  'trailing spaces': 'a: b   \nc:   \n  - d  \n',
  'a top-level sequence': '- a\n- b: c\n',
  'a flow document': '{"apiVersion": "v1", "kind": "List", "items": [\n  {"a": 1}\n]}\n',
  'keys with spaces before the colon': 'a  : 1\n',
  'a scalar document': 'just text\n',
  'a long plain scalar with spaces': 'description: this is a sentence, with commas [and brackets] {too}\n',
};

for (const [name, text] of Object.entries(read)) {
  test(`the fast reader reads ${name} as js-yaml does`, (t) => {
    const mine = parseSimpleYaml(text);
    t.not(mine, notSimple, 'gave up');
    const ref = reference(text);
    t.false('error' in ref, 'error' in ref ? ref.error : '');
    if ('value' in ref) t.is(JSON.stringify(mine), JSON.stringify(ref.value));
  });
}

// Each is outside what the fast reader reads; js-yaml parses or refuses it.
const givenUp: Record<string, string> = {
  'a tab': 'a:\tb\n',
  'CRLF line ends': 'a: 1\r\nb: 2\r\n',
  'a multi-line plain scalar': 'a: one\n  two\n',
  'a multi-line quoted scalar': 'a: "one\n  two"\n',
  'a duplicate key': 'a: 1\na: 2\n',
  'a duplicate key in a flow mapping': 'a: {b: 1, b: 2}\n',
  'a __proto__ key': '__proto__: 1\n',
  'an anchor': 'a: &x 1\nb: *x\n',
  'a tag': 'a: !!str 1\n',
  'a keep-chomping block scalar': 'a: |+\n  x\n\n',
  'a block scalar with an indentation indicator': 'a: |2\n   x\n',
  'a nested mapping on one line': 'a: b: c\n',
  'a more-indented line after a mapping': 'a: 1\n  b: 2\n',
  'a less-indented key': '  a: 1\n b: 2\n',
  'a second document': 'a: 1\n---\nb: 2\n',
  'a document end marker': 'a: 1\n...\n',
  'an explicit key': '? a\n: b\n',
  'an empty document': '# nothing\n',
  'a trailing comma in a flow sequence': 'a: [1, 2,]\n',
  'an unclosed flow sequence': 'a: [1, 2\n',
  'a flow line not indented': 'a: [1,\n2]\n',
  'an implicit key over two lines in flow': 'a: { b\n  : c }\n',
  'an escape the reader does not know': 'a: "\\x41"\n',
  'a directive': '%YAML 1.2\n---\na: 1\n',
  'a block scalar to the end without a line break': 'a: |\n  x',
};

for (const [name, text] of Object.entries(givenUp)) {
  test(`the fast reader gives up on ${name}`, (t) => {
    t.is(parseSimpleYaml(text), notSimple);
  });
}

test('every document of the fixtures is read as js-yaml reads it, and the plain ones are read by the fast reader', (t) => {
  let fast = 0;
  let documents = 0;
  for (const file of yamlFiles(fixtures)) {
    for (const chunk of splitDocuments(readFileSync(file, 'utf8'))) {
      documents++;
      const wrong = disagreement(chunk.text);
      t.is(wrong, undefined, `${path.relative(fixtures, file)} document ${chunk.index}: ${wrong}`);
      if (parseSimpleYaml(chunk.text) !== notSimple) fast++;
    }
  }
  t.true(documents > 50, `${documents} documents`);
  // The public examples are written as people write manifests: nearly all of them are in reach.
  t.true(fast / documents > 0.9, `${fast} of ${documents} documents read by the fast reader`);
});

/** A small, seeded random generator (mulberry32): the same mutants on every run. */
function random(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s + 0x6d2b79f5) | 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
}

test('documents broken at random are read as js-yaml reads them, refused where it refuses, or given up on', (t) => {
  const pool = [...Object.values(read), ...yamlFiles(fixtures).flatMap((f) => splitDocuments(readFileSync(f, 'utf8')).map((c) => c.text))].filter((x) => x.length < 4000);
  const pieces = [' ', '  ', '\n', '- ', ': ', ':', '#', ' #', '"', "'", '[', ']', '{', '}', ',', '|', '>', '|-', '>-', '\\', '\\n', '~', 'null', 'true', '0x1F', '1e3', '.5', '-', '?', '\n  ', '\n- ', 'a: b', '\n    ', "''", '...', '---', 'x'];
  const rnd = random(20261129);
  let readAlike = 0;
  const wrong: string[] = [];
  for (let k = 0; k < 4000; k++) {
    let text = pool[rnd(pool.length)]!;
    for (let e = 1 + rnd(3); e > 0; e--) {
      const at = rnd(text.length + 1);
      const op = rnd(3);
      if (op === 0) text = text.slice(0, at) + pieces[rnd(pieces.length)] + text.slice(at);
      else if (op === 1) text = text.slice(0, at) + text.slice(at + 1 + rnd(3));
      else {
        const line = text.lastIndexOf('\n', at) + 1;
        text = text.slice(0, line) + ' '.repeat(rnd(3)) + text.slice(line + rnd(2));
      }
    }
    const w = disagreement(text);
    if (w) wrong.push(`${JSON.stringify(text)}: ${w}`);
    else if (parseSimpleYaml(text) !== notSimple) readAlike++;
  }
  t.deepEqual(wrong.slice(0, 3), []);
  // Most mutants are still plain enough to be read: the comparison above is not empty.
  t.true(readAlike > 1000, `${readAlike} mutants read`);
});
