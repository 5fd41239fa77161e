import test from 'ava';
import { containersOf, docker, image, isReady, startServer, waitFor } from './docker-helpers.js';
import { kubectl } from './kubectl-helpers.js';

test('kubectl debug adds an ephemeral container to a running Pod: it sees its target\'s processes, -i attaches to it, it is never restarted, and Pod Security holds it to the namespace\'s level', async (t) => {
  t.timeout(600_000);
  const server = await startServer();
  t.teardown(() => server.destroy());
  const k = kubectl(server.kubeconfig, '1.33');
  t.is((await k(['run', 'debugged', `--image=${image}`, '--command', '--', 'sleep', '3600'])).code, 0);
  await waitFor('the target running', async () => isReady((await server.client.get('Pod', 'default', 'debugged'))!), 180_000).catch(async (err) => {
    t.log((await k(['describe', 'pod', 'debugged'])).out);
    throw err;
  });
  const status = async (name: string) => ((await server.client.get('Pod', 'default', 'debugged'))!.status.ephemeralContainerStatuses ?? []).find((s: { name: string }) => s.name === name);

  const debug = await k(['debug', 'debugged', `--image=${image}`, '--target=debugged', '--container=probe', '--', 'sh', '-c', 'ps -o pid,args; echo from-debug']);
  t.is(debug.code, 0, debug.err);
  t.regex(debug.out + debug.err, /Targeting container "debugged"/);
  const ended = await waitFor('the probe ended', async () => (await status('probe'))?.state?.terminated, 120_000);
  t.is(ended.exitCode, 0);
  const logs = await k(['logs', 'debugged', '-c', 'probe']);
  t.regex(logs.out, /from-debug/);
  t.regex(logs.out, /^\s*1 sleep 3600$/m, 'PID 1 is the target\'s program: the same process namespace');
  const described = await k(['describe', 'pod', 'debugged']);
  t.regex(described.out, /Ephemeral Containers:\n\s+probe:\n\s+Container ID:\s+docker:\/\//);

  t.log('ran a probe');
  // -i: kubectl waits for it to run, then attaches to it and prints what it writes.
  const interactive = await k(['debug', '-i', 'debugged', `--image=${image}`, '--container=shell', '--', 'sh', '-c', 'sleep 2; echo interactive-$((6*7))']);
  t.is(interactive.code, 0, interactive.err);
  t.regex(interactive.out, /interactive-42/, interactive.err);

  // Ended, they stay ended: nothing restarts or remakes them.
  const probe = (await containersOf(server.installation, 'default')).find((c) => c.Labels['gouvernail.io/container'] === 'probe')!;
  await new Promise((r) => setTimeout(r, 3000));
  const info = await docker.getContainer(probe.Id).inspect();
  t.is(info.State.Status, 'exited');
  t.is(info.RestartCount, 0);
  t.is(info.HostConfig.RestartPolicy?.Name, 'no');
  t.true(isReady((await server.client.get('Pod', 'default', 'debugged'))!), 'the Pod stays Ready');

  // The namespace's Pod Security level (baseline) refuses a debug profile that adds capabilities.
  const general = await k(['debug', 'debugged', `--image=${image}`, '--profile=general', '--', 'true']);
  t.not(general.code, 0);
  t.regex(general.err, /violates PodSecurity "baseline:latest": non-default capabilities \(ephemeralContainer "debugger-\w+" must not include "SYS_PTRACE"/);
});
