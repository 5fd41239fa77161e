import type { KubeObject } from '../manifest/types.js';
import { jobLabels } from '../manifest/pod-template.js';
import { type ControllerContext, isPodFinished, isPodReady, nameSuffix, ownedBy, podFromTemplate } from './controller-context.js';

const indexAnnotation = 'batch.kubernetes.io/job-completion-index';

function condition(job: KubeObject, type: string): { status: string; lastTransitionTime?: string } | undefined {
  return (job.status?.conditions ?? []).find((c: { type: string; status: string }) => c.type === type && c.status === 'True');
}

/** Whether a Job has finished: Complete or Failed. */
export function jobFinished(job: KubeObject): 'Complete' | 'Failed' | undefined {
  return condition(job, 'Complete') ? 'Complete' : condition(job, 'Failed') ? 'Failed' : undefined;
}

function restarts(pod: KubeObject): number {
  return (pod.status?.containerStatuses ?? []).reduce((n: number, c: { restartCount?: number }) => n + (c.restartCount ?? 0), 0);
}

function finishedAt(pod: KubeObject): number {
  const times = (pod.status?.containerStatuses ?? []).map((c: { state?: { terminated?: { finishedAt?: string } } }) => Date.parse(c.state?.terminated?.finishedAt ?? '')).filter((t: number) => !Number.isNaN(t));
  return times.length ? Math.max(...times) : 0;
}

/**
 * The Job controller, as Kubernetes': it keeps up to `parallelism` Pods running until
 * `completions` of them succeed (or, with no completions, until one succeeds and none runs).
 * Failures (failed Pods, and restarts under OnFailure) past `backoffLimit`, or a run longer than
 * `activeDeadlineSeconds`, fail the Job; a failed Pod is replaced after a backoff of 10 s doubling
 * to 6 min. A `podFailurePolicy` rule a failed Pod matches fails the Job at once (FailJob) or
 * leaves the failure out of the count (Ignore). `ttlSecondsAfterFinished` deletes a finished Job
 * with its Pods. Indexed Jobs give each Pod its index (JOB_COMPLETION_INDEX), and complete when
 * every index has succeeded once.
 */
export async function reconcileJob(job: KubeObject, ctx: ControllerContext): Promise<void> {
  if (job.metadata.deletionTimestamp) return;
  const spec = job.spec;
  const now = ctx.now();
  const done = jobFinished(job);
  if (done) return expire(job, ctx, now);

  const pods = ctx.list({ kind: 'Pod', namespace: job.metadata.namespace }).filter((p) => ownedBy(p, job));
  const active = pods.filter((p) => !isPodFinished(p) && !p.metadata.deletionTimestamp);
  const succeededPods = pods.filter((p) => p.status?.phase === 'Succeeded');
  const failedPods = pods.filter((p) => p.status?.phase === 'Failed');
  const indexed = spec.completionMode === 'Indexed';
  const indexOf = (p: KubeObject) => Number(p.metadata.annotations?.[indexAnnotation]);
  const succeeded = indexed ? new Set(succeededPods.map(indexOf)).size : succeededPods.length;
  // podFailurePolicy: the first rule that matches a failed Pod says what its failure does.
  const rules: PodFailureRule[] = spec.podFailurePolicy?.rules ?? [];
  const judged = failedPods.map((p) => ({ pod: p, rule: rules.length ? matchingRule(p, rules) : undefined }));
  const counted = judged.filter((j) => j.rule?.action !== 'Ignore').map((j) => j.pod);
  const failJob = judged.find((j) => j.rule?.action === 'FailJob');
  const failures = counted.length + (spec.template.spec.restartPolicy === 'OnFailure' ? active.reduce((n, p) => n + restarts(p), 0) : 0);
  const startTime = job.status?.startTime ?? (spec.suspend ? undefined : new Date(now).toISOString());
  const completions: number | undefined = spec.completions;

  let finished: { type: 'Complete' | 'Failed'; reason: string; message: string } | undefined;
  if (failJob) finished = { type: 'Failed', reason: 'PodFailurePolicy', message: failJob.rule!.message };
  else if (failures > spec.backoffLimit) finished = { type: 'Failed', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
  else if (spec.activeDeadlineSeconds !== undefined && startTime && now - Date.parse(startTime) >= spec.activeDeadlineSeconds * 1000) finished = { type: 'Failed', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
  else if (completions !== undefined ? succeeded >= completions : succeeded > 0 && active.length === 0) finished = { type: 'Complete', reason: 'Completed', message: 'Reached expected number of succeeded pods' };

  if (finished || spec.suspend) {
    for (const p of active) {
      await ctx.remove(p);
      ctx.event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
    }
  } else {
    const wanted = completions === undefined ? (succeeded > 0 ? 0 : spec.parallelism) : Math.min(spec.parallelism, completions - succeeded);
    const missing = wanted - active.length;
    // A failed Pod is replaced after a backoff: 10 s, doubling with each failure, at most 6 minutes.
    // (An ignored failure is replaced at once, as it counts for nothing.)
    const lastFailure = Math.max(0, ...counted.map(finishedAt));
    const backoffUntil = counted.length > 0 ? lastFailure + Math.min(360_000, 10_000 * 2 ** (counted.length - 1)) : 0;
    if (missing > 0 && now < backoffUntil) ctx.wakeAt(backoffUntil);
    else if (missing > 0) {
      const taken = new Set([...active, ...succeededPods].map(indexOf));
      const free = indexed ? Array.from({ length: completions! }, (_, i) => i).filter((i) => !taken.has(i)) : [];
      for (let i = 0; i < missing && (!indexed || i < free.length); i++) {
        const index = indexed ? free[i] : undefined;
        const pod = jobPod(job, index);
        await ctx.create(pod);
        ctx.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
      }
    } else if (missing < 0) {
      const extra = [...active].sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '')).slice(0, -missing);
      for (const p of extra) await ctx.remove(p);
    }
    if (spec.activeDeadlineSeconds !== undefined && startTime) ctx.wakeAt(Date.parse(startTime) + spec.activeDeadlineSeconds * 1000);
  }

  const at = new Date(now).toISOString();
  const conditions = [...(job.status?.conditions ?? []).filter((c: { type: string }) => c.type !== 'Suspended')];
  if (spec.suspend) conditions.push({ type: 'Suspended', status: 'True', reason: 'JobSuspended', message: 'Job suspended', lastProbeTime: at, lastTransitionTime: job.status?.conditions?.find((c: { type: string }) => c.type === 'Suspended')?.lastTransitionTime ?? at });
  if (finished) {
    conditions.push({ type: finished.type, status: 'True', reason: finished.reason, message: finished.message, lastProbeTime: at, lastTransitionTime: at });
    ctx.event(job, finished.type === 'Complete' ? 'Normal' : 'Warning', finished.type === 'Complete' ? 'Completed' : finished.reason, finished.type === 'Complete' ? 'Job completed' : finished.message);
    ctx.log(finished.type === 'Complete' ? 'job completed' : 'job failed', { job: `${job.metadata.namespace}/${job.metadata.name}`, reason: finished.reason });
  }
  const stillActive = finished || spec.suspend ? 0 : ctx.list({ kind: 'Pod', namespace: job.metadata.namespace }).filter((p) => ownedBy(p, job) && !isPodFinished(p) && !p.metadata.deletionTimestamp).length;
  const status: Record<string, unknown> = {
    ...(startTime ? { startTime } : {}),
    ...(finished?.type === 'Complete' ? { completionTime: at } : {}),
    ...(stillActive ? { active: stillActive } : {}),
    ...(succeeded ? { succeeded } : {}),
    ...(failures ? { failed: failures } : {}),
    ready: active.filter(isPodReady).length,
    ...(indexed && succeeded ? { completedIndexes: compactIndexes([...new Set(succeededPods.map(indexOf))]) } : {}),
    uncountedTerminatedPods: {},
    ...(conditions.length ? { conditions } : {}),
  };
  await ctx.writeStatus(job, status);
  if (finished) await expire({ ...job, status }, ctx, now);
}

interface PodFailureRule {
  action: 'FailJob' | 'Ignore' | 'Count' | 'FailIndex';
  onExitCodes?: { containerName?: string; operator: 'In' | 'NotIn'; values: number[] };
  onPodConditions?: { type: string; status?: string }[];
}

/**
 * The first podFailurePolicy rule a failed Pod matches, with Kubernetes' words for it: by the exit
 * code of a container (or the one it names) that ended other than 0, or by a condition of the Pod.
 * Pure.
 */
export function matchingRule(pod: KubeObject, rules: PodFailureRule[]): { action: PodFailureRule['action']; message: string } | undefined {
  const ended = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])] as { name: string; state?: { terminated?: { exitCode?: number } } }[];
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    const codes = rule.onExitCodes;
    if (codes) {
      const hit = ended.find((c) => {
        const code = c.state?.terminated?.exitCode;
        if (code === undefined || code === 0 || (codes.containerName !== undefined && codes.containerName !== c.name)) return false;
        return codes.values.includes(code) === (codes.operator === 'In');
      });
      if (hit) return { action: rule.action, message: `Container ${hit.name} for pod ${pod.metadata.namespace}/${pod.metadata.name} failed with exit code ${hit.state!.terminated!.exitCode} matching ${rule.action} rule at index ${i}` };
    }
    for (const want of rule.onPodConditions ?? []) {
      const has = (pod.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === want.type && c.status === (want.status ?? 'True'));
      if (has) return { action: rule.action, message: `Pod ${pod.metadata.namespace}/${pod.metadata.name} has condition ${want.type} matching ${rule.action} rule at index ${i}` };
    }
  }
  return undefined;
}

/** ttlSecondsAfterFinished: the finished Job goes, and its Pods with it. */
async function expire(job: KubeObject, ctx: ControllerContext, now: number): Promise<void> {
  const ttl = job.spec.ttlSecondsAfterFinished;
  if (ttl === undefined) return;
  const done = condition(job, 'Complete') ?? condition(job, 'Failed');
  const at = Date.parse(done?.lastTransitionTime ?? job.status?.completionTime ?? '') + ttl * 1000;
  if (Number.isNaN(at)) return;
  if (now < at) return ctx.wakeAt(at);
  ctx.log('deleting a finished Job after its ttlSecondsAfterFinished', { job: `${job.metadata.namespace}/${job.metadata.name}`, ttl });
  await ctx.remove(job);
}

function jobPod(job: KubeObject, index: number | undefined): KubeObject {
  const name = `${job.metadata.name}-${index !== undefined ? `${index}-` : ''}${nameSuffix()}`;
  const labels = { ...jobLabels(job.metadata.uid!, job.metadata.name), ...(index !== undefined ? { [indexAnnotation]: String(index) } : {}) };
  const pod = podFromTemplate(job, job.spec.template, name, { labels });
  if (index !== undefined) {
    pod.metadata.annotations = { ...pod.metadata.annotations, [indexAnnotation]: String(index) };
    pod.spec.hostname = `${job.metadata.name}-${index}`;
    for (const c of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) c.env = [...(c.env ?? []), { name: 'JOB_COMPLETION_INDEX', value: String(index) }];
  }
  return pod;
}

/** 0,1,2,5 → "0-2,5", as status.completedIndexes. */
function compactIndexes(indexes: number[]): string {
  const sorted = [...indexes].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : String(sorted[i]));
    i = j;
  }
  return parts.join(',');
}
