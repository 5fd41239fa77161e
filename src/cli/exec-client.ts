import http from 'node:http';
import https from 'node:https';
import { ApiError } from '../api/errors.js';
import type { HttpClient } from '../api/http-client.js';
import { channel, frame, frameReader, upgradeProtocol } from '../server/exec-protocol.js';

/** Runs a command in a Pod over the upgraded exec connection; resolves with its exit code. */
export function execStream(client: HttpClient, namespace: string, pod: string, command: string[], options: { container?: string; stdin: boolean; tty: boolean }): Promise<number> {
  const url = new URL(`${client.server}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/exec`);
  for (const c of command) url.searchParams.append('command', c);
  if (options.container) url.searchParams.set('container', options.container);
  url.searchParams.set('stdin', String(options.stdin));
  url.searchParams.set('tty', String(options.tty));
  return new Promise((resolve, reject) => {
    const { agent, headers } = client.requestOptions();
    const req = (url.protocol === 'https:' ? https : http).request(url, { method: 'POST', agent, headers: { ...headers, connection: 'Upgrade', upgrade: upgradeProtocol } });
    req.on('error', (err) => reject(new ApiError(0, 'Unreachable', `cannot reach the Gouvernail API at ${client.server} (${err.message}); is 'gouvernail serve' running?`)));
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        const status = JSON.parse(body || '{}');
        reject(new ApiError(res.statusCode ?? 500, status.reason ?? 'Error', status.message ?? `HTTP ${res.statusCode}`));
      });
    });
    req.on('upgrade', (_res, socket, head) => {
      const raw = options.tty && options.stdin && process.stdin.isTTY;
      let code = 1;
      const restore = () => {
        if (raw) process.stdin.setRawMode(false);
        process.stdin.pause();
      };
      const read = frameReader((ch, payload) => {
        if (ch === channel.stdout) process.stdout.write(payload);
        else if (ch === channel.stderr) process.stderr.write(payload);
        else if (ch === channel.exit) code = Number(payload.toString());
        else if (ch === channel.error) process.stderr.write(`error: ${payload.toString()}\n`);
      });
      if (head.length) read(head);
      socket.on('data', read);
      socket.on('close', () => {
        restore();
        resolve(code);
      });
      if (options.stdin) {
        if (raw) {
          process.stdin.setRawMode(true);
          const resize = () => socket.write(frame(channel.resize, `${process.stdout.columns},${process.stdout.rows}`));
          resize();
          process.stdout.on('resize', resize);
        }
        process.stdin.on('data', (b: Buffer) => socket.write(frame(channel.stdin, b)));
        process.stdin.on('end', () => socket.write(frame(channel.stdinClose)));
      } else {
        socket.write(frame(channel.stdinClose));
      }
    });
    req.end();
  });
}
