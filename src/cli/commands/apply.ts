import { applyManifests, ApplyError, deleteManifests } from '../../apply/apply.js';
import { folderInventory } from '../../apply/inventory.js';
import { formatProblem } from '../../manifest/problems.js';
import { parseDuration } from '../../manifest/names.js';
import { clientFromKubeconfig, kubeconfigPath } from '../client.js';
import type { Client } from '../../api/client.js';
import { exit, usageError, type Command, type Io } from '../command.js';
import { fileOption, hasErrors, kubeconfigOption, loadForCommand } from '../shared.js';

export const applyCommand: Command = {
  name: 'apply',
  usage: 'apply -f DIR [--prune] [--wait=false] [--timeout 5m] [--kubeconfig FILE]',
  options: {
    filename: fileOption,
    prune: { type: 'boolean', description: 'delete objects applied from this folder before that it no longer has' },
    wait: { type: 'string', description: 'wait until the last wave is healthy too (default true)' },
    timeout: { type: 'string', description: 'how long each wave may wait for health (default 5m)' },
    kubeconfig: kubeconfigOption,
  },
  async run(values, _positionals, io) {
    const set = await loadForCommand(values, io, false);
    if (hasErrors(set.problems)) {
      io.err('nothing applied: fix the errors above');
      return exit.invalid;
    }
    const timeout = parseDuration((values.timeout as string | undefined) ?? '5m');
    if (timeout === undefined) usageError(`--timeout ${values.timeout} is not a duration such as 90s or 5m`);
    const client = clientFromKubeconfig(kubeconfigPath(values.kubeconfig as string | undefined));
    try {
      await applyManifests(client, set.manifests, {
        inventory: folderInventory(values.filename as string),
        prune: Boolean(values.prune),
        wait: values.wait !== 'false',
        waveTimeoutMs: timeout,
        progress: (line) => io.out(line),
      });
      return exit.ok;
    } catch (err) {
      if (err instanceof ApplyError) {
        io.err(`error: ${err.message}`);
        return 1;
      }
      throw err;
    }
  },
};

export const deleteCommand: Command = {
  name: 'delete',
  usage: 'delete -f DIR | delete TYPE NAME... [-n NS] [--wait=false] [--grace-period N] [--timeout 5m] [--kubeconfig FILE]',
  options: {
    filename: fileOption,
    kubeconfig: kubeconfigOption,
    namespace: { type: 'string', short: 'n', description: 'namespace for TYPE NAME (default: default)' },
    wait: { type: 'string', description: 'wait until the objects are gone, as kubectl delete does: a Pod once its containers have stopped (default true)' },
    'grace-period': { type: 'string', description: "seconds a Pod gets to stop, instead of its terminationGracePeriodSeconds; 0 deletes it at once, its containers stopped in the background" },
    timeout: { type: 'string', description: 'how long to wait for the objects to be gone (default 5m)' },
  },
  async run(values, positionals, io) {
    const grace = values['grace-period'] === undefined ? undefined : Number(values['grace-period']);
    if (grace !== undefined && !(Number.isInteger(grace) && grace >= 0)) usageError(`--grace-period ${values['grace-period']} is not a whole number of seconds`);
    const timeoutMs = parseDuration((values.timeout as string | undefined) ?? '5m');
    if (timeoutMs === undefined) usageError(`--timeout ${values.timeout} is not a duration such as 90s or 5m`);
    const options = grace === undefined ? {} : { gracePeriodSeconds: grace };
    const client = clientFromKubeconfig(kubeconfigPath(values.kubeconfig as string | undefined));
    const deleted: { kind: string; namespace?: string; name: string; shown: string }[] = [];
    let code: number = exit.ok;
    if (!values.filename) {
      const [type, ...names] = positionals;
      if (!type || names.length === 0) usageError('usage: gouvernail delete -f DIR, or gouvernail delete TYPE NAME');
      const r = client.resource(type);
      for (const name of names) {
        const ns = r.namespaced ? ((values.namespace as string | undefined) ?? 'default') : undefined;
        if (await client.delete(r.kind, ns, name, options)) {
          io.out(`${r.singular} "${name}" deleted`);
          deleted.push({ kind: r.kind, namespace: ns, name, shown: `${r.singular} "${name}"` });
        } else {
          io.err(`Error from server (NotFound): ${r.plural} "${name}" not found`);
          code = 1;
        }
      }
    } else {
      const set = await loadForCommand(values, io, false);
      if (hasErrors(set.problems)) {
        io.err(`nothing deleted: fix the errors above (${set.problems.filter((p) => p.severity === 'error').map(formatProblem)[0]})`);
        return exit.invalid;
      }
      for (const o of await deleteManifests(client, set.manifests, (line) => io.out(line), options)) deleted.push({ kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name, shown: `${o.kind}/${o.metadata.name}` });
    }
    if (values.wait === 'false') return code;
    return (await untilGone(client, deleted, timeoutMs, io)) ? code : 1;
  },
};

/**
 * Waits, as kubectl delete does, until every deleted object is gone: a Pod stays Terminating until
 * its node has stopped its containers (its grace period), a Namespace until it is empty.
 */
async function untilGone(client: Client, objects: { kind: string; namespace?: string; name: string; shown: string }[], timeoutMs: number, io: Io): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const said = new Set<string>();
  for (const o of objects) {
    for (;;) {
      const live = await client.get(o.kind, o.namespace, o.name);
      if (!live) break;
      if (Date.now() > deadline) {
        io.err(`error: timed out waiting for ${o.shown} to be gone; it is still ${live.metadata.deletionTimestamp ? 'being deleted' : 'there'} (a Pod goes once its node has stopped it: is the node's Docker engine answering? gouvernail node list)`);
        return false;
      }
      if (!said.has(o.shown) && live.metadata.deletionTimestamp) {
        said.add(o.shown);
        const grace = live.metadata.deletionGracePeriodSeconds;
        io.err(`waiting for ${o.shown} to be gone${o.kind === 'Pod' && typeof grace === 'number' ? ` (its containers get ${grace} s to stop)` : ''}`);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  return true;
}
