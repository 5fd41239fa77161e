import { createHash } from 'node:crypto';
import { PassThrough, Writable, type Readable } from 'node:stream';
import type { KubeObject } from '../manifest/types.js';

/** Gouvernail's own processes, named as kubectl shows a cluster's control plane in kube-system. */
export const componentNames = ['kube-apiserver', 'kube-scheduler', 'kube-controller-manager', 'gouvernail-node-agent', 'gouvernail-application-controller', 'gouvernail-service-proxy'] as const;
export type ComponentName = (typeof componentNames)[number];

interface Line {
  at: number;
  text: string;
}

/**
 * The log lines of each component, the last 2,000 kept in memory, and a stream of those to come:
 * what `kubectl logs -n kube-system kube-scheduler-NODE [-f]` reads.
 */
export class ComponentLogs {
  private readonly lines = new Map<string, Line[]>();
  private readonly followers = new Map<string, Set<PassThrough>>();

  constructor(private readonly keep = 2000) {}

  /** A sink for pino: one JSON line per entry, whose `component` field says whose it is. */
  sink(): Writable {
    let rest = '';
    return new Writable({
      write: (chunk: Buffer, _enc, done) => {
        const text = rest + chunk.toString('utf8');
        const parts = text.split('\n');
        rest = parts.pop() ?? '';
        for (const part of parts) {
          if (!part) continue;
          let component = 'kube-apiserver';
          try {
            component = (JSON.parse(part) as { component?: string }).component ?? component;
          } catch {
            // Not JSON: the API server's own line.
          }
          this.add(component, part);
        }
        done();
      },
    });
  }

  add(component: string, text: string): void {
    const list = this.lines.get(component) ?? this.lines.set(component, []).get(component)!;
    const line = { at: Date.now(), text };
    list.push(line);
    if (list.length > this.keep) list.splice(0, list.length - this.keep);
    for (const f of this.followers.get(component) ?? []) f.write(`${this.format(line, f)}\n`);
  }

  private readonly withTimestamps = new WeakSet<PassThrough>();

  private format(line: Line, out: PassThrough): string {
    return this.withTimestamps.has(out) ? `${new Date(line.at).toISOString()} ${line.text}` : line.text;
  }

  read(component: string, options: { follow?: boolean; tailLines?: number; sinceSeconds?: number; timestamps?: boolean; limitBytes?: number }): Readable {
    const out = new PassThrough();
    if (options.timestamps) this.withTimestamps.add(out);
    let list = this.lines.get(component) ?? [];
    if (options.sinceSeconds !== undefined) list = list.filter((l) => l.at >= Date.now() - options.sinceSeconds! * 1000);
    if (options.tailLines !== undefined) list = list.slice(Math.max(0, list.length - options.tailLines));
    let text = list.map((l) => `${this.format(l, out)}\n`).join('');
    if (options.limitBytes !== undefined) text = Buffer.from(text).subarray(0, options.limitBytes).toString('utf8');
    if (!options.follow) {
      out.end(text);
      return out;
    }
    out.write(text);
    const set = this.followers.get(component) ?? this.followers.set(component, new Set()).get(component)!;
    set.add(out);
    out.on('close', () => set.delete(out));
    return out;
  }
}

export interface ComponentInfo {
  node: string;
  /** When this serve started (each component's container started then). */
  startedAt: Date;
  /** When the data folder's first serve started (the Pods' creation). */
  createdAt: string;
  /** How many times serve started before this one: the RESTARTS kubectl shows. */
  restarts: number;
  version: string;
}

/**
 * The components as read-only Pods of kube-system, with their real state: Running and Ready while
 * serve runs (they are its own threads of work), restarted as often as serve was.
 */
export function componentPods(info: ComponentInfo): KubeObject[] {
  return componentNames.map((component) => {
    const name = `${component}-${info.node}`;
    const started = info.startedAt.toISOString();
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: 'kube-system',
        uid: uuidOf(`${info.node}/${component}`),
        resourceVersion: '1',
        creationTimestamp: info.createdAt,
        labels: { component, tier: 'control-plane', 'app.kubernetes.io/part-of': 'gouvernail' },
        // As a static Pod's mirror: kubectl drain leaves it alone.
        annotations: { 'gouvernail.io/component': 'true', 'kubernetes.io/config.mirror': uuidOf(`${info.node}/${component}/mirror`), 'kubernetes.io/config.source': 'gouvernail', 'kubernetes.io/description': `${component} runs inside gouvernail serve; this Pod is read-only` },
      },
      spec: { nodeName: info.node, priorityClassName: 'system-node-critical', containers: [{ name: component, image: `gouvernail:${info.version}` }] },
      status: {
        phase: 'Running',
        conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: started })),
        hostIP: '127.0.0.1',
        podIP: '127.0.0.1',
        podIPs: [{ ip: '127.0.0.1' }],
        startTime: started,
        containerStatuses: [{ name: component, image: `gouvernail:${info.version}`, imageID: '', ready: true, started: true, restartCount: info.restarts, state: { running: { startedAt: started } }, ...(info.restarts > 0 ? { lastState: { terminated: { exitCode: 0, reason: 'Restarted' } } } : {}) }],
      },
    } as KubeObject;
  });
}

/** The component a kube-system Pod name stands for, if it is one. */
export function componentOf(name: string, node: string): ComponentName | undefined {
  return componentNames.find((c) => name === `${c}-${node}`);
}

function uuidOf(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
