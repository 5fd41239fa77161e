import { existsSync } from 'node:fs';
import { diff, renderDiff } from '../../diff/diff.js';
import { keyOf, parseKey } from '../../manifest/keys.js';
import type { KubeObject } from '../../manifest/types.js';
import path from 'node:path';
import { ObjectStore } from '../../store/object-store.js';
import { SecretBox } from '../../store/secret-box.js';
import { folderInventory, inventoryKeys, inventoryNamespace, inventoryObjectName } from '../../apply/inventory.js';
import { exit, usageError, type Command } from '../command.js';
import { fileOption, hasErrors, kubeconfigOption, loadForCommand, outputFormat, outputOption } from '../shared.js';
import { clientFromKubeconfig, kubeconfigPath } from '../client.js';
import type { Preview } from '../../sync/application-controller.js';
import type { Io } from '../command.js';

/** What a revision would change in a running Application, asked of the server (which applies nothing). */
async function previewRevision(app: string, values: Record<string, unknown>, io: Io, json: boolean): Promise<number> {
  const client = clientFromKubeconfig(kubeconfigPath(values.kubeconfig as string | undefined));
  const ns = (values.namespace as string | undefined) ?? 'default';
  const revision = values.revision as string | undefined;
  io.err(`asking the server what ${revision ?? 'the followed revision'} would change in ${ns}/${app} (nothing is applied)...`);
  const preview = await client.request<Preview>('GET', `/api/v1/applications/${encodeURIComponent(app)}/diff?namespace=${encodeURIComponent(ns)}${revision ? `&revision=${encodeURIComponent(revision)}` : ''}`);
  if (json) io.out(JSON.stringify(preview, null, 2));
  if (preview.problems.length > 0) {
    if (!json) for (const p of preview.problems) io.err(`error: ${p}`);
    io.err(`revision ${preview.revision} is invalid: a sync would apply nothing from it`);
    return exit.invalid;
  }
  if (!json) {
    io.out(`revision ${preview.revision}${preview.commit ? ` (${preview.commit.message}, ${preview.commit.author})` : ''}`);
    io.out(renderDiff(preview.diff!));
  }
  const { create, update, prune } = preview.diff!.counts;
  return create + update + prune > 0 ? exit.differences : exit.ok;
}

export const diffCommand: Command = {
  name: 'diff',
  usage: 'diff -f DIR --state PATH [--inventory NAME] [-o json] | diff APP --revision BRANCH|TAG|SHA [-n NS] [-o json]',
  options: {
    revision: { type: 'string', description: "with APP: the branch, tag or commit of the Application's repository to preview (default: the one it follows)" },
    namespace: { type: 'string', short: 'n', description: "with APP: the Application's namespace (default: default)" },
    kubeconfig: kubeconfigOption,
    filename: fileOption,
    state: { type: 'string', description: 'the SQLite store to compare with (gouvernail serve keeps it in its data folder)' },
    inventory: { type: 'string', description: 'inventory whose objects may be pruned (default: the folder\'s)' },
    output: outputOption,
  },
  async run(values, positionals, io) {
    const json = outputFormat(values) === 'json';
    if (positionals[0]) return previewRevision(positionals[0], values, io, json);
    if (values.revision) usageError('--revision goes with an Application: gouvernail diff APP --revision REV');
    const state = values.state as string | undefined;
    if (!state) usageError('--state PATH is required: the store to compare with');
    if (!existsSync(state)) usageError(`there is no store at ${state}; check the path (gouvernail serve creates it)`);
    const set = await loadForCommand(values, io, json);
    if (hasErrors(set.problems)) {
      if (json) io.out(JSON.stringify({ problems: set.problems }, null, 2));
      else io.err('invalid manifests: no diff; fix the errors above');
      return exit.invalid;
    }
    // A serve data folder keeps the key that seals its Secrets beside the store.
    const keys = path.join(path.dirname(state), 'encryption-keys.json');
    const store = ObjectStore.open(state, existsSync(keys) ? { secrets: SecretBox.load(keys) } : {});
    try {
      const desired = set.manifests.map((m) => m.object);
      const name = (values.inventory as string | undefined) ?? folderInventory(values.filename as string);
      const inventory = new Set(inventoryKeys(store.get('ConfigMap', inventoryNamespace, inventoryObjectName(name))));
      const live: KubeObject[] = [];
      for (const key of new Set([...desired.map(keyOf), ...inventory])) {
        const { kind, namespace, name } = parseKey(key);
        const o = store.get(kind, namespace, name);
        if (o) live.push(o);
      }
      const result = diff(desired, live, inventory);
      io.out(json ? JSON.stringify(result, null, 2) : renderDiff(result));
      const { create, update, prune } = result.counts;
      return create + update + prune > 0 ? exit.differences : exit.ok;
    } finally {
      store.close();
    }
  },
};
