import test from 'ava';
import { dockerTimestamp } from '../src/runtime/pod-io.js';

test("Docker's log times: to the nanosecond, moved by an offset across a second, none for Docker's year 1", (t) => {
  t.is(dockerTimestamp('2026-12-01T08:23:01.123456789Z'), '1796113381.123456789');
  t.is(dockerTimestamp('2026-12-01T08:23:01.5Z'), '1796113381.500000000');
  t.is(dockerTimestamp('2026-12-01T08:23:01Z'), '1796113381.000000000');
  t.is(dockerTimestamp('2026-12-01T08:23:01.020000000Z', -50), '1796113380.970000000');
  t.is(dockerTimestamp('0001-01-01T00:00:00Z'), undefined);
  t.is(dockerTimestamp('not a time'), undefined);
});
