import path from 'node:path';
import { stringify } from 'yaml';
import { resourcePath } from '../../api/resources.js';
import { HostedRepos } from '../../sync/hosted-repos.js';
import { clientFromKubeconfig, kubeconfigPath } from '../client.js';
import { exit, usageError, type Command } from '../command.js';
import { kubeconfigOption } from '../shared.js';
import { renderTable, toTable } from '../../api/tables.js';
import type { KubeObject } from '../../manifest/types.js';

export const appCommand: Command = {
  name: 'app',
  usage: 'app list|get|create|sync|history|rollback|resume|delete [NAME] [REVISION] [--path DIR | --hosted] [--prune] [--interval 3m] [-n NS]',
  options: {
    kubeconfig: kubeconfigOption,
    namespace: { type: 'string', short: 'n', description: 'namespace of the Application (default: default)' },
    path: { type: 'string', description: 'create: the local folder the Application applies' },
    hosted: { type: 'boolean', description: 'create: a Git repository served by Gouvernail, to git push to' },
    prune: { type: 'boolean', description: 'create: delete objects the source no longer has' },
    interval: { type: 'string', description: 'create: how often to check the source (default 3m)' },
    output: { type: 'string', short: 'o', description: 'get: yaml or json' },
  },
  async run(values, positionals, io) {
    const client = clientFromKubeconfig(kubeconfigPath(values.kubeconfig as string | undefined));
    const ns = (values.namespace as string | undefined) ?? 'default';
    const r = client.resource('applications');
    const [verb, name] = positionals;
    const needName = () => name ?? usageError(`usage: gouvernail app ${verb} NAME`);
    switch (verb) {
        case 'list': {
          const apps = await client.list('Application', ns);
          io.out(apps.length ? renderTable(toTable('Application', apps), {}) : `No Applications in ${ns} namespace.`);
          return exit.ok;
        }
        case 'get': {
          const app = await client.request<KubeObject>('GET', resourcePath(r, ns, needName()));
          // As kubectl get -o yaml: who wrote which field is left out.
          delete app.metadata.managedFields;
          io.out(values.output === 'json' ? JSON.stringify(app, null, 2) : stringify(app).trimEnd());
          return exit.ok;
        }
        case 'create': {
          if (!values.path === !values.hosted) usageError('app create NAME --path DIR, or app create NAME --hosted');
          const source = values.hosted ? { hosted: true } : { path: path.resolve(values.path as string) };
          await client.request('POST', resourcePath(r, ns), {
            apiVersion: 'gouvernail.io/v1',
            kind: 'Application',
            metadata: { name: needName(), namespace: ns },
            spec: { source, syncPolicy: { automated: true, prune: Boolean(values.prune), interval: (values.interval as string | undefined) ?? '3m' } },
          });
          io.out(`application.gouvernail.io/${name} created`);
          if (values.hosted) io.out(`push to deploy: git push ${client.server}${HostedRepos.urlPath(ns, name!)} main  (user: anything, password: the admin token of the kubeconfig)`);
          return exit.ok;
        }
        case 'sync':
          await client.request('POST', `/api/v1/applications/${encodeURIComponent(needName())}/sync?namespace=${encodeURIComponent(ns)}`);
          io.out(`sync of ${name} started`);
          return exit.ok;
        case 'history': {
          const app = await client.request<KubeObject>('GET', resourcePath(r, ns, needName()));
          io.out('STARTED                    DURATION  RESULT     REVISION              MESSAGE');
          for (const h of app.status?.history ?? []) io.out(`${h.startedAt.padEnd(27)}${`${(h.durationMs / 1000).toFixed(1)}s`.padEnd(10)}${h.result.padEnd(11)}${h.revision.padEnd(22)}${h.message.split('\n')[0].slice(0, 120)}`);
          return exit.ok;
        }
        case 'rollback':
        case 'resume': {
          const rev = positionals[2] ? `&revision=${encodeURIComponent(positionals[2])}` : '';
          const r2 = await client.request('POST', `/api/v1/applications/${encodeURIComponent(needName())}/${verb}?namespace=${encodeURIComponent(ns)}${rev}`);
          io.out(r2.message);
          return exit.ok;
        }
        case 'delete':
          await client.request('DELETE', resourcePath(r, ns, needName()));
          io.out(`application.gouvernail.io/${name} deleted (its objects are left running)`);
          return exit.ok;
        default:
          usageError('app takes list, get, create, sync, history, rollback, resume or delete');
      }
  },
};
