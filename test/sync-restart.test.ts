import test from 'ava';
import path from 'node:path';
import { ApiServer } from '../src/api/api-server.js';
import { TokenAuthenticator } from '../src/api/authenticate.js';
import { InProcessClient } from '../src/api/client.js';
import { identities } from '../src/api/identity.js';
import { ObjectStore } from '../src/store/object-store.js';
import { ApplicationController } from '../src/sync/application-controller.js';
import { tempDir } from './helpers.js';

test('an operation left "Running" by a kill is marked interrupted at start, not left running', async (t) => {
  const store = ObjectStore.open(path.join(tempDir(), 'state.db'));
  const app = store.create({ apiVersion: 'gouvernail.io/v1', kind: 'Application', metadata: { name: 'manual', namespace: 'default' }, spec: { source: { path: tempDir() }, syncPolicy: { automated: false } } });
  store.update({ ...app, metadata: { ...app.metadata, resourceVersion: undefined }, status: { operation: { phase: 'Running', message: 'wave 2 of 3: applying 4 objects' }, health: { status: 'Healthy', message: '' } } });
  const controller = new ApplicationController(store, new InProcessClient(new ApiServer({ store, authenticator: new TokenAuthenticator([]) }), identities.applicationController));
  controller.start();
  t.teardown(() => controller.stop());
  const after = store.get('Application', 'default', 'manual')!;
  t.is(after.status.operation.phase, 'Failed');
  t.regex(after.status.operation.message, /interrupted by a restart/);
  t.is(after.status.health.status, 'Healthy');
  t.is(after.status.conditions.find((c: { type: string }) => c.type === 'Ready').status, 'False');
});
