import Docker from 'dockerode';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { defaultDataDir } from '../../server/data-dir.js';
import { ObjectStore } from '../../store/object-store.js';
import { SecretBox } from '../../store/secret-box.js';
import { teardown } from '../../runtime/teardown.js';
import { exit, usageError, type Command } from '../command.js';

export const downCommand: Command = {
  name: 'down',
  usage: 'down [--data-dir DIR] [--volumes] [--docker-socket PATH]',
  options: {
    'data-dir': { type: 'string', description: `serve's data folder (default ${defaultDataDir()})` },
    volumes: { type: 'boolean', description: "remove the installation's volumes too (claims' and emptyDirs' data)" },
    'docker-socket': { type: 'string', description: 'the local Docker engine (default /var/run/docker.sock)' },
  },
  async run(values, _positionals, io) {
    const dataDir = (values['data-dir'] as string | undefined) ?? defaultDataDir();
    const idFile = path.join(dataDir, 'installation-id');
    if (!existsSync(idFile)) usageError(`down: ${dataDir} holds no installation (no installation-id); name serve's folder with --data-dir`);
    const running = await serveAnswering(dataDir);
    if (running) {
      io.err(`error: serve is running on ${dataDir} (it answers on ${running}) and would make everything again: stop it first, then run down`);
      return exit.invalid;
    }
    const installation = readFileSync(idFile, 'utf8').trim();
    const keys = path.join(dataDir, 'encryption-keys.json');
    const store = ObjectStore.open(path.join(dataDir, 'state.db'), existsSync(keys) ? { secrets: SecretBox.load(keys) } : {});
    try {
      const socket = values['docker-socket'] as string | undefined;
      const result = await teardown({ store, installation, local: new Docker(socket ? { socketPath: socket } : undefined), volumes: !!values.volumes, progress: (line) => io.err(line) });
      const { containers, networks, volumes, hostNetwork } = result.removed;
      io.out(`removed ${containers} containers, ${networks} networks, ${volumes} volumes and ${hostNetwork} host network entries of installation ${installation}`);
      for (const l of result.left) io.err(`left: ${l}`);
      // The files serve wrote for its Pods (their service account tokens) go with their containers;
      // serve writes them again for the Pods it makes.
      const podFiles = path.join(dataDir, 'pods');
      if (result.left.length === 0 && existsSync(podFiles)) {
        rmSync(podFiles, { recursive: true, force: true });
        io.err(`removed the Pods' files (service account tokens) in ${podFiles}`);
      }
      io.err(`the store in ${dataDir} is kept: gouvernail serve --data-dir ${dataDir} makes everything again`);
      return result.left.length ? 1 : exit.ok;
    } finally {
      store.close();
    }
  },
};

/** The address serve answers on for this data folder (from its kubeconfig), if something answers there. */
async function serveAnswering(dataDir: string): Promise<string | undefined> {
  const kubeconfig = path.join(dataDir, 'kubeconfig');
  if (!existsSync(kubeconfig)) return undefined;
  const server = /server:\s*(\S+)/.exec(readFileSync(kubeconfig, 'utf8'))?.[1];
  if (!server) return undefined;
  const url = new URL(server);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const answers = await new Promise<boolean>((resolve) => {
    const s = net.connect({ host: url.hostname, port, timeout: 1000 }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('timeout', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(false));
  });
  return answers ? server : undefined;
}
