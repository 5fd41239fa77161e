import { stringify } from 'yaml';
import { newUserToken, tokenNamespace, tokenSecretType, tokenUserLabel } from '../../api/tokens.js';
import { parseDuration } from '../../manifest/names.js';
import { clientFromKubeconfig, kubeconfigPath } from '../client.js';
import { exit, usageError, type Command } from '../command.js';
import { kubeconfigOption } from '../shared.js';

const roles = ['view', 'edit', 'admin'];

/**
 * Tokens for people: `create` records a token (only its hash reaches the server), binds the user to
 * a role in one namespace, and prints a kubeconfig; `revoke` deletes both.
 */
export const tokenCommand: Command = {
  name: 'token',
  usage: 'token create NAME --namespace NS --role view|edit|admin [--ttl 24h] | token list | token revoke NAME',
  options: {
    kubeconfig: kubeconfigOption,
    namespace: { type: 'string', short: 'n', description: 'with create: the namespace the role applies in' },
    role: { type: 'string', description: 'with create: view, edit or admin (Kubernetes\' default ClusterRoles)' },
    ttl: { type: 'string', description: 'with create: how long the token is valid (default: until revoked), e.g. 24h' },
  },
  async run(values, positionals, io) {
    const [verb, name] = positionals;
    const kubeconfig = kubeconfigPath(values.kubeconfig as string | undefined);
    const client = clientFromKubeconfig(kubeconfig);
    switch (verb) {
      case 'create': {
        if (!name || !/^[a-z0-9]([a-z0-9.@_-]*[a-z0-9])?$/.test(name)) usageError('name the user: token create NAME (lowercase letters, digits, ".", "@", "_" and "-")');
        const ns = values.namespace as string | undefined;
        if (!ns) usageError('--namespace NS is required: the namespace the role applies in');
        const role = values.role as string | undefined;
        if (!role || !roles.includes(role)) usageError(`--role must be one of ${roles.join(', ')}`);
        const ttl = values.ttl ? parseDuration(values.ttl as string) : undefined;
        if (values.ttl && ttl === undefined) usageError(`--ttl ${values.ttl} is not a duration such as 30m or 24h`);
        if (!(await client.get('Namespace', undefined, ns))) usageError(`namespace ${ns} does not exist; create it first`);
        const { token, secret } = newUserToken(name, ttl ? new Date(Date.now() + ttl) : undefined);
        await client.create(secret);
        await client.create({
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: secret.metadata.name, namespace: ns, labels: { [tokenUserLabel]: name } },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
          subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name }],
        });
        io.out(stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'gouvernail', cluster: { server: client.server, ...(client.options.ca ? { 'certificate-authority-data': Buffer.from(client.options.ca).toString('base64') } : {}) } }],
          users: [{ name, user: { token } }],
          contexts: [{ name: `${name}@gouvernail`, context: { cluster: 'gouvernail', user: name, namespace: ns } }],
          'current-context': `${name}@gouvernail`,
        }).trimEnd());
        io.err(`token for ${name}: ${role} in namespace ${ns}${ttl ? `, valid until ${new Date(Date.now() + ttl).toISOString()}` : ''}; save the kubeconfig above, it is shown once`);
        return exit.ok;
      }
      case 'list': {
        const secrets = (await client.list('Secret', tokenNamespace)).filter((s) => s.type === tokenSecretType);
        const bindings = await client.list('RoleBinding', undefined, tokenUserLabel);
        if (secrets.length === 0) {
          io.out('No tokens.');
          return exit.ok;
        }
        io.out('USER                 TOKEN ID     ACCESS                         EXPIRES');
        for (const s of secrets) {
          const b = bindings.find((x) => x.metadata.name === s.metadata.name);
          const access = b ? `${(b.roleRef as { name: string }).name} in ${b.metadata.namespace}` : '-';
          io.out(`${(s.metadata.labels?.[tokenUserLabel] ?? '').padEnd(21)}${s.metadata.name.replace('gouvernail-token-', '').padEnd(13)}${access.padEnd(31)}${s.metadata.annotations?.['gouvernail.io/expires'] ?? 'never'}`);
        }
        return exit.ok;
      }
      case 'revoke': {
        if (!name) usageError('name the user whose tokens to revoke: token revoke NAME');
        const secrets = (await client.list('Secret', tokenNamespace, `${tokenUserLabel}=${name}`)).filter((s) => s.type === tokenSecretType);
        const bindings = await client.list('RoleBinding', undefined, `${tokenUserLabel}=${name}`);
        if (secrets.length === 0) {
          io.err(`error: no token for ${name}`);
          return 1;
        }
        for (const s of secrets) await client.delete('Secret', tokenNamespace, s.metadata.name);
        for (const b of bindings) await client.delete('RoleBinding', b.metadata.namespace, b.metadata.name);
        io.out(`revoked ${secrets.length} token${secrets.length === 1 ? '' : 's'} of ${name}`);
        return exit.ok;
      }
      default:
        usageError('token create NAME --namespace NS --role view|edit|admin | token list | token revoke NAME');
    }
  },
};
