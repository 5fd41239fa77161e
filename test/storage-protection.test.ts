import test from 'ava';
import type { KubeObject } from '../src/manifest/types.js';
import { claimUsers, volumeBound } from '../src/runtime/storage-protection.js';

// Pure: what keeps a claim or a volume from going.

const claim = (name: string, uid = `uid-${name}`): KubeObject => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace: 'default', uid }, spec: {} });
const pod = (name: string, claimName: string, o: { node?: string; namespace?: string; forceDeleted?: boolean } = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: o.namespace ?? 'default', ...(o.forceDeleted ? { deletionTimestamp: '2026-01-01T00:00:00Z', deletionGracePeriodSeconds: 0 } : {}) },
  spec: { ...(o.node === '' ? {} : { nodeName: o.node ?? 'n1' }), containers: [], volumes: [{ name: 'v', persistentVolumeClaim: { claimName } }] },
});

test('a claim is held by the scheduled Pods of its namespace that mount it, not by an unscheduled or force-deleted one', (t) => {
  const pods = [pod('a', 'data'), pod('b', 'other'), pod('c', 'data', { namespace: 'elsewhere' }), pod('d', 'data', { node: '' }), pod('e', 'data', { forceDeleted: true })];
  t.deepEqual(claimUsers(claim('data'), pods).map((p) => p.metadata.name), ['a']);
  t.deepEqual(claimUsers(claim('data'), pods.slice(1)), []);
});

test('a volume is bound while the claim it names exists, the same one by uid', (t) => {
  const pv = (ref?: object): KubeObject => ({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv' }, spec: ref ? { claimRef: ref } : {} });
  const claims = (ns: string, name: string) => (ns === 'default' && name === 'data' ? claim('data', 'u1') : undefined);
  t.true(volumeBound(pv({ namespace: 'default', name: 'data', uid: 'u1' }), claims));
  t.false(volumeBound(pv({ namespace: 'default', name: 'data', uid: 'u0' }), claims), 'a claim of the same name made again');
  t.false(volumeBound(pv({ namespace: 'default', name: 'gone' }), claims));
  t.false(volumeBound(pv(), claims));
});
