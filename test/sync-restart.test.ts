import test from 'ava';
import path from 'node:path';
import { ApiClient } from '../src/cli/client.js';
import { ObjectStore } from '../src/store/object-store.js';
import { ApplicationController } from '../src/sync/application-controller.js';
import { tempDir } from './helpers.js';

test('an operation left "Running" by a kill is marked interrupted at start, not left running', async (t) => {
  const store = ObjectStore.open(path.join(tempDir(), 'state.db'));
  const app = store.create({ apiVersion: 'gouvernail.io/v1', kind: 'Application', metadata: { name: 'manual', namespace: 'default' }, spec: { source: { path: tempDir() }, syncPolicy: { automated: false } } });
  store.update({ ...app, metadata: { ...app.metadata, resourceVersion: undefined }, status: { operation: { phase: 'Running', message: 'wave 2 of 3: applying 4 objects' }, health: { status: 'Healthy', message: '' } } });
  const controller = new ApplicationController(store, new ApiClient('http://127.0.0.1:9', 'unused'));
  controller.start();
  t.teardown(() => controller.stop());
  const after = store.get('Application', 'default', 'manual')!;
  t.is(after.status.operation.phase, 'Failed');
  t.regex(after.status.operation.message, /interrupted by a restart/);
  t.is(after.status.health.status, 'Healthy');
  t.is(after.status.conditions.find((c: { type: string }) => c.type === 'Ready').status, 'False');
});
