import test from 'ava';
import { connectionProblem, parseDockerHost } from '../src/runtime/docker-connection.js';
import { parseTaint } from '../src/cli/commands/node.js';

test('Docker URLs: unix, tcp and ssh are read; anything else names what to write', (t) => {
  t.deepEqual(parseDockerHost('unix:///var/run/docker.sock'), { protocol: 'unix', socketPath: '/var/run/docker.sock' });
  t.deepEqual(parseDockerHost('tcp://10.0.0.5:2376'), { protocol: 'tcp', host: '10.0.0.5', port: 2376 });
  t.deepEqual(parseDockerHost('ssh://deploy@node-3'), { protocol: 'ssh', host: 'node-3', port: 22, username: 'deploy' });
  t.deepEqual(parseDockerHost('ssh://deploy@[fd00::3]:2222'), { protocol: 'ssh', host: 'fd00::3', port: 2222, username: 'deploy' });
  t.throws(() => parseDockerHost('10.0.0.5:2376'), { message: /not a Docker URL: use unix:\/\/\/var\/run\/docker.sock, tcp:\/\/HOST:2376 or ssh:\/\/user@host/ });
  t.throws(() => parseDockerHost('tcp://10.0.0.5'), { message: /name the port/ });
  t.throws(() => parseDockerHost('ssh://node-3'), { message: /name the user/ });
  t.throws(() => parseDockerHost('unix://docker.sock'), { message: /absolute path/ });
  t.throws(() => parseDockerHost('http://10.0.0.5:2375'), { message: /http:\/\/ is not one Gouvernail speaks/ });
});

test('plain TCP is refused with the reason unless asked for; TLS needs all three files', (t) => {
  const tcp = parseDockerHost('tcp://10.0.0.5:2375');
  t.regex(connectionProblem(tcp, {}, false)!, /plain TCP gives anyone who reaches the port root on the host.*--tls-ca, --tls-cert and --tls-key.*--insecure/);
  t.is(connectionProblem(tcp, {}, true), undefined);
  t.regex(connectionProblem(tcp, { ca: 'x', cert: 'y' }, true)!, /TLS needs all three/);
  t.is(connectionProblem(tcp, { ca: 'x', cert: 'y', key: 'z' }, false), undefined);
  t.is(connectionProblem(parseDockerHost('unix:///run/d.sock'), {}, false), undefined);
});

test('taints as kubectl writes them', (t) => {
  t.deepEqual(parseTaint('dedicated=db:NoSchedule'), { key: 'dedicated', value: 'db', effect: 'NoSchedule' });
  t.deepEqual(parseTaint('gpu:PreferNoSchedule'), { key: 'gpu', effect: 'PreferNoSchedule' });
});
