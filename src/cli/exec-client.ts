import WebSocket from 'ws';
import { ApiError } from '../api/errors.js';
import type { HttpClient } from '../api/http-client.js';
import { ch, streamProtocols } from '../server/pod-streams.js';

/**
 * Runs a command in a Pod over Kubernetes' exec protocol on a WebSocket (v5.channel.k8s.io, as
 * kubectl does); resolves with its exit code.
 */
export function execStream(client: HttpClient, namespace: string, pod: string, command: string[], options: { container?: string; stdin: boolean; tty: boolean }): Promise<number> {
  const url = new URL(`${client.server}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/exec`);
  for (const c of command) url.searchParams.append('command', c);
  if (options.container) url.searchParams.set('container', options.container);
  url.searchParams.set('stdin', String(options.stdin));
  url.searchParams.set('stdout', 'true');
  url.searchParams.set('stderr', String(!options.tty));
  url.searchParams.set('tty', String(options.tty));
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const { agent, headers } = client.requestOptions();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, [...streamProtocols], { agent, headers: headers as Record<string, string> });
    const raw = options.tty && options.stdin && process.stdin.isTTY;
    let code: number | undefined;
    const restore = () => {
      if (raw) process.stdin.setRawMode(false);
      process.stdin.pause();
    };
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => {
        let status: { reason?: string; message?: string } = {};
        try {
          status = JSON.parse(body || '{}');
        } catch {
          // Not a Status: the HTTP code says enough.
        }
        reject(new ApiError(res.statusCode ?? 500, status.reason ?? 'Error', status.message ?? `HTTP ${res.statusCode}`));
      });
    });
    ws.on('error', (err) => reject(new ApiError(0, 'Unreachable', `cannot reach the Gouvernail API at ${client.server} (${err.message}); is 'gouvernail serve' running?`)));
    ws.on('message', (data: Buffer) => {
      const payload = data.subarray(1);
      if (data[0] === ch.stdout) process.stdout.write(payload);
      else if (data[0] === ch.stderr) process.stderr.write(payload);
      else if (data[0] === ch.status) {
        const status = JSON.parse(payload.toString()) as { status: string; message?: string; reason?: string; details?: { causes?: { reason: string; message: string }[] } };
        if (status.status === 'Success') code = 0;
        else if (status.reason === 'NonZeroExitCode') code = Number(status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message ?? 1);
        else {
          process.stderr.write(`error: ${status.message}\n`);
          code = 1;
        }
      }
    });
    ws.on('close', () => {
      restore();
      resolve(code ?? 1);
    });
    ws.on('open', () => {
      const frame = (channel: number, body: Buffer | string) => ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(body)]));
      if (!options.stdin) return;
      if (raw) {
        process.stdin.setRawMode(true);
        const resize = () => frame(ch.resize, JSON.stringify({ Width: process.stdout.columns, Height: process.stdout.rows }));
        resize();
        process.stdout.on('resize', resize);
      }
      process.stdin.on('data', (b: Buffer) => frame(ch.stdin, b));
      process.stdin.on('end', () => frame(ch.close, Buffer.from([ch.stdin])));
    });
  });
}
