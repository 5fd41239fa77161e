import { stringify } from 'yaml';
import { rolloutHistory, rolloutStatus, rolloutUndo } from '../../apply/rollout.js';
import { assessHealth } from '../../health/health.js';
import { parseDuration } from '../../manifest/names.js';
import type { KubeObject } from '../../manifest/types.js';
import { resourcePath, type Resource } from '../../api/resources.js';
import { clientFromKubeconfig, kubeconfigPath } from '../client.js';
import type { HttpClient } from '../../api/http-client.js';
import { ApiError } from '../../api/errors.js';
import { exit, usageError, type Command, type Io, type OptionSpec } from '../command.js';
import { renderTable, type toTable } from '../../api/tables.js';

type Table = ReturnType<typeof toTable>;
import { kubeconfigOption } from '../shared.js';
import { execStream } from '../exec-client.js';

const common: Record<string, OptionSpec> = {
  namespace: { type: 'string', short: 'n', description: 'namespace (default: default)' },
  kubeconfig: kubeconfigOption,
};

function connect(values: Record<string, unknown>): { client: HttpClient; ns: string } {
  return { client: clientFromKubeconfig(kubeconfigPath(values.kubeconfig as string | undefined)), ns: (values.namespace as string | undefined) ?? 'default' };
}

/**
 * Turns a refusal said in words (an unknown resource type, no revision to go back to) into
 * `error: ...` and exit code 1; API errors are worded by runCommand.
 */
async function guarded(io: Io, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof Error && !(err instanceof ApiError) && !(err as { code?: string }).code) {
      io.err(`error: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

/** `kind/name` or `kind name` as kubectl takes them. */
function target(client: HttpClient, positionals: string[]): { resource: Resource; names: string[] } {
  if (positionals.length === 0) usageError('name a resource type, e.g. pods, deployments, services');
  const [first, ...rest] = positionals;
  if (first!.includes('/')) {
    const [kind, name] = first!.split('/');
    return { resource: client.resource(kind!), names: [name!, ...rest] };
  }
  return { resource: client.resource(first!), names: rest };
}

function masked(o: KubeObject): KubeObject {
  if (o.kind !== 'Secret') return o;
  return { ...o, data: Object.fromEntries(Object.keys(o.data ?? {}).map((k) => [k, `<${Buffer.from(o.data![k]!, 'base64').length} bytes>`])) };
}

export const getCommand: Command = {
  name: 'get',
  usage: 'get TYPE[,TYPE...] [NAME...] [-n NS | -A] [-l SELECTOR] [-o wide|yaml|json|name]',
  options: {
    ...common,
    'all-namespaces': { type: 'boolean', short: 'A', description: 'list across every namespace' },
    selector: { type: 'string', short: 'l', description: 'label selector, e.g. app=web,tier!=db' },
    output: { type: 'string', short: 'o', description: 'wide, yaml, json or name (default: a table)' },
  },
  async run(values, positionals, io) {
    return guarded(io, async () => {
      const { client, ns } = connect(values);
      const all = Boolean(values['all-namespaces']);
      const output = values.output as string | undefined;
      if (output && !['wide', 'yaml', 'json', 'name'].includes(output)) usageError(`-o ${output} is not supported; use wide, yaml, json or name`);
      const { resource, names } = target(client, positionals);
      const kinds = positionals[0]!.includes('/') ? [resource] : positionals[0]!.split(',').map((k) => client.resource(k));
      const blocks: string[] = [];
      const objects: KubeObject[] = [];
      const table = !output || output === 'wide';
      const tableAccept = 'application/json;as=Table;v=v1;g=meta.k8s.io';
      for (const r of kinds) {
        const scope = r.namespaced && (!all || names.length > 0) ? ns : undefined;
        const query = values.selector ? `?${new URLSearchParams({ labelSelector: values.selector as string })}` : '';
        if (table) {
          // The server prints: the same Table kubectl shows.
          const tables = names.length > 0
            ? await Promise.all(names.map((name) => client.request<Table>('GET', resourcePath(r, scope, name), undefined, undefined, tableAccept)))
            : [await client.request<Table>('GET', `${resourcePath(r, scope)}${query}`, undefined, undefined, tableAccept)];
          const merged = { ...tables[0]!, rows: tables.flatMap((t) => t.rows) };
          if (merged.rows.length > 0) blocks.push(renderTable(merged, { wide: output === 'wide', allNamespaces: all && r.namespaced }));
        } else if (names.length > 0) {
          for (const name of names) objects.push(await client.request<KubeObject>('GET', resourcePath(r, scope, name)));
        } else {
          objects.push(...(await client.list(r.kind, scope, values.selector as string | undefined)));
        }
      }
      if (output === 'json') io.out(JSON.stringify(objects.length === 1 && names.length === 1 ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects }, null, 2));
      else if (output === 'yaml') io.out(stringify(objects.length === 1 && names.length === 1 ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects }).trimEnd());
      else if (output === 'name') io.out(objects.map((o) => `${o.kind.toLowerCase()}${o.apiVersion.includes('/') ? `.${o.apiVersion.split('/')[0]}` : ''}/${o.metadata.name}`).join('\n'));
      else if (blocks.length === 0) io.err(all ? 'No resources found' : `No resources found in ${ns} namespace.`);
      else io.out(blocks.join('\n\n'));
      return exit.ok;
    });
  },
};

export const describeCommand: Command = {
  name: 'describe',
  usage: 'describe TYPE NAME [-n NS]',
  options: common,
  async run(values, positionals, io) {
    return guarded(io, async () => {
      const { client, ns } = connect(values);
      const { resource, names } = target(client, positionals);
      if (names.length === 0) usageError('name the object to describe');
      for (const name of names) {
        const o = await client.request<KubeObject>('GET', resourcePath(resource, resource.namespaced ? ns : undefined, name));
        const h = assessHealth(o);
        io.out(`Name:         ${o.metadata.name}\n${o.metadata.namespace ? `Namespace:    ${o.metadata.namespace}\n` : ''}Kind:         ${o.kind}\nHealth:       ${h.status}${h.message ? ` (${h.message})` : ''}\nCreated:      ${o.metadata.creationTimestamp}\n`);
        const { metadata: _m, apiVersion: _a, kind: _k, ...rest } = masked(o);
        io.out(stringify({ labels: o.metadata.labels ?? {}, annotations: o.metadata.annotations ?? {}, ...rest }).trimEnd());
      }
      return exit.ok;
    });
  },
};

export const logsCommand: Command = {
  name: 'logs',
  usage: 'logs POD [-c CONTAINER] [-f] [--tail N] [-n NS]',
  options: {
    ...common,
    container: { type: 'string', short: 'c', description: 'container name (default: the first)' },
    follow: { type: 'boolean', short: 'f', description: 'keep streaming new lines' },
    tail: { type: 'string', description: 'only the last N lines' },
  },
  async run(values, positionals, io) {
    return guarded(io, async () => {
      const { client, ns } = connect(values);
      const pod = positionals[0]?.replace(/^pods?\//, '');
      if (!pod) usageError('name the Pod');
      const q = new URLSearchParams();
      if (values.container) q.set('container', values.container as string);
      if (values.follow) q.set('follow', 'true');
      if (values.tail) q.set('tailLines', values.tail as string);
      const res = await client.stream(`/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(pod)}/log?${q}`);
      for await (const chunk of res) process.stdout.write(chunk);
      return exit.ok;
    });
  },
};

export const execCommand: Command = {
  name: 'exec',
  usage: 'exec POD [-c CONTAINER] [-i] [-t] [-n NS] -- COMMAND [ARGS...]',
  options: {
    ...common,
    container: { type: 'string', short: 'c', description: 'container name (default: the first)' },
    stdin: { type: 'boolean', short: 'i', description: 'pass standard input to the command' },
    tty: { type: 'boolean', short: 't', description: 'allocate a TTY (with -i, an interactive shell)' },
  },
  async run(values, positionals, io) {
    return guarded(io, async () => {
      const { client, ns } = connect(values);
      const [pod, ...command] = positionals;
      if (!pod || command.length === 0) usageError('usage: gouvernail exec POD -- COMMAND');
      return execStream(client, ns, pod.replace(/^pods?\//, ''), command, {
        container: values.container as string | undefined,
        stdin: Boolean(values.stdin),
        tty: Boolean(values.tty),
      });
    });
  },
};

export const runPodCommand: Command = {
  name: 'run',
  usage: 'run NAME --image IMAGE [--env K=V ...] [--port N] [-n NS] [-- COMMAND ARGS...]',
  options: {
    ...common,
    image: { type: 'string', description: 'the image to run' },
    env: { type: 'string', multiple: true, description: 'an environment variable K=V; repeat for more' },
    port: { type: 'string', description: 'the port the container listens on' },
    labels: { type: 'string', short: 'l', description: 'labels, e.g. app=web,tier=front (default run=NAME)' },
  },
  async run(values, positionals, io) {
    return guarded(io, async () => {
      const { client, ns } = connect(values);
      const [name, ...command] = positionals;
      if (!name || !values.image) usageError('usage: gouvernail run NAME --image IMAGE');
      const env = ((values.env as string[] | undefined) ?? []).map((e) => {
        const i = e.indexOf('=');
        if (i <= 0) usageError(`--env ${e} is not K=V`);
        return { name: e.slice(0, i), value: e.slice(i + 1) };
      });
      const labels = values.labels ? Object.fromEntries((values.labels as string).split(',').map((kv) => kv.split('='))) : { run: name };
      const container: Record<string, unknown> = { name, image: values.image };
      if (env.length) container.env = env;
      if (values.port) container.ports = [{ containerPort: Number(values.port) }];
      if (command.length) container.command = command;
      await client.request('POST', resourcePath(client.resource('pods'), ns), { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels }, spec: { containers: [container] } });
      io.out(`pod/${name} created`);
      return exit.ok;
    });
  },
};

export const scaleCommand: Command = {
  name: 'scale',
  usage: 'scale deployment NAME --replicas N [-n NS]',
  options: { ...common, replicas: { type: 'string', description: 'the number of replicas' } },
  async run(values, positionals, io) {
    return guarded(io, async () => {
      const { client, ns } = connect(values);
      const { resource, names } = target(client, positionals);
      const replicas = Number(values.replicas);
      if (resource.kind !== 'Deployment' || names.length !== 1) usageError('usage: gouvernail scale deployment NAME --replicas N');
      if (!Number.isInteger(replicas) || replicas < 0) usageError('--replicas must be a whole number, 0 or more');
      await client.request('PATCH', resourcePath(resource, ns, names[0]), { spec: { replicas } }, 'application/merge-patch+json');
      io.out(`deployment.apps/${names[0]} scaled`);
      return exit.ok;
    });
  },
};

export const rolloutCommand: Command = {
  name: 'rollout',
  usage: 'rollout status|history|undo deployment NAME [--to-revision N] [--timeout 5m] [-n NS]',
  options: {
    ...common,
    'to-revision': { type: 'string', description: 'undo: the revision to go back to (default: the previous one)' },
    timeout: { type: 'string', description: 'status: how long to wait (default 5m)' },
  },
  async run(values, positionals, io) {
    return guarded(io, async () => {
      const { client, ns } = connect(values);
      const [verb, ...rest] = positionals;
      const { resource, names } = target(client, rest);
      if (resource.kind !== 'Deployment' || names.length !== 1) usageError('usage: gouvernail rollout status|history|undo deployment NAME');
      const name = names[0]!;
      switch (verb) {
        case 'status':
          await rolloutStatus(client, ns, name, parseDuration((values.timeout as string | undefined) ?? '5m') ?? 300_000, (l) => io.out(l));
          return exit.ok;
        case 'history': {
          const { revisions } = await rolloutHistory(client, ns, name);
          io.out(`deployment.apps/${name}\nREVISION  IMAGES`);
          for (const r of revisions) io.out(`${String(r.revision).padEnd(10)}${r.replicaSet.spec.template.spec.containers.map((c: { image: string }) => c.image).join(',')}`);
          return exit.ok;
        }
        case 'undo': {
          const to = values['to-revision'] ? Number(values['to-revision']) : undefined;
          const revision = await rolloutUndo(client, ns, name, to);
          io.out(`deployment.apps/${name} rolled back (to revision ${revision})`);
          return exit.ok;
        }
        default:
          usageError('rollout takes status, history or undo');
      }
    });
  },
};
