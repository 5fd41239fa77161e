import test from 'ava';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ApiServer } from '../src/api/api-server.js';
import { TokenAuthenticator } from '../src/api/authenticate.js';
import { InProcessClient } from '../src/api/client.js';
import { identities } from '../src/api/identity.js';
import { ObjectStore } from '../src/store/object-store.js';
import { ApplicationController } from '../src/sync/application-controller.js';
import { readFolderSnapshot } from '../src/sync/folder-source.js';
import { waitFor } from './docker-helpers.js';
import { tempDir } from './helpers.js';

test('an operation left "Running" by a kill is resumed at start (after the waves it wrote), even when the Application is not automated', async (t) => {
  const store = ObjectStore.open(path.join(tempDir(), 'state.db'));
  store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' }, spec: {}, status: { phase: 'Active' } });
  const folder = tempDir();
  writeFileSync(path.join(folder, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: resumed, namespace: default }\ndata: { v: "1" }\n');
  const { revision } = await readFolderSnapshot(folder);
  const app = store.create({ apiVersion: 'gouvernail.io/v1', kind: 'Application', metadata: { name: 'manual', namespace: 'default' }, spec: { source: { path: folder }, syncPolicy: { automated: false } } });
  store.update({ ...app, metadata: { ...app.metadata, resourceVersion: undefined }, status: { operation: { phase: 'Running', message: 'wave 1 of 1: applying 1 object', revision, wavesApplied: 0 }, health: { status: 'Healthy', message: '' } } });
  const controller = new ApplicationController(store, new InProcessClient(new ApiServer({ store, authenticator: new TokenAuthenticator([]) }), identities.applicationController));
  controller.start();
  t.teardown(() => controller.stop());
  const after = await waitFor('the sync finished', async () => {
    const a = store.get('Application', 'default', 'manual');
    return a?.status?.operation?.phase !== 'Running' ? a : undefined;
  });
  t.is(after.status.operation.phase, 'Succeeded', after.status.operation.message);
  t.is(after.status.lastAppliedRevision, revision);
  t.is(store.get('ConfigMap', 'default', 'resumed')?.data?.v, '1');
});
