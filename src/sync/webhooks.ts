import type { ControllerState } from '../store/controller-state.js';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { KubeObject } from '../manifest/types.js';

export type Provider = 'github' | 'gitlab' | 'gitea';

export interface Delivery {
  at: string;
  provider: Provider;
  event: string;
  id: string;
  /** What came of it: the HTTP status and why. */
  status: number;
  outcome: string;
  repository?: string;
  ref?: string;
  matched: string[];
}

/** The repository's identity: host and path, lowercase, without scheme, credentials or `.git`. */
export function normalizeRepoUrl(url: string): string {
  let u = url.trim().toLowerCase();
  const scp = /^[^@/]+@([^:/]+):(.+)$/.exec(u);
  if (scp) u = `${scp[1]}/${scp[2]}`;
  u = u.replace(/^[a-z+]+:\/\//, '').replace(/^[^@/]*@/, '').replace(/\/+$/, '').replace(/\.git$/, '');
  return u.replace(/:\d+\//, (m) => (/:(80|443|22)\//.test(m) ? '/' : m));
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Checks a delivery's signature as each provider signs it; constant-time. */
export function verifySignature(provider: Provider, secret: string, body: Buffer, headers: Record<string, string | string[] | undefined>): boolean {
  const header = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const hmac = () => createHmac('sha256', secret).update(body).digest('hex');
  switch (provider) {
    case 'github': {
      const sig = header('x-hub-signature-256');
      return !!sig && safeEqual(Buffer.from(sig), Buffer.from(`sha256=${hmac()}`));
    }
    case 'gitea': {
      const sig = header('x-gitea-signature') ?? header('x-forgejo-signature');
      return !!sig && safeEqual(Buffer.from(sig), Buffer.from(hmac()));
    }
    case 'gitlab': {
      const token = header('x-gitlab-token');
      return !!token && safeEqual(Buffer.from(token), Buffer.from(secret));
    }
  }
}

export interface PushHint {
  event: string;
  id: string;
  /** Every URL the payload gives for the repository, normalised. */
  repositories: string[];
  shown?: string;
  ref?: string;
  defaultBranch?: string;
}

/** Reads what matters from a delivery. The payload is only a hint: nothing in it is fetched. */
export function readDelivery(provider: Provider, headers: Record<string, string | string[] | undefined>, payload: any): PushHint {
  const h = (name: string) => String(headers[name] ?? '');
  const repo = provider === 'gitlab' ? payload?.project ?? payload?.repository : payload?.repository;
  const urls = [repo?.clone_url, repo?.html_url, repo?.ssh_url, repo?.git_url, repo?.git_http_url, repo?.git_ssh_url, repo?.http_url, repo?.web_url, repo?.url].filter((u): u is string => typeof u === 'string' && u.length > 0);
  const event = provider === 'github' ? h('x-github-event') : provider === 'gitea' ? h('x-gitea-event') || h('x-forgejo-event') : h('x-gitlab-event');
  const id = provider === 'github' ? h('x-github-delivery') : provider === 'gitea' ? h('x-gitea-delivery') || h('x-forgejo-delivery') : h('x-gitlab-event-uuid') || h('x-gitlab-webhook-uuid');
  return {
    event: provider === 'gitlab' && event === 'Push Hook' ? 'push' : event,
    id,
    repositories: [...new Set(urls.map(normalizeRepoUrl))],
    shown: repo?.full_name ?? repo?.path_with_namespace ?? urls[0],
    ref: typeof payload?.ref === 'string' ? payload.ref : undefined,
    defaultBranch: repo?.default_branch,
  };
}

/** The Applications a push concerns: same repository, and the branch (or tag) they follow. */
export function matchApplications(apps: KubeObject[], hint: PushHint): KubeObject[] {
  return apps.filter((app) => {
    const src = app.spec?.source;
    if (!src?.repoURL || !hint.repositories.includes(normalizeRepoUrl(src.repoURL))) return false;
    if (!hint.ref) return true;
    const target: string = src.targetRevision ?? 'HEAD';
    if (/^[0-9a-f]{40}$/.test(target)) return false;
    const wanted = target === 'HEAD' ? hint.defaultBranch : target;
    if (!wanted) return true;
    return hint.ref === wanted || hint.ref === `refs/heads/${wanted}` || hint.ref === `refs/tags/${wanted}`;
  });
}

/** The last deliveries, newest first, and the ids seen (to drop redeliveries); kept in the store when given one. */
export class DeliveryLog {
  private readonly entries: Delivery[];
  private readonly seen: Map<string, number>;

  constructor(private readonly size = 200, private readonly state?: ControllerState) {
    this.entries = state?.get<Delivery[]>('webhook-deliveries') ?? [];
    this.seen = new Map(state?.get<[string, number][]>('webhook-delivery-ids') ?? []);
  }

  isDuplicate(provider: Provider, id: string): boolean {
    return id !== '' && this.seen.has(`${provider}/${id}`);
  }

  markSeen(provider: Provider, id: string): void {
    if (!id) return;
    this.seen.set(`${provider}/${id}`, Date.now());
    if (this.seen.size > this.size * 10) this.seen.delete(this.seen.keys().next().value!);
    this.state?.set('webhook-delivery-ids', [...this.seen]);
  }

  record(d: Delivery): void {
    this.entries.unshift(d);
    this.entries.length = Math.min(this.entries.length, this.size);
    this.state?.set('webhook-deliveries', this.entries);
  }

  list(): Delivery[] {
    return [...this.entries];
  }
}
