import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ObjectStore } from '../store/object-store.js';

/** A named check: the reason it fails, or undefined when it passes. */
export interface HealthCheck {
  name: string;
  failure(): string | undefined;
}

/** The checks of the API server's health endpoints: it answers (ping), and its store does. */
export function healthChecks(store: ObjectStore): HealthCheck[] {
  return [
    { name: 'ping', failure: () => undefined },
    {
      name: 'store',
      failure: () => {
        try {
          store.resourceVersion();
          return undefined;
        } catch (err) {
          return (err as Error).message;
        }
      },
    },
  ];
}

/**
 * /healthz, /livez and /readyz as Kubernetes' API server answers them, to anyone: `ok`, or with
 * `?verbose` a line per check (`[+]store ok`) and `readyz check passed`; a failing check makes it
 * 500 with every line (`[-]store failed: reason withheld`, as Kubernetes withholds the reason from
 * the caller; it is in the log). `?exclude=NAME` leaves a check out; `/readyz/NAME` runs one.
 */
export function registerHealth(app: FastifyInstance, checks: HealthCheck[], log: (msg: string, fields?: Record<string, unknown>) => void = () => {}): void {
  for (const endpoint of ['healthz', 'livez', 'readyz']) {
    app.get(`/${endpoint}`, async (req, reply) => answer(req, reply, endpoint, checks));
    app.get(`/${endpoint}/:check`, async (req, reply) => {
      const check = checks.find((c) => c.name === (req.params as { check: string }).check);
      if (!check) return reply.code(404).type('text/plain; charset=utf-8').send('404 page not found\n');
      const failure = check.failure();
      if (failure) log(`${endpoint} check failed`, { check: check.name, reason: failure });
      return reply.code(failure ? 500 : 200).type('text/plain; charset=utf-8').send(failure ? 'internal server error: reason withheld\n' : 'ok');
    });
  }

  function answer(req: FastifyRequest, reply: FastifyReply, endpoint: string, all: HealthCheck[]) {
    const query = req.query as { verbose?: string; exclude?: string | string[] };
    const excluded = new Set([query.exclude ?? []].flat());
    const lines: string[] = [];
    let failed = false;
    for (const check of all) {
      if (excluded.has(check.name)) {
        lines.push(`[+]${check.name} excluded: ok`);
        continue;
      }
      const failure = check.failure();
      if (failure) {
        failed = true;
        log(`${endpoint} check failed`, { check: check.name, reason: failure });
      }
      lines.push(failure ? `[-]${check.name} failed: reason withheld` : `[+]${check.name} ok`);
    }
    reply.type('text/plain; charset=utf-8');
    if (failed) return reply.code(500).send(`${lines.join('\n')}\n${endpoint} check failed\n`);
    return query.verbose !== undefined ? `${lines.join('\n')}\n${endpoint} check passed\n` : 'ok';
  }
}
