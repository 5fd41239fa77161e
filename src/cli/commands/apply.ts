import { applyManifests, ApplyError, deleteManifests } from '../../apply/apply.js';
import { folderInventory } from '../../apply/inventory.js';
import { formatProblem } from '../../manifest/problems.js';
import { parseDuration } from '../../manifest/names.js';
import { clientFromKubeconfig, kubeconfigPath } from '../client.js';
import { exit, usageError, type Command } from '../command.js';
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
  usage: 'delete -f DIR | delete TYPE NAME... [-n NS] [--kubeconfig FILE]',
  options: { filename: fileOption, kubeconfig: kubeconfigOption, namespace: { type: 'string', short: 'n', description: 'namespace for TYPE NAME (default: default)' } },
  async run(values, positionals, io) {
    if (!values.filename) {
      const client = clientFromKubeconfig(kubeconfigPath(values.kubeconfig as string | undefined));
      const [type, ...names] = positionals;
      if (!type || names.length === 0) usageError('usage: gouvernail delete -f DIR, or gouvernail delete TYPE NAME');
      const r = client.resource(type);
      let code: number = exit.ok;
      for (const name of names) {
        const ns = r.namespaced ? ((values.namespace as string | undefined) ?? 'default') : undefined;
        if (await client.delete(r.kind, ns, name)) io.out(`${r.singular} "${name}" deleted`);
        else {
          io.err(`Error from server (NotFound): ${r.plural} "${name}" not found`);
          code = 1;
        }
      }
      return code;
    }
    const set = await loadForCommand(values, io, false);
    if (hasErrors(set.problems)) {
      io.err(`nothing deleted: fix the errors above (${set.problems.filter((p) => p.severity === 'error').map(formatProblem)[0]})`);
      return exit.invalid;
    }
    const client = clientFromKubeconfig(kubeconfigPath(values.kubeconfig as string | undefined));
    await deleteManifests(client, set.manifests, (line) => io.out(line));
    return exit.ok;
  },
};
