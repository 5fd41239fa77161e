import test from 'ava';
import { applyDefaults } from '../src/manifest/defaults.js';
import type { KubeObject } from '../src/manifest/types.js';
import { planPod } from '../src/runtime/pod-containers.js';

const pod = (ports: object[]): KubeObject =>
  applyDefaults({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop', uid: 'u1' }, spec: { containers: [{ name: 'web', image: 'busybox:1', ports }] } });
const none = { configMap: () => undefined, secret: () => undefined };

test('a hostPort is published on the addresses the node publishes on, or its own hostIP when that is one of them', (t) => {
  const all = planPod(pod([{ containerPort: 8080, hostPort: 18080 }]), none, 'i');
  t.deepEqual(all.containers[0]!.options.HostConfig!.PortBindings, { '8080/tcp': [{ HostPort: '18080' }] });
  const limited = planPod(pod([{ containerPort: 8080, hostPort: 18080 }]), { ...none, publishAddresses: ['127.0.0.1', '10.1.2.3'] }, 'i');
  t.deepEqual(limited.containers[0]!.options.HostConfig!.PortBindings, { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '18080' }, { HostIp: '10.1.2.3', HostPort: '18080' }] });
  const own = planPod(pod([{ containerPort: 8080, hostPort: 18080, hostIP: '127.0.0.1' }]), { ...none, publishAddresses: ['127.0.0.1'] }, 'i');
  t.deepEqual(own.containers[0]!.options.HostConfig!.PortBindings, { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '18080' }] });
  const refused = planPod(pod([{ containerPort: 8080, hostPort: 18080, hostIP: '0.0.0.0' }]), { ...none, publishAddresses: ['127.0.0.1'] }, 'i');
  t.regex(refused.configError!.message, /hostIP 0\.0\.0\.0 of hostPort 18080 is not an address this node publishes on \(127\.0\.0\.1\)/);
});

test("hostPID and hostIPC put every container in the host's namespaces", (t) => {
  const p = pod([]);
  p.spec.hostPID = true;
  p.spec.hostIPC = true;
  p.spec.containers.push({ ...p.spec.containers[0], name: 'side' });
  const plan = planPod(p, none, 'i');
  t.deepEqual(plan.containers.map((c) => [c.options.HostConfig!.PidMode, c.options.HostConfig!.IpcMode]), [['host', 'host'], ['host', 'host']]);
});

test("hostNetwork puts the Pod on the host's network: no network of its own, no hostname of its own", (t) => {
  const p = pod([{ containerPort: 8080, hostPort: 8080 }]);
  p.spec.hostNetwork = true;
  const first = planPod(p, none, 'i').containers[0]!.options;
  t.is(first.HostConfig!.NetworkMode, 'host');
  t.is(first.Hostname, undefined);
  t.is(first.NetworkingConfig, undefined);
  t.is(first.HostConfig!.PortBindings, undefined);
});
