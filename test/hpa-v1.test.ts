import test from 'ava';
import { hpaFromV1, hpaToV1 } from '../src/manifest/hpa-v1.js';
import { parseSnapshot } from '../src/manifest/load.js';
import { validateObject } from '../src/manifest/validate.js';

const v1 = (spec: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'autoscaling/v1',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: 'web', namespace: 'shop', ...extra },
  spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 5, ...spec },
});

test('an autoscaling/v1 target CPU is v2\'s CPU Utilization metric; with none, 80%, as Kubernetes converts it', (t) => {
  const converted = hpaFromV1(v1({ targetCPUUtilizationPercentage: 50 }));
  t.is(converted.apiVersion, 'autoscaling/v2');
  t.deepEqual(converted.spec, { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 5, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }] });
  t.deepEqual(hpaFromV1(v1({})).spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }]);
});

test('a v2 HPA read as v1 and written back is the same: what v1 cannot say rides in its annotations', (t) => {
  const v2 = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web', namespace: 'shop', annotations: { team: 'a' } },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      minReplicas: 2,
      maxReplicas: 6,
      metrics: [
        { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } } },
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } },
      ],
      behavior: { scaleDown: { stabilizationWindowSeconds: 30 } },
    },
    status: {
      currentReplicas: 2,
      desiredReplicas: 3,
      currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 75 } } }],
      conditions: [{ type: 'AbleToScale', status: 'True' }],
    },
  };
  const seen = hpaToV1(v2);
  t.like(seen.spec, { minReplicas: 2, maxReplicas: 6, targetCPUUtilizationPercentage: 60 });
  t.is(seen.spec.metrics, undefined);
  t.deepEqual(seen.status, { currentReplicas: 2, desiredReplicas: 3, currentCPUUtilizationPercentage: 75 });
  t.deepEqual(JSON.parse(seen.metadata.annotations!['autoscaling.alpha.kubernetes.io/metrics']!), [{ type: 'Resource', resource: { name: 'memory', targetAverageValue: '100Mi' } }]);
  t.is(seen.metadata.annotations!.team, 'a');
  const back = hpaFromV1(seen);
  // The CPU metric comes back first (v1 keeps it apart); everything else is as it was.
  t.deepEqual(back, { ...v2, spec: { ...v2.spec, metrics: [v2.spec.metrics[1], v2.spec.metrics[0]] } });
  t.deepEqual(hpaToV1(back), seen);
});

test('a v1 HPA is checked with its own fields and paths, and its annotations as what they convert to', (t) => {
  t.deepEqual(validateObject(v1({ targetCPUUtilizationPercentage: 50 })), []);
  t.deepEqual(validateObject(v1({ targetCPUUtilizationPercentage: 0 })).map((i) => [i.path.join('.'), i.message]), [['spec.targetCPUUtilizationPercentage', 'must be at least 1 (got 0)']]);
  t.like(validateObject(v1({ targetCPUUtilisationPercentage: 50 }))[0], { path: ['spec', 'targetCPUUtilisationPercentage'], message: 'is not a field Kubernetes defines here (kept as written, not acted on); did you mean "targetCPUUtilizationPercentage"?', warning: true, unknownField: true });
  t.deepEqual(validateObject(v1({ minReplicas: 6 })).map((i) => i.path.join('.')), ['spec.maxReplicas']);
  t.deepEqual(validateObject(v1({}, { annotations: { 'autoscaling.alpha.kubernetes.io/metrics': '[{' } })).map((i) => i.path.join('.')), ['metadata.annotations.autoscaling.alpha.kubernetes.io/metrics']);
  const pods = validateObject(v1({}, { annotations: { 'autoscaling.alpha.kubernetes.io/metrics': '[{"type":"Pods","pods":{"metricName":"rps","targetAverageValue":"10"}}]' } }));
  t.regex(pods[0]!.message, /metric of type "Pods": Gouvernail scales on Resource and ContainerResource/);
  t.regex(validateObject({ ...v1({}), apiVersion: 'autoscaling/v2beta2' })[0]!.message, /served as autoscaling\/v2 and autoscaling\/v1, not "autoscaling\/v2beta2"/);
});

test('a folder\'s autoscaling/v1 HPA is planned as the v2 it converts to; its mistakes name the file and line', (t) => {
  const good = 'apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: web\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: web\n  maxReplicas: 4\n  targetCPUUtilizationPercentage: 70\n';
  const set = parseSnapshot([{ path: 'hpa.yaml', text: good }]);
  t.deepEqual(set.problems, []);
  t.like(set.manifests[0]!.object, { apiVersion: 'autoscaling/v2', spec: { minReplicas: 1, maxReplicas: 4, metrics: [{ resource: { name: 'cpu', target: { averageUtilization: 70 } } }] } });
  const bad = parseSnapshot([{ path: 'hpa.yaml', text: good.replace('70', '-3') }]);
  t.like(bad.problems[0], { file: 'hpa.yaml', line: 11, field: 'spec.targetCPUUtilizationPercentage', severity: 'error' });
  t.is(bad.manifests.length, 0);
});
