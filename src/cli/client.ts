import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { HttpClient } from '../api/http-client.js';
import { GouvernailError } from '../errors.js';
import { defaultDataDir } from '../server/data-dir.js';

/** Finds the kubeconfig as kubectl does: --kubeconfig, then $KUBECONFIG, then gouvernail serve's default. */
export function kubeconfigPath(flag?: string): string {
  return flag ?? process.env.KUBECONFIG?.split(':')[0] ?? path.join(defaultDataDir(), 'kubeconfig');
}

/** The HTTP client for the current context of a kubeconfig: server, bearer token and CA. */
export function clientFromKubeconfig(file: string): HttpClient {
  let config: any;
  try {
    config = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new GouvernailError('UsageError', `cannot read the kubeconfig ${file}: ${(err as Error).message}; start 'gouvernail serve' or pass --kubeconfig`);
  }
  const ctx = config.contexts?.find((c: any) => c.name === config['current-context'])?.context ?? config.contexts?.[0]?.context;
  const cluster = config.clusters?.find((c: any) => c.name === ctx?.cluster)?.cluster;
  const user = config.users?.find((u: any) => u.name === ctx?.user)?.user;
  const certData = user?.['client-certificate-data'];
  const keyData = user?.['client-key-data'];
  if (!cluster?.server || (!user?.token && !(certData && keyData))) throw new GouvernailError('UsageError', `the kubeconfig ${file} has no server, or no token or client certificate, for its current context`);
  const caData = cluster['certificate-authority-data'];
  const ca = caData ? Buffer.from(caData, 'base64').toString('utf8') : cluster['certificate-authority'] ? readFileSync(path.resolve(path.dirname(file), cluster['certificate-authority']), 'utf8') : undefined;
  const pem = (b64: string | undefined) => (b64 ? Buffer.from(b64, 'base64').toString('utf8') : undefined);
  return new HttpClient(cluster.server, user.token ?? '', { ca, cert: pem(certData), key: pem(keyData) });
}
