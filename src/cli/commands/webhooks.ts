import type { Delivery } from '../../sync/webhooks.js';
import { clientFromKubeconfig, kubeconfigPath } from '../client.js';
import { exit, type Command } from '../command.js';
import { kubeconfigOption } from '../shared.js';

export const webhooksCommand: Command = {
  name: 'webhooks',
  usage: 'webhooks [-o json]',
  options: { kubeconfig: kubeconfigOption, output: { type: 'string', short: 'o', description: 'json for the raw list' } },
  async run(values, _positionals, io) {
    const client = clientFromKubeconfig(kubeconfigPath(values.kubeconfig as string | undefined));
    const { items } = await client.request<{ items: Delivery[] }>('GET', '/api/v1/webhook-deliveries');
    if (values.output === 'json') io.out(JSON.stringify(items, null, 2));
    else if (items.length === 0) io.out('No webhook deliveries yet.');
    else {
      io.out('WHEN                       PROVIDER  EVENT   STATUS  REPOSITORY / REF                     OUTCOME');
      for (const d of items) io.out(`${d.at.padEnd(27)}${d.provider.padEnd(10)}${(d.event || '-').padEnd(8)}${String(d.status).padEnd(8)}${`${d.repository ?? '-'} ${d.ref ?? ''}`.slice(0, 36).padEnd(37)}${d.outcome}`);
    }
    return exit.ok;
  },
};
