import test from 'ava';
import { pullSecretProblem, registryAuthFor, registryOf, repositoryOf } from '../src/runtime/registry-auth.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const configJson = (auths: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'reg' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64(JSON.stringify({ auths })) } });

test('an image names its registry and repository as Docker reads them', (t) => {
  t.deepEqual(['nginx', 'user/app:1', 'docker.io/user/app', 'ghcr.io/org/app:2', 'localhost/app', '127.0.0.1:5000/team/app@sha256:ab'].map((i) => [registryOf(i), repositoryOf(i)]), [
    ['docker.io', 'library/nginx'],
    ['docker.io', 'user/app'],
    ['docker.io', 'user/app'],
    ['ghcr.io', 'org/app'],
    ['localhost', 'app'],
    ['127.0.0.1:5000', 'team/app'],
  ]);
});

test('pull credentials come from the entry for the image\'s registry, the longest matching path first', (t) => {
  const secret = configJson({
    'https://index.docker.io/v1/': { auth: b64('hub:hubpass') },
    'ghcr.io': { username: 'any', password: 'p1' },
    'ghcr.io/org': { username: 'org', password: 'p2' },
    '127.0.0.1:5000': { auth: b64('local:with:colon') },
  });
  t.deepEqual(registryAuthFor('user/app:1', [secret]), { serveraddress: 'https://index.docker.io/v1/', username: 'hub', password: 'hubpass' });
  t.deepEqual(registryAuthFor('ghcr.io/org/app:1', [secret]), { serveraddress: 'ghcr.io', username: 'org', password: 'p2' });
  t.deepEqual(registryAuthFor('ghcr.io/other/app', [secret]), { serveraddress: 'ghcr.io', username: 'any', password: 'p1' });
  t.deepEqual(registryAuthFor('127.0.0.1:5000/app', [secret]), { serveraddress: '127.0.0.1:5000', username: 'local', password: 'with:colon' });
  t.is(registryAuthFor('quay.io/x/y', [secret]), undefined);
  // The older kubernetes.io/dockercfg form; a Secret of another type, or unreadable, gives nothing.
  const dockercfg = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'old' }, type: 'kubernetes.io/dockercfg', data: { '.dockercfg': b64(JSON.stringify({ 'quay.io': { auth: b64('q:qp') } })) } };
  t.deepEqual(registryAuthFor('quay.io/x/y', [secret, dockercfg]), { serveraddress: 'quay.io', username: 'q', password: 'qp' });
  t.is(registryAuthFor('quay.io/x/y', [{ ...dockercfg, data: { '.dockercfg': b64('{') } }]), undefined);
});

test('a pull Secret that gives no credentials says why, without a word of its content', (t) => {
  t.is(pullSecretProblem(configJson({ 'ghcr.io': { auth: b64('u:p') } })), undefined);
  t.regex(pullSecretProblem({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' }, data: { password: b64('hunter2') } })!, /is of type Opaque, not kubernetes\.io\/dockerconfigjson \(kubectl create secret docker-registry/);
  const broken = pullSecretProblem({ ...configJson({}), data: { '.dockerconfigjson': b64('{"auths": hunter2') } })!;
  t.regex(broken, /no \.dockerconfigjson that reads as JSON/);
  t.false(broken.includes('hunter2'));
});
