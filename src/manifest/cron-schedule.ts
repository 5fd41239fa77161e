import { lazyPackage } from './lazy-package.js';

/** node-cron, loaded on the first schedule checked. */
const nodeCron = lazyPackage<typeof import('node-cron')>('node-cron');

/** The macros Kubernetes' CronJob takes, as five-field schedules. */
const macros: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** A CronJob's schedule as node-cron reads it: five fields, macros expanded, `?` as `*`. */
export function cronPattern(schedule: string): string {
  const s = schedule.trim();
  return macros[s] ?? s.split(/\s+/).map((f) => (f === '?' ? '*' : f)).join(' ');
}

/** What is wrong with a CronJob's schedule, or undefined. */
export function cronScheduleProblem(schedule: string): string | undefined {
  const s = schedule.trim();
  if (/^(CRON_)?TZ=/.test(s)) return 'must not start with TZ= or CRON_TZ=; set spec.timeZone instead';
  if (s.startsWith('@') && !macros[s]) return `unknown macro ${JSON.stringify(s)}; use one of ${Object.keys(macros).join(', ')}`;
  const pattern = cronPattern(s);
  const fields = pattern.split(' ');
  if (fields.length !== 5) return `must have five fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
  const result = nodeCron().validateDetailed(pattern);
  if (!result.valid) return result.errors.map((e) => `${e.field}: ${e.message}`).join('; ') || 'is not a valid cron schedule';
  return undefined;
}

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
