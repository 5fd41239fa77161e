import test from 'ava';
import type { KubeObject } from '../src/manifest/types.js';
import { autoscaledKeys, specBesideReplicas, withAutoscaledReplicas } from '../src/apply/autoscaled.js';

const deployment = (name: string, replicas?: number, image = 'web:1'): KubeObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'shop' }, spec: { ...(replicas !== undefined ? { replicas } : {}), template: { spec: { containers: [{ name: 'c', image }] } } } });
const hpa = (target: string, namespace = 'shop'): KubeObject => ({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: `${target}-hpa`, namespace }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target }, maxReplicas: 5 } });

test("an object an autoscaler scales is compared and written with the live object's replicas; any other keeps its manifest's", (t) => {
  const autoscaled = autoscaledKeys([hpa('web'), hpa('api', 'other')]);
  t.deepEqual([...autoscaled], ['Deployment/shop/web', 'Deployment/other/api']);
  const desired = deployment('web', 1, 'web:2');
  const written = withAutoscaledReplicas(desired, deployment('web', 4), autoscaled);
  t.is(written.spec.replicas, 4);
  t.is(written.spec.template.spec.containers[0].image, 'web:2', 'the rest is the manifest\'s');
  t.is(desired.spec.replicas, 1, 'the manifest is not changed');
  t.is(withAutoscaledReplicas(deployment('db', 1), deployment('db', 4), autoscaled).spec.replicas, 1, 'no autoscaler: the manifest\'s');
  t.is(withAutoscaledReplicas(desired, undefined, autoscaled), desired, 'not made yet: the manifest\'s');
});

test("an autoscaler's scaling leaves an object's spec beside its replicas as it was; an edit does not", (t) => {
  t.is(specBesideReplicas(deployment('web', 1)), specBesideReplicas(deployment('web', 4)));
  t.not(specBesideReplicas(deployment('web', 1)), specBesideReplicas(deployment('web', 1, 'web:2')));
});
