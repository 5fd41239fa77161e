import test from 'ava';
import { readdirSync } from 'node:fs';
import { plan } from '../src/apply/plan.js';
import { splitHooks } from '../src/apply/hooks.js';
import { loadManifests } from '../src/manifest/load.js';
import { formatProblem } from '../src/manifest/problems.js';
import { fixture } from './helpers.js';

// Sets in the shape of public examples (test/fixtures/public/ORIGINS.md says which): each plans
// without errors, and the kinds Gouvernail runs are all there.
const expected: Record<string, string[]> = {
  zookeeper: ['PodDisruptionBudget', 'Service', 'Service', 'StatefulSet'],
  guestbook: ['Deployment', 'Deployment', 'Deployment', 'Service', 'Service', 'Service'],
  'statefulset-basics': ['Service', 'StatefulSet'],
  'job-pi': ['Job'],
  'cronjob-hello': ['CronJob'],
  'daemonset-fluentd': ['DaemonSet'],
  'replicaset-and-rc': ['ReplicaSet', 'ReplicationController'],
  'hpa-php-apache': ['Deployment', 'HorizontalPodAutoscaler', 'Service'],
  'podinfo-kustomize': ['Deployment', 'HorizontalPodAutoscaler', 'Service'],
  'argocd-kustomize-guestbook': ['Deployment', 'Service'],
  'argocd-hooks': ['ConfigMap', 'Deployment', 'Service'],
  'voting-app': ['Deployment', 'Deployment', 'Deployment', 'Deployment', 'Deployment', 'Service', 'Service', 'Service', 'Service'],
  'microservices-shape': ['Deployment', 'Deployment', 'Service', 'Service', 'Service', 'ServiceAccount', 'ServiceAccount'],
};

test('every public example set in the fixtures is listed here', (t) => {
  const dirs = readdirSync(fixture('public'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  t.deepEqual(dirs, Object.keys(expected).sort());
});

for (const [name, kinds] of Object.entries(expected)) {
  test(`${name} plans without errors`, async (t) => {
    const set = await loadManifests(fixture('public', name));
    const errors = set.problems.filter((p) => p.severity === 'error').map(formatProblem);
    t.deepEqual(errors, []);
    const { objects } = splitHooks(set.manifests);
    t.deepEqual(objects.map((m) => m.object.kind).sort(), kinds);
    const result = plan(objects);
    t.deepEqual(result.problems.filter((p) => p.severity === 'error').map(formatProblem), []);
    t.true(result.waves.length > 0);
  });
}

test('the kustomize guestbook gets its prefix, and the hooks are kept apart from the sync', async (t) => {
  const guestbook = await loadManifests(fixture('public', 'argocd-kustomize-guestbook'));
  t.deepEqual(guestbook.manifests.map((m) => m.object.metadata.name).sort(), ['kustomize-guestbook-ui', 'kustomize-guestbook-ui']);
  const hooks = splitHooks((await loadManifests(fixture('public', 'argocd-hooks'))).manifests).hooks;
  t.deepEqual(Object.fromEntries(Object.entries(hooks).map(([phase, l]) => [phase, l.length])), { PreSync: 2, Sync: 0, PostSync: 1, SyncFail: 1 });
});
