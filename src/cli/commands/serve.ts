import { readFileSync } from 'node:fs';
import { serve, defaultDataDir } from '../../server/serve.js';
import { usageError, type Command } from '../command.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Run the control plane: the store, the API, the controllers and the local Docker node.',
  usage: 'serve [--watch DIR ...] [--webhook-secret-file FILE] [--data-dir DIR] [--listen HOST:PORT] [--docker-socket PATH]',
  options: {
    'data-dir': { type: 'string', description: `where the store and credentials live (default ${defaultDataDir()})` },
    listen: { type: 'string', description: 'address of the API (default 127.0.0.1:8080)' },
    'docker-socket': { type: 'string', description: 'the local Docker engine (default /var/run/docker.sock)' },
    'node-name': { type: 'string', description: 'name of the local node (default: the host name)' },
    'webhook-secret-file': { type: 'string', description: 'file holding the secret webhooks are signed with (or $GOUVERNAIL_WEBHOOK_SECRET); without one, webhooks are refused' },
    watch: { type: 'string', multiple: true, description: 'a folder to apply and keep applied as you save (an Application with prune); repeatable' },
  },
  async run(values, _positionals, io) {
    const listen = (values.listen as string | undefined) ?? '127.0.0.1:8080';
    const m = /^(.*):(\d+)$/.exec(listen);
    if (!m) usageError(`--listen ${listen} is not HOST:PORT`);
    const server = await serve({
      dataDir: (values['data-dir'] as string | undefined) ?? defaultDataDir(),
      host: m[1]!,
      port: Number(m[2]),
      dockerSocket: values['docker-socket'] as string | undefined,
      nodeName: values['node-name'] as string | undefined,
      watch: values.watch as string[] | undefined,
      webhookSecret: values['webhook-secret-file'] ? readFileSync(values['webhook-secret-file'] as string, 'utf8').trim() : process.env.GOUVERNAIL_WEBHOOK_SECRET || undefined,
    });
    io.err(`gouvernail: serving on ${server.server}; kubeconfig at ${server.kubeconfig}`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        io.err('gouvernail: stopping (containers keep running)');
        void server.close().then(resolve);
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    return 0;
  },
};
