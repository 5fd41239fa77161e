import cron, { type ScheduledTask } from 'node-cron';
import { cronPattern } from '../manifest/cron-schedule.js';
import type { KubeObject } from '../manifest/types.js';
import { type ControllerContext, controllerRef, ownedBy } from './controller-context.js';
import { jobFinished } from './job-controller.js';

const scheduledAnnotation = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
const minute = 60_000;
/** How far back a run missed while Gouvernail was down is looked for (startingDeadlineSeconds may say less). */
const lookBack = 24 * 60;

/**
 * One node-cron task per CronJob, in its time zone: each firing asks the controllers for a pass,
 * and tells which minutes are due (node-cron's own matching, so the schedule means what it says).
 */
export class CronTimers {
  private readonly tasks = new Map<string, { signature: string; task: ScheduledTask }>();

  constructor(private readonly kick: () => void) {}

  /** The task of a CronJob, made (or remade when its schedule or time zone changed). */
  taskFor(cj: KubeObject): ScheduledTask {
    const uid = cj.metadata.uid!;
    const signature = `${cj.spec.schedule}|${cj.spec.timeZone ?? ''}`;
    const have = this.tasks.get(uid);
    if (have?.signature === signature) return have.task;
    void have?.task.destroy();
    const task = cron.createTask(cronPattern(cj.spec.schedule), () => this.kick(), { timezone: cj.spec.timeZone, name: `cronjob ${cj.metadata.namespace}/${cj.metadata.name}` });
    void task.start();
    this.tasks.set(uid, { signature, task });
    return task;
  }

  /** Stops the tasks of CronJobs that are gone. */
  keep(uids: Set<string>): void {
    for (const [uid, t] of this.tasks) {
      if (uids.has(uid)) continue;
      void t.task.destroy();
      this.tasks.delete(uid);
    }
  }

  stop(): void {
    this.keep(new Set());
  }
}

/** The latest minute at or before now the schedule names, after `after` (both ms). */
export function lastDue(task: Pick<ScheduledTask, 'match'>, after: number, now: number): number | undefined {
  let t = Math.floor(now / minute) * minute;
  for (let i = 0; i < lookBack && t > after; i++, t -= minute) if (task.match(new Date(t))) return t;
  return undefined;
}

/**
 * The CronJob controller, as Kubernetes': at each scheduled minute it creates a Job named
 * NAME-<minutes since the epoch> from the jobTemplate, unless suspended, too late
 * (startingDeadlineSeconds), or forbidden by concurrencyPolicy (Forbid skips while a Job runs,
 * Replace deletes the running one). Finished Jobs beyond the history limits are deleted, oldest first.
 */
export async function reconcileCronJob(cj: KubeObject, ctx: ControllerContext, timers: CronTimers): Promise<void> {
  if (cj.metadata.deletionTimestamp) return;
  const spec = cj.spec;
  const now = ctx.now();
  const jobs = ctx.list({ kind: 'Job', namespace: cj.metadata.namespace }).filter((j) => ownedBy(j, cj));
  const running = jobs.filter((j) => !jobFinished(j) && !j.metadata.deletionTimestamp);
  let lastScheduleTime: string | undefined = cj.status?.lastScheduleTime;
  const task = timers.taskFor(cj);

  const after = Date.parse(lastScheduleTime ?? cj.metadata.creationTimestamp ?? new Date(now).toISOString());
  const due = spec.suspend ? undefined : lastDue(task, after, now);
  if (due !== undefined) {
    const name = `${cj.metadata.name}-${Math.floor(due / minute)}`;
    const late = spec.startingDeadlineSeconds !== undefined && now - due > spec.startingDeadlineSeconds * 1000;
    if (late) {
      ctx.event(cj, 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${new Date(due).toISOString()}`);
    } else if (spec.concurrencyPolicy === 'Forbid' && running.length > 0) {
      ctx.event(cj, 'Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
    } else if (!jobs.some((j) => j.metadata.name === name)) {
      if (spec.concurrencyPolicy === 'Replace') {
        for (const j of running) {
          await ctx.remove(j);
          ctx.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${j.metadata.name}`);
        }
      }
      const template = spec.jobTemplate;
      await ctx.create({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name, namespace: cj.metadata.namespace, labels: template.metadata?.labels, annotations: { ...template.metadata?.annotations, [scheduledAnnotation]: new Date(due).toISOString() }, ownerReferences: [controllerRef(cj)] },
        spec: structuredClone(template.spec),
      });
      ctx.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${name}`);
    }
    // A skipped run counts as scheduled too: it is not tried again.
    lastScheduleTime = new Date(due).toISOString();
  }

  // History: the finished Jobs beyond the limits go, oldest first.
  const finishedOf = (kind: 'Complete' | 'Failed') => jobs.filter((j) => jobFinished(j) === kind && !j.metadata.deletionTimestamp).sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
  for (const [kind, limit] of [['Complete', spec.successfulJobsHistoryLimit], ['Failed', spec.failedJobsHistoryLimit]] as const) {
    const list = finishedOf(kind);
    for (const j of list.slice(0, Math.max(0, list.length - limit))) {
      await ctx.remove(j);
      ctx.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${j.metadata.name}`);
    }
  }

  const current = ctx.list({ kind: 'Job', namespace: cj.metadata.namespace }).filter((j) => ownedBy(j, cj) && !j.metadata.deletionTimestamp);
  const active = current.filter((j) => !jobFinished(j)).map((j) => ({ kind: 'Job', namespace: j.metadata.namespace, name: j.metadata.name, uid: j.metadata.uid, apiVersion: 'batch/v1' }));
  const successful = current.filter((j) => jobFinished(j) === 'Complete').map((j) => j.status?.completionTime as string).filter(Boolean).sort();
  const lastSuccessfulTime = successful.at(-1) ?? cj.status?.lastSuccessfulTime;
  await ctx.writeStatus(cj, { ...(active.length ? { active } : {}), ...(lastScheduleTime ? { lastScheduleTime } : {}), ...(lastSuccessfulTime ? { lastSuccessfulTime } : {}) });
}
