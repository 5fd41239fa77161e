import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { defaultDataDir } from '../../server/data-dir.js';
import { issueClientCertificate } from '../../server/tls.js';
import { exit, usageError, type Command } from '../command.js';

/** Client certificates signed by the cluster CA, on the host that runs serve (it reads DATA/pki). */
export const certCommand: Command = {
  name: 'cert',
  usage: 'cert create NAME [--group G ...] [--days 365] [--data-dir DIR]',
  options: {
    group: { type: 'string', multiple: true, description: 'a group of the user (the certificate\'s O); repeatable' },
    days: { type: 'string', description: 'how long the certificate is valid (default 365)' },
    'data-dir': { type: 'string', description: `serve's data folder, which holds the CA (default ${defaultDataDir()})` },
  },
  async run(values, positionals, io) {
    const [verb, name] = positionals;
    if (verb !== 'create' || !name) usageError('cert create NAME [--group G ...]');
    const days = Number(values.days ?? 365);
    if (!Number.isInteger(days) || days < 1) usageError(`--days ${values.days} is not a whole number of days`);
    const dataDir = (values['data-dir'] as string | undefined) ?? defaultDataDir();
    const admin = path.join(dataDir, 'kubeconfig');
    if (!existsSync(admin)) usageError(`there is no ${admin}; start gouvernail serve with --data-dir ${dataDir} first`);
    const server = (parse(readFileSync(admin, 'utf8')) as { clusters: { cluster: { server: string } }[] }).clusters[0]!.cluster.server;
    const groups = (values.group as string[] | undefined) ?? [];
    const issued = await issueClientCertificate(dataDir, name, groups, days);
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    io.out(stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'gouvernail', cluster: { server, 'certificate-authority-data': b64(issued.ca) } }],
      users: [{ name, user: { 'client-certificate-data': b64(issued.cert), 'client-key-data': b64(issued.key) } }],
      contexts: [{ name: `${name}@gouvernail`, context: { cluster: 'gouvernail', user: name } }],
      'current-context': `${name}@gouvernail`,
    }).trimEnd());
    return exit.ok;
  },
};
