import test from 'ava';
import { image, startServer, waitFor, type TestServer } from './docker-helpers.js';
import { kubectl } from './kubectl-helpers.js';

let server: TestServer;
test.before(async () => {
  server = await startServer();
});
test.after.always(async () => {
  await server?.destroy();
});

for (const [index, version] of ['1.30', '1.33'].entries()) {
test.serial(`kubectl ${version} imperative commands: run with its flags and dry runs, expose, set, rollout pause/resume/restart/undo, create deployment, service, job and job from a cronjob, serviceaccount, token, role and binding, quota, pdb and ingress, cordon, uncordon and drain, top`, async (t) => {
  const k = kubectl(server.kubeconfig, version);
  const ns = `imperative-${version.replace('.', '')}`;
  const ok = async (...args: string[]) => {
    const r = await k(args);
    t.is(r.code, 0, `kubectl ${args.join(' ')}: ${r.out}${r.err}`);
    return r.out;
  };
  await ok('create', 'namespace', ns);
  // run: labels, env, port, overrides, restart policy, command; dry runs create nothing.
  t.regex(await ok('run', 'dry', '-n', ns, `--image=${image}`, '--dry-run=client', '-o', 'yaml'), /kind: Pod[\s\S]*name: dry/);
  t.regex(await ok('run', 'dry', '-n', ns, `--image=${image}`, '--dry-run=server'), /pod\/dry created \(server dry run\)/);
  t.not((await k(['get', 'pod', 'dry', '-n', ns])).code, 0, 'a dry run creates nothing');
  await ok('run', 'flags', '-n', ns, `--image=${image}`, '--labels=team=blue', '--env=COLOR=blue', '--port=8080', '--restart=OnFailure', '--overrides={"spec":{"terminationGracePeriodSeconds":5}}', '--command', '--', 'sh', '-c', 'echo $COLOR; sleep 3600');
  await ok('wait', '-n', ns, '--for=condition=Ready', 'pod/flags', '--timeout=120s');
  const pod = (await server.client.get('Pod', ns, 'flags'))!;
  t.is(pod.metadata.labels!.team, 'blue');
  t.is(pod.spec.restartPolicy, 'OnFailure');
  t.is(pod.spec.terminationGracePeriodSeconds, 5);
  t.deepEqual(pod.spec.containers[0].ports, [{ containerPort: 8080, protocol: 'TCP' }]);
  t.is(await ok('logs', '-n', ns, 'flags'), 'blue\n');

  // A Deployment, exposed, changed with set, paused and resumed, restarted and undone.
  const applied = await k(['apply', '-n', ns, '-f', '-'], { input: `apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\nspec:\n  selector: { matchLabels: { app: web } }\n  template:\n    metadata: { labels: { app: web } }\n    spec:\n      containers: [{ name: c, image: "${image}", command: ["sleep", "3600"], ports: [{ containerPort: 8080 }] }]\n` });
  t.is(applied.code, 0, applied.err);
  await ok('rollout', 'status', '-n', ns, 'deployment/web', '--timeout=120s');
  t.regex(await ok('expose', 'deployment', 'web', '-n', ns, '--port=8080', '--type=NodePort'), /service\/web exposed/);
  t.regex(await ok('get', 'svc', 'web', '-n', ns), /NodePort\s+\S+\s+<none>\s+8080:3\d{4}\/TCP/);
  // Back to a ClusterIP: the nodePort the server gave it goes with the type.
  await ok('patch', 'svc', 'web', '-n', ns, '-p', '{"spec":{"type":"ClusterIP"}}');
  t.regex(await ok('get', 'svc', 'web', '-n', ns), /ClusterIP\s+\S+\s+<none>\s+8080\/TCP/);
  await ok('set', 'env', 'deployment/web', '-n', ns, 'MODE=test');
  await ok('rollout', 'status', '-n', ns, 'deployment/web', '--timeout=120s');
  await ok('set', 'resources', 'deployment/web', '-n', ns, '-c', 'c', '--limits=memory=64Mi');
  await ok('rollout', 'status', '-n', ns, 'deployment/web', '--timeout=120s');
  const live = (await server.client.get('Deployment', ns, 'web'))!;
  t.deepEqual(live.spec.template.spec.containers[0].env, [{ name: 'MODE', value: 'test' }]);
  t.is(live.spec.template.spec.containers[0].resources.limits.memory, '64Mi');

  // Paused: a new image waits; resumed: it rolls out.
  await ok('rollout', 'pause', 'deployment/web', '-n', ns);
  await ok('set', 'image', 'deployment/web', '-n', ns, 'c=gouvernail-example/busybox:2');
  await waitFor('the pause observed', async () => (await server.client.get('Deployment', ns, 'web'))?.status?.conditions?.some((c: { reason: string }) => c.reason === 'DeploymentPaused'));
  t.true((await server.client.list('Pod', ns, 'app=web')).every((p) => p.spec.containers[0].image === image), 'nothing rolled out while paused');
  await ok('rollout', 'resume', 'deployment/web', '-n', ns);
  await ok('rollout', 'status', '-n', ns, 'deployment/web', '--timeout=120s');
  await waitFor('the new image running', async () => {
    const pods = (await server.client.list('Pod', ns, 'app=web')).filter((p) => !p.metadata.deletionTimestamp);
    return pods.length === 1 && pods[0]!.spec.containers[0].image === 'gouvernail-example/busybox:2';
  });
  await ok('rollout', 'restart', 'deployment/web', '-n', ns);
  await ok('rollout', 'status', '-n', ns, 'deployment/web', '--timeout=120s');
  // A change cause written after the change is the newest revision's, as its ReplicaSet takes it.
  await ok('annotate', 'deployment/web', '-n', ns, 'kubernetes.io/change-cause=restarted by hand');
  await waitFor('the change cause in the history', async () => /\n\d+\s+restarted by hand\s*$/.test(await ok('rollout', 'history', 'deployment/web', '-n', ns)));
  await ok('rollout', 'undo', 'deployment/web', '-n', ns);
  await ok('rollout', 'status', '-n', ns, 'deployment/web', '--timeout=120s');

  // create deployment and create service: kubectl's typed clients send protobuf bodies.
  await ok('create', 'deployment', 'typed', '-n', ns, `--image=${image}`, '--replicas=2', '--port=8080', '--', 'sleep', '3600');
  const typed = (await server.client.get('Deployment', ns, 'typed'))!;
  t.is(typed.spec.replicas, 2);
  t.deepEqual(typed.spec.template.spec.containers[0].command, ['sleep', '3600']);
  t.deepEqual(typed.spec.template.spec.containers[0].ports, [{ containerPort: 8080, protocol: 'TCP' }]);
  await ok('rollout', 'status', '-n', ns, 'deployment/typed', '--timeout=120s');
  // Undone, it goes back to the ReplicaSet of its first revision (kubectl replaces the annotations
  // the Deployment carries, its revision among them), not to a third one.
  await ok('set', 'image', 'deployment/typed', '-n', ns, 'busybox=gouvernail-example/busybox:2');
  await ok('rollout', 'status', '-n', ns, 'deployment/typed', '--timeout=120s');
  t.is((await server.client.get('Deployment', ns, 'typed'))!.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
  t.regex(await ok('rollout', 'undo', 'deployment/typed', '-n', ns), /rolled back/);
  await ok('rollout', 'status', '-n', ns, 'deployment/typed', '--timeout=120s');
  const sets = (await server.client.list('ReplicaSet', ns)).filter((rs) => rs.metadata.name.startsWith('typed-'));
  t.deepEqual(sets.map((rs) => [rs.spec.template.spec.containers[0].image, rs.metadata.annotations?.['deployment.kubernetes.io/revision']]).sort(), [['gouvernail-example/busybox:1', '3'], ['gouvernail-example/busybox:2', '2']]);
  t.regex(await ok('rollout', 'history', 'deployment/typed', '-n', ns), /REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>/);
  // autoscale: an HPA, sent in protobuf as autoscaling/v2 from kubectl 1.32, as autoscaling/v1
  // before (converted to v2, and served as v1 too).
  t.regex(await ok('autoscale', 'deployment', 'typed', '-n', ns, '--min=1', '--max=3', '--cpu-percent=50'), /horizontalpodautoscaler.autoscaling\/typed autoscaled/);
  const hpa = (await server.client.get('HorizontalPodAutoscaler', ns, 'typed'))!;
  t.like(hpa.spec, { scaleTargetRef: { kind: 'Deployment', name: 'typed', apiVersion: 'apps/v1' }, minReplicas: 1, maxReplicas: 3, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }] });
  t.regex(await ok('get', 'hpa', 'typed', '-n', ns), /typed\s+Deployment\/typed\s+.*50%\s+1\s+3\s/);
  t.is(await ok('get', 'horizontalpodautoscalers.v1.autoscaling', 'typed', '-n', ns, '-o', 'jsonpath={.apiVersion} {.spec.targetCPUUtilizationPercentage}'), 'autoscaling/v1 50');
  await ok('delete', 'hpa', 'typed', '-n', ns);
  // A published autoscaling/v1 manifest applies, applies again unchanged, and changes.
  const v1Hpa = (cpu: number) => `apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: { name: typed }\nspec:\n  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: typed }\n  minReplicas: 1\n  maxReplicas: 2\n  targetCPUUtilizationPercentage: ${cpu}\n`;
  for (const [cpu, said] of [[60, /created/], [60, /unchanged/], [65, /configured/]] as const) {
    const r = await k(['apply', '-n', ns, '-f', '-'], { input: v1Hpa(cpu) });
    t.is(r.code, 0, r.err);
    t.regex(r.out, said);
  }
  t.is((await server.client.get('HorizontalPodAutoscaler', ns, 'typed'))!.spec.metrics[0].resource.target.averageUtilization, 65);
  await ok('delete', 'hpa', 'typed', '-n', ns);
  await ok('create', 'service', 'clusterip', 'typed', '-n', ns, '--tcp=80:8080');
  t.deepEqual((await server.client.get('Service', ns, 'typed'))!.spec.ports, [{ name: '80-8080', port: 80, protocol: 'TCP', targetPort: 8080 }]);
  await ok('create', 'service', 'nodeport', 'typed-np', '-n', ns, '--tcp=81:8081', `--node-port=${30181 + index}`);
  t.regex(await ok('get', 'svc', 'typed-np', '-n', ns), new RegExp(`NodePort\\s+\\S+\\s+<none>\\s+81:${30181 + index}/TCP`));
  // create job: a Job from its protobuf body, run to completion.
  t.regex(await ok('create', 'job', 'once', '-n', ns, `--image=${image}`, '--', 'echo', 'job done'), /job.batch\/once created/);
  await ok('wait', '--for=condition=complete', 'job/once', '-n', ns, '--timeout=120s');
  t.is(await ok('logs', 'job/once', '-n', ns), 'job done\n');
  // create job --from=cronjob: the CronJob's template, the CronJob named as the Job's owner.
  await ok('create', 'cronjob', 'tick', '-n', ns, `--image=${image}`, '--schedule=0 0 1 1 *', '--', 'echo', 'ticked by hand');
  t.regex(await ok('create', 'job', 'by-hand', '-n', ns, '--from=cronjob/tick'), /job.batch\/by-hand created/);
  await ok('wait', '--for=condition=complete', 'job/by-hand', '-n', ns, '--timeout=120s');
  t.is(await ok('logs', 'job/by-hand', '-n', ns), 'ticked by hand\n');
  const cronJob = (await server.client.get('CronJob', ns, 'tick'))!;
  t.like((await server.client.get('Job', ns, 'by-hand'))!.metadata, { annotations: { 'cronjob.kubernetes.io/instantiate': 'manual' }, ownerReferences: [{ kind: 'CronJob', name: 'tick', uid: cronJob.metadata.uid, controller: true }] });

  // A ServiceAccount, its token, and what its Role lets it do; a quota and a budget.
  await ok('create', 'serviceaccount', 'bot', '-n', ns);
  const token = (await ok('create', 'token', 'bot', '-n', ns, '--duration=10m')).trim();
  t.regex(await ok('auth', 'whoami', `--token=${token}`), new RegExp(`Username\\s+system:serviceaccount:${ns}:bot`));
  await ok('create', 'role', 'reader', '-n', ns, '--verb=get,list', '--resource=pods,deployments.apps');
  await ok('create', 'rolebinding', 'bot-reads', '-n', ns, '--role=reader', `--serviceaccount=${ns}:bot`);
  t.like((await server.client.get('Role', ns, 'reader'))!.rules, [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }, { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list'] }]);
  t.is((await ok('auth', 'can-i', 'list', 'deployments.apps', '-n', ns, `--token=${token}`)).trim(), 'yes');
  t.is((await k(['auth', 'can-i', 'delete', 'pods', '-n', ns, `--token=${token}`])).out.trim(), 'no');
  await ok('create', 'clusterrole', `node-reader-${ns}`, '--verb=get,list', '--resource=nodes');
  await ok('create', 'clusterrolebinding', `bot-nodes-${ns}`, `--clusterrole=node-reader-${ns}`, `--serviceaccount=${ns}:bot`);
  t.regex(await ok('get', 'nodes', `--token=${token}`), /test-node/);
  await ok('create', 'quota', 'small', '-n', ns, '--hard=pods=50');
  t.deepEqual((await server.client.get('ResourceQuota', ns, 'small'))!.spec, { hard: { pods: '50' } });
  // Printed with Kubernetes' columns: a binding's role and subjects, a quota's use, when a role was made.
  t.regex(await ok('get', 'serviceaccount', 'bot', '-n', ns), /^NAME\s+SECRETS\s+AGE\nbot\s+0\s+\d+s\n$/);
  t.regex(await ok('get', 'rolebinding', 'bot-reads', '-n', ns, '-o', 'wide'), new RegExp(`^NAME\\s+ROLE\\s+AGE\\s+USERS\\s+GROUPS\\s+SERVICEACCOUNTS\\nbot-reads\\s+Role/reader\\s+\\d+s\\s+${ns}:bot\\n$`));
  t.regex(await ok('get', 'clusterrolebinding', `bot-nodes-${ns}`), new RegExp(`^NAME\\s+ROLE\\s+AGE\\nbot-nodes-${ns}\\s+ClusterRole/node-reader-${ns}\\s+\\d+s\\n$`));
  t.regex(await ok('get', 'role', 'reader', '-n', ns), /^NAME\s+CREATED AT\nreader\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/);
  await waitFor('the quota\'s use in kubectl get quota', async () => /^NAME\s+AGE\s+REQUEST\s+LIMIT\nsmall\s+\d+s\s+pods: \d+\/50\s*\n$/.test(await ok('get', 'quota', 'small', '-n', ns)));
  await ok('create', 'pdb', 'keep-one', '-n', ns, '--selector=app=web', '--min-available=1');
  t.like((await server.client.get('PodDisruptionBudget', ns, 'keep-one'))!.spec, { minAvailable: 1, selector: { matchLabels: { app: 'web' } } });
  await ok('delete', 'pdb', 'keep-one', '-n', ns);
  await ok('create', 'ingress', 'web', '-n', ns, '--class=gouvernail', '--rule=web.example/api*=web:8080', '--rule=www.example/=web:http,tls=web-cert');
  t.deepEqual((await server.client.get('Ingress', ns, 'web'))!.spec, {
    ingressClassName: 'gouvernail',
    rules: [
      { host: 'web.example', http: { paths: [{ path: '/api', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 8080 } } } }] } },
      { host: 'www.example', http: { paths: [{ path: '/', pathType: 'Exact', backend: { service: { name: 'web', port: { name: 'http' } } } }] } },
    ],
    tls: [{ hosts: ['www.example'], secretName: 'web-cert' }],
  });
  await ok('delete', 'ingress', 'web', '-n', ns);

  // Cordoned, the node takes no new Pod; uncordoned, it does.
  await ok('cordon', 'test-node');
  t.regex(await ok('get', 'nodes'), /test-node\s+Ready,SchedulingDisabled/);
  await ok('run', 'waiting', '-n', ns, `--image=${image}`, '--command', '--', 'sleep', '3600');
  await waitFor('FailedScheduling', async () => (await server.client.list('Event', ns)).some((e) => e.reason === 'FailedScheduling' && (e.involvedObject as { name: string }).name === 'waiting'));
  t.falsy((await server.client.get('Pod', ns, 'waiting'))!.spec.nodeName);
  await ok('uncordon', 'test-node');
  await ok('wait', '-n', ns, '--for=condition=Ready', 'pod/waiting', '--timeout=120s');

  // drain: cordon, then every Pod evicted (serve's own components, like static Pods, stay); a
  // Deployment's Pods are made again, and wait for a node.
  const before = (await server.client.list('Pod', ns, 'app=web')).map((p) => p.metadata.name);
  const drained = await ok('drain', 'test-node', '--ignore-daemonsets', '--delete-emptydir-data', '--force', '--timeout=120s');
  t.regex(drained, /node\/test-node drained/);
  t.regex(drained, /pod\/waiting evicted/);
  t.is((await k(['get', 'pod', 'waiting', '-n', ns])).code, 1, 'a bare Pod is gone');
  const after = (await server.client.list('Pod', ns, 'app=web')).filter((p) => !p.metadata.deletionTimestamp);
  t.true(after.length === 1 && !before.includes(after[0]!.metadata.name) && !after[0]!.spec.nodeName, 'the Deployment made a new Pod, waiting for a node');
  t.regex(await ok('get', 'pods', '-n', 'kube-system'), /kube-scheduler-test-node\s+1\/1\s+Running/);
  await ok('uncordon', 'test-node');
  await ok('rollout', 'status', '-n', ns, 'deployment/web', '--timeout=120s');
  // top: the metrics API, from each container's Docker stats.
  await ok('run', 'hog', '-n', ns, `--image=${image}`, '--command', '--', 'sh', '-c', 'head -c 8000000 /dev/zero > /dev/shm/held; sleep 3600');
  await ok('wait', '-n', ns, '--for=condition=Ready', 'pod/hog', '--timeout=120s');
  const top = await waitFor('top showing the memory the Pod holds', async () => {
    const r = await k(['top', 'pods', '-n', ns]);
    const m = /^hog\s+\d+m\s+(\d+)Mi/m.exec(r.out);
    return m && Number(m[1]) >= 4 ? r.out : undefined;
  }, 90_000);
  t.regex(top, /^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)/);
  // Usage as a share of the node's allocatable CPU and memory.
  t.regex(await ok('top', 'nodes'), /^test-node\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%/m);
  await ok('delete', 'namespace', ns, '--wait=false');
});
}
