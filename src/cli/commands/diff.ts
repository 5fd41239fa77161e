import { existsSync } from 'node:fs';
import { diff, renderDiff } from '../../diff/diff.js';
import { keyOf, parseKey } from '../../manifest/keys.js';
import type { KubeObject } from '../../manifest/types.js';
import path from 'node:path';
import { ObjectStore } from '../../store/object-store.js';
import { SecretBox } from '../../store/secret-box.js';
import { folderInventory, inventoryKeys, inventoryNamespace, inventoryObjectName } from '../../apply/inventory.js';
import { exit, usageError, type Command } from '../command.js';
import { fileOption, hasErrors, loadForCommand, outputFormat, outputOption } from '../shared.js';

export const diffCommand: Command = {
  name: 'diff',
  summary: 'Compare a folder of manifests with the objects in a store. Exit 1 when they differ, 2 on invalid input.',
  usage: 'diff -f DIR --state PATH [--inventory NAME] [-o json]',
  options: {
    filename: fileOption,
    state: { type: 'string', description: 'the SQLite store to compare with (gouvernail serve keeps it in its data folder)' },
    inventory: { type: 'string', description: 'inventory whose objects may be pruned (default: the folder\'s)' },
    output: outputOption,
  },
  async run(values, _positionals, io) {
    const json = outputFormat(values) === 'json';
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
