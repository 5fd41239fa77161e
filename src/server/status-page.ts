import type { FastifyInstance } from 'fastify';
import type { Identity } from '../api/identity.js';
import { assessHealth } from '../health/health.js';
import { parseKey } from '../manifest/keys.js';
import type { KubeObject } from '../manifest/types.js';
import type { ObjectStore } from '../store/object-store.js';
import type { DeliveryLog } from '../sync/webhooks.js';
import { inventoryKeys, inventoryNamespace, inventoryObjectName } from '../apply/inventory.js';
import { renderDiff, type DiffResult } from '../diff/diff.js';
import { toSvg, type PlanGraph } from '../apply/plan-graph.js';
import { eventsAbout } from '../sync/events.js';

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const style = `body{font:14px system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border-bottom:1px solid #ddd;padding:.3rem .8rem;text-align:left;vertical-align:top}
.Healthy,.Synced{color:#1a7f37}.Degraded,.OutOfSync,.Failed,.Missing{color:#cf222e}.Progressing,.Waiting,.Running{color:#9a6700}code{font-size:12px}.err{color:#cf222e;white-space:pre-wrap;max-width:60rem}`;

/** Reconnects to /events and swaps the main content when anything changes; the page works without it. */
const liveScript = `const es=new EventSource('/events');es.onmessage=async()=>{const r=await fetch(location.pathname+'?fragment=1');if(r.ok)document.querySelector('main').innerHTML=await r.text();};`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${style}</style></head><body><h1>${esc(title)}</h1><main>${body}</main><script>${liveScript}</script></body></html>`;
}

function shortRevision(r: string | undefined): string {
  return r ? (r.length === 40 ? r.slice(0, 10) : r) : '';
}

function applicationsTable(apps: KubeObject[]): string {
  const rows = apps.map((a) => {
    const s = a.status ?? {};
    const last = s.history?.[0];
    const warnings = warningsOf(a).length;
    const error = s.operation?.phase === 'Failed' || s.operation?.phase === 'Waiting' ? s.operation.message : warnings ? `${warnings} warning${warnings > 1 ? 's' : ''} (the Application's page lists them)` : '';
    return `<tr data-app="${esc(a.metadata.name)}"><td><a href="/applications/${esc(a.metadata.namespace)}/${esc(a.metadata.name)}">${esc(a.metadata.namespace)}/${esc(a.metadata.name)}</a></td>
<td class="${esc(s.sync?.status)}">${esc(s.sync?.status ?? 'Unknown')}</td><td class="${esc(s.health?.status)}">${esc(s.health?.status ?? 'Unknown')}</td>
<td><code class="revision">${esc(shortRevision(s.lastAppliedRevision))}</code> ${esc(s.lastAppliedCommit?.message ?? '')}</td><td>${esc(last?.finishedAt ?? '')}</td><td class="err">${esc(error)}</td></tr>`;
  });
  return `<h2>Applications</h2><table><tr><th>Application</th><th>Sync</th><th>Health</th><th>Revision</th><th>Last sync</th><th>Error</th></tr>${rows.join('') || '<tr><td colspan="6">No Applications yet: gouvernail serve --watch DIR, or gouvernail app create.</td></tr>'}</table>`;
}

/** The warnings of the revision applied, from the Application's ManifestWarning condition. */
function warningsOf(app: KubeObject): string[] {
  const c = (app.status?.conditions ?? []).find((x: { type: string }) => x.type === 'ManifestWarning');
  return c?.message ? String(c.message).split('\n') : [];
}

function nodesTable(nodes: KubeObject[]): string {
  const rows = nodes.map((n) => {
    const ready = (n.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
    return `<tr><td>${esc(n.metadata.name)}</td><td class="${ready ? 'Healthy' : 'Degraded'}">${ready ? 'Ready' : 'NotReady'}</td><td>${esc(n.status?.nodeInfo?.containerRuntimeVersion)}</td></tr>`;
  });
  return `<h2>Nodes</h2><table><tr><th>Node</th><th>Status</th><th>Runtime</th></tr>${rows.join('')}</table>`;
}

function deliveriesTable(log: DeliveryLog | undefined): string {
  const rows = (log?.list() ?? []).slice(0, 20).map((d) => `<tr><td>${esc(d.at)}</td><td>${esc(d.provider)} ${esc(d.event)}</td><td>${esc(d.repository)} ${esc(d.ref)}</td><td>${d.status}</td><td>${esc(d.outcome)}</td></tr>`);
  return `<h2>Webhook deliveries</h2><table><tr><th>When</th><th>Event</th><th>Repository</th><th>Status</th><th>What it started</th></tr>${rows.join('') || '<tr><td colspan="5">None yet.</td></tr>'}</table>`;
}

function applicationDetail(store: ObjectStore, app: KubeObject, drift: DiffResult | undefined, graph: PlanGraph | undefined): string {
  const s = app.status ?? {};
  const keys = inventoryKeys(store.get('ConfigMap', inventoryNamespace, inventoryObjectName(`app:${app.metadata.namespace}/${app.metadata.name}`)));
  const objects = keys.map((key) => {
    const { kind, namespace, name } = parseKey(key);
    const h = assessHealth(store.get(kind, namespace || undefined, name));
    return `<tr><td>${esc(kind)}</td><td>${esc(namespace)}</td><td>${esc(name)}</td><td class="${h.status}">${h.status}</td><td>${esc(h.message)}</td></tr>`;
  });
  const history = (s.history ?? []).map((h: { startedAt: string; durationMs: number; result: string; revision: string; message: string }) => `<tr><td>${esc(h.startedAt)}</td><td>${(h.durationMs / 1000).toFixed(1)} s</td><td class="${esc(h.result)}">${esc(h.result)}</td><td><code>${esc(shortRevision(h.revision))}</code></td><td${h.result === 'Failed' ? ' class="err"' : ''}>${esc(h.message)}</td></tr>`);
  const events = eventsAbout(store, app).slice(0, 20).map((e) => `<tr><td>${esc(e.lastTimestamp)}</td><td class="${e.type === 'Warning' ? 'Degraded' : 'Healthy'}">${esc(e.type)}</td><td>${esc(e.reason)}</td><td>${esc(e.message)}</td></tr>`);
  const source = app.spec.source.hosted ? 'hosted repository (git push)' : app.spec.source.repoURL ? `${app.spec.source.repoURL.replace(/\/\/[^/@]*@/, '//***@')} @ ${app.spec.source.targetRevision} / ${app.spec.source.path}` : app.spec.source.path;
  return `<p>Source: <code>${esc(source)}</code></p>
<p>Sync: <span class="${esc(s.sync?.status)}">${esc(s.sync?.status ?? 'Unknown')}</span> · Health: <span class="${esc(s.health?.status)}">${esc(s.health?.status ?? 'Unknown')}</span> · Revision <code class="revision">${esc(shortRevision(s.lastAppliedRevision))}</code></p>
<p class="err">${s.operation?.phase === 'Failed' || s.operation?.phase === 'Waiting' ? esc(s.operation.message) : ''}</p>
${warningsOf(app).length ? `<h2>Warnings</h2><p>Applied all the same; the revision applied says:</p><ul class="warnings">${warningsOf(app).map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : ''}
<h2>Objects</h2><table><tr><th>Kind</th><th>Namespace</th><th>Name</th><th>Health</th><th>Message</th></tr>${objects.join('') || '<tr><td colspan="5">None applied yet.</td></tr>'}</table>
<h2>History</h2><table><tr><th>Started</th><th>Took</th><th>Result</th><th>Revision</th><th>Message</th></tr>${history.join('')}</table>
<h2>Out of sync</h2>${driftSection(drift)}
<h2>Order</h2>${graph ? `<p>The waves of the revision applied last, as <code>gouvernail plan</code> draws them (hover a box for what it waits for).</p>${toSvg(graph)}` : '<p>Not known yet: the Application has not synced.</p>'}
<h2>Events</h2><table><tr><th>When</th><th>Type</th><th>Reason</th><th>Message</th></tr>${events.join('') || '<tr><td colspan="4">None.</td></tr>'}</table>`;
}

function driftSection(drift: DiffResult | undefined): string {
  if (!drift) return '<p>Not known yet: the Application has not synced.</p>';
  const changed = drift.changes.filter((c) => c.action !== 'unchanged');
  if (changed.length === 0) return '<p class="Synced">Everything runs as last applied.</p>';
  // renderDiff shows Secret data only as "*** (hidden)".
  return `<pre class="diff">${esc(renderDiff({ ...drift, changes: changed }))}</pre>`;
}

/** Who looks at the page, and what they may read, from the API's own authentication and RBAC. */
export interface PageAccess {
  identify(token: string): Identity | undefined;
  may(identity: Identity, verb: string, resource: string, apiGroup: string, namespace?: string, name?: string): boolean;
}

/**
 * The status page: server-rendered HTML that reads well without JavaScript, updated live through
 * server-sent events. Behind HTTP Basic authentication with a token of the API as the password;
 * each viewer sees only the Applications, nodes and deliveries RBAC lets them read.
 * It shows no Secret values: only names, health and messages (which never carry them).
 */
export function registerStatusPage(app: FastifyInstance, store: ObjectStore, access: PageAccess, deliveries?: DeliveryLog, drift?: (namespace: string, name: string) => DiffResult | undefined, graph?: (namespace: string, name: string) => PlanGraph | undefined): void {
  const viewerOf = (header: string | undefined): Identity | undefined => {
    if (!header?.startsWith('Basic ')) return undefined;
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    return access.identify(decoded.slice(decoded.indexOf(':') + 1));
  };
  const viewers = new WeakMap<object, Identity>();
  app.register(async (pages) => {
    pages.addHook('onRequest', async (req, reply) => {
      const viewer = viewerOf(req.headers.authorization);
      if (!viewer) {
        return reply.code(401).header('WWW-Authenticate', 'Basic realm="gouvernail"').type('text/plain').send('the password is a token of the kubeconfig (gouvernail token create gives one)\n');
      }
      viewers.set(req, viewer);
    });
    const render = (req: { query: unknown }, title: string, body: string) => ((req.query as { fragment?: string }).fragment ? body : page(title, body));
    pages.get('/', async (req, reply) => {
      const viewer = viewers.get(req)!;
      const apps = store.list({ kind: 'Application' }).filter((a) => access.may(viewer, 'get', 'applications', 'gouvernail.io', a.metadata.namespace, a.metadata.name));
      const nodes = access.may(viewer, 'list', 'nodes', '') ? nodesTable(store.list({ kind: 'Node' })) : '';
      const hooks = access.may(viewer, 'list', 'applications', 'gouvernail.io') ? deliveriesTable(deliveries) : '';
      return reply.type('text/html; charset=utf-8').send(render(req, 'Gouvernail', applicationsTable(apps) + nodes + hooks));
    });
    pages.get('/applications/:ns/:name', async (req, reply) => {
      const { ns, name } = req.params as { ns: string; name: string };
      const application = access.may(viewers.get(req)!, 'get', 'applications', 'gouvernail.io', ns, name) ? store.get('Application', ns, name) : undefined;
      if (!application) return reply.code(404).type('text/html; charset=utf-8').send(page('Not found', `<p>No Application ${esc(ns)}/${esc(name)}. <a href="/">All Applications</a></p>`));
      return reply.type('text/html; charset=utf-8').send(render(req, `Application ${ns}/${name}`, `<p><a href="/">All Applications</a></p>${applicationDetail(store, application, drift?.(ns, name), graph?.(ns, name))}`));
    });
    pages.get('/events', (req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
      res.write('retry: 2000\n\n');
      let pending: NodeJS.Timeout | undefined;
      const stop = store.watch(store.resourceVersion(), (c) => {
        if (!['Application', 'Node', 'Pod', 'Deployment'].includes(c.object.kind) || pending) return;
        pending = setTimeout(() => {
          pending = undefined;
          res.write(`data: ${c.resourceVersion}\n\n`);
        }, 100);
      });
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 25_000);
      req.raw.on('close', () => {
        stop();
        clearInterval(heartbeat);
        if (pending) clearTimeout(pending);
      });
    });
  });
}
