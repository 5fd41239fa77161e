import test from 'ava';
import { recommend, shape, type PodSample } from '../src/runtime/autoscaling.js';

// The HPA's arithmetic, from fixtures (the evidence on Docker is in test/workloads-docker.test.ts).
const cpu = { name: 'cpu' as const, target: { type: 'Utilization' as const, averageUtilization: 50 } };
const pod = (name: string, usage: number, request = 0.1, ready = true): PodSample => ({ name, ready, containers: [{ name: 'c', requests: { cpu: request, memory: 64 * 2 ** 20 }, usage: { cpu: usage, memory: 10 * 2 ** 20 } }] });

test('a recommendation is ceil(pods × utilization / target); within 10% of the target nothing changes', (t) => {
  t.is(recommend(1, [cpu], [pod('a', 0.2)]).replicas, 4, '200% of the request against 50%');
  t.is(recommend(2, [cpu], [pod('a', 0.05), pod('b', 0.054)]).replicas, 2, '52% is within tolerance');
  t.is(recommend(4, [cpu], [pod('a', 0.01), pod('b', 0.01), pod('c', 0.01), pod('d', 0.01)]).replicas, 1);
  t.like(recommend(1, [cpu], [pod('a', 0.2)]).current[0], { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 200 } } });
});

test('no recommendation without requests or without metrics, with the reason', (t) => {
  t.regex(recommend(1, [cpu], [{ name: 'a', ready: true, containers: [{ name: 'c', requests: {}, usage: { cpu: 1, memory: 1 } }] }]).problem!, /missing request for cpu in container c/);
  t.regex(recommend(1, [cpu], [{ name: 'a', ready: true, containers: [{ name: 'c', requests: { cpu: 0.1 } }] }]).problem!, /no metrics yet/);
  t.is(recommend(3, [{ name: 'memory', target: { type: 'AverageValue', averageValue: '20Mi' } }], [pod('a', 0), pod('b', 0), pod('c', 0)]).replicas, 2, '10Mi each against 20Mi: 3 × 0.5');
});

test('behaviour: up at once within the policies and maxReplicas, down only after the stabilization window', (t) => {
  const now = 1_000_000;
  t.is(shape({ now, current: 1, recommended: 10, min: 1, max: 3, history: [], events: [] }), 3, 'capped by maxReplicas');
  t.is(shape({ now, current: 1, recommended: 10, min: 1, max: 20, history: [], events: [] }), 5, '4 Pods or 100% per 15 s, the larger');
  t.is(shape({ now, current: 1, recommended: 10, min: 1, max: 20, behavior: { scaleUp: { policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } }, history: [], events: [{ at: now - 30_000, change: 1 }] }), 1, 'one Pod a minute, already used');
  const history = [{ at: now - 200_000, replicas: 3 }, { at: now - 100_000, replicas: 2 }];
  t.is(shape({ now, current: 3, recommended: 1, min: 1, max: 3, history, events: [] }), 3, 'the highest recommendation of the last 5 minutes');
  t.is(shape({ now, current: 3, recommended: 1, min: 1, max: 3, behavior: { scaleDown: { stabilizationWindowSeconds: 150 } }, history, events: [] }), 2);
  t.is(shape({ now, current: 3, recommended: 1, min: 1, max: 3, behavior: { scaleDown: { stabilizationWindowSeconds: 0 } }, history, events: [] }), 1);
  t.is(shape({ now, current: 3, recommended: 1, min: 2, max: 3, behavior: { scaleDown: { stabilizationWindowSeconds: 0 } }, history, events: [] }), 2, 'never under minReplicas');
  t.is(shape({ now, current: 3, recommended: 1, min: 1, max: 3, behavior: { scaleDown: { stabilizationWindowSeconds: 0, selectPolicy: 'Disabled' } }, history, events: [] }), 3);
});
