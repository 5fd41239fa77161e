import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AuditLog } from '../src/server/audit-log.js';
import { tempDir } from './helpers.js';

test('the audit log writes a JSON line a request and rotates at its size, keeping the last files', (t) => {
  const file = path.join(tempDir(), 'audit.log');
  const log = new AuditLog(file, 400, 2);
  for (let i = 0; i < 12; i++) log.write({ time: `t${i}`, user: 'alice', groups: [], verb: 'get', resource: 'pods', namespace: 'shop', name: `p${i}`, code: 200 });
  t.true(existsSync(`${file}.1`));
  t.true(existsSync(`${file}.2`));
  t.false(existsSync(`${file}.3`));
  const last = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.is(last.at(-1).name, 'p11');
  t.true(readFileSync(file).length <= 400);
});
