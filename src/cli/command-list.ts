import type { Command } from './command.js';

/**
 * Every command with its one-line summary. A command's module (and what it imports: the store, the
 * API, Docker's client) is loaded only when it runs, so `gouvernail plan` does not pay for `serve`.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}

export const commandList: CommandEntry[] = [
  { name: 'serve', summary: 'Run the control plane (store, API, controllers, the local Docker node, the status page) and keep Applications synced.', load: async () => (await import('./commands/serve.js')).serveCommand },
  { name: 'validate', summary: 'Check a folder of manifests: YAML, kinds, fields, names, duplicates. Exit 2 when anything is invalid.', load: async () => (await import('./commands/validate.js')).validateCommand },
  { name: 'plan', summary: 'Show the order Gouvernail would apply a folder in: waves, and what each object waits for.', load: async () => (await import('./commands/plan.js')).planCommand },
  { name: 'diff', summary: "Compare a folder of manifests with the objects in a store, or preview what a Git revision would change in a running Application (applying nothing). Exit 1 when they differ, 2 on invalid input.", load: async () => (await import('./commands/diff.js')).diffCommand },
  { name: 'apply', summary: 'Apply a folder of manifests wave by wave; each wave starts when what it waits for is healthy.', load: async () => (await import('./commands/apply.js')).applyCommand },
  { name: 'delete', summary: 'Delete the objects of a folder, in the reverse of the order apply uses, or objects by name.', load: async () => (await import('./commands/apply.js')).deleteCommand },
  { name: 'get', summary: 'List or show objects, as kubectl get does: get pods, get deploy web -o yaml, get pods -A -l app=web.', load: async () => (await import('./commands/kube.js')).getCommand },
  { name: 'describe', summary: 'Show an object in detail with its health; Secret values are shown only as sizes.', load: async () => (await import('./commands/kube.js')).describeCommand },
  { name: 'logs', summary: "Print a Pod container's logs; -f follows them.", load: async () => (await import('./commands/kube.js')).logsCommand },
  { name: 'exec', summary: 'Run a command in a Pod container, passing its output and exit code back; -i sends stdin, -t gives it a TTY.', load: async () => (await import('./commands/kube.js')).execCommand },
  { name: 'run', summary: 'Start a Pod from an image, as kubectl run does.', load: async () => (await import('./commands/kube.js')).runPodCommand },
  { name: 'scale', summary: 'Set the number of replicas of a Deployment.', load: async () => (await import('./commands/kube.js')).scaleCommand },
  { name: 'rollout', summary: "Follow, list or undo a Deployment's rollouts: rollout status|history|undo deployment NAME.", load: async () => (await import('./commands/kube.js')).rolloutCommand },
  { name: 'down', summary: "Remove what an installation runs on its nodes (containers, the network component and its host rules; volumes with --volumes), as docker compose down; the store is kept.", load: async () => (await import('./commands/down.js')).downCommand },
  { name: 'app', summary: 'Applications: app list | get | create NAME --path DIR | --hosted | sync | history | rollback NAME [REVISION] | resume | delete.', load: async () => (await import('./commands/app.js')).appCommand },
  { name: 'node', summary: 'Join Docker hosts: node add NAME --docker URL [--tls-ca F --tls-cert F --tls-key F | --insecure]; node list; node cordon|uncordon|drain NAME; node remove NAME.', load: async () => (await import('./commands/node.js')).nodeCommand },
  { name: 'webhooks', summary: 'The last webhook deliveries: when, which event, what they matched and what they started.', load: async () => (await import('./commands/webhooks.js')).webhooksCommand },
  { name: 'token', summary: 'Give someone access: token create NAME --namespace NS --role view|edit|admin prints a kubeconfig; token list; token revoke NAME.', load: async () => (await import('./commands/token.js')).tokenCommand },
  { name: 'cert', summary: 'cert create NAME [--group G ...] prints a kubeconfig with a client certificate signed by the cluster CA (CN NAME, O each group); bind roles to the user or groups.', load: async () => (await import('./commands/cert.js')).certCommand },
  { name: 'encryption', summary: 'Rotate the key that seals Secrets at rest: encryption rotate puts a new key first; serve re-seals every Secret with it at its next start.', load: async () => (await import('./commands/encryption.js')).encryptionCommand },
  { name: 'backup', summary: "Take a consistent snapshot of serve's store while it runs (SQLite's online backup), with the data folder's keys.", load: async () => (await import('./commands/backup.js')).backupCommand },
  { name: 'restore', summary: 'Bring a snapshot back into a new data folder; serve started on it adopts the running containers without restarting any.', load: async () => (await import('./commands/backup.js')).restoreCommand },
];
