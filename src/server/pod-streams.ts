import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { KubeObject } from '../manifest/types.js';
import type { PodIo } from '../runtime/pod-io.js';

/**
 * Kubernetes' stream protocols over WebSocket, as kubectl 1.30+ speaks them for exec and attach:
 * every message is binary, its first byte the channel (0 stdin, 1 stdout, 2 stderr, 3 the final
 * Status as JSON, 4 resize as {"Width","Height"}); v5 adds 255 <channel> to close one (stdin EOF).
 * The library `ws` does the WebSocket part (handshake, framing, masking, close).
 */
export const streamProtocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

export const ch = { stdin: 0, stdout: 1, stderr: 2, status: 3, resize: 4, close: 255 } as const;

const server = new WebSocketServer({
  noServer: true,
  // The newest protocol both sides speak; none in common refuses the upgrade.
  handleProtocols: (offered) => streamProtocols.find((p) => offered.has(p)) ?? false,
});

export function acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<WebSocket> {
  return new Promise((resolve) => server.handleUpgrade(req, socket, head, resolve));
}

/** Whether a request offers a stream protocol Gouvernail speaks. */
export function offersStreamProtocol(req: IncomingMessage): boolean {
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  return String(req.headers.upgrade ?? '').toLowerCase() === 'websocket' && streamProtocols.some((p) => offered.includes(p));
}

const send = (ws: WebSocket, channel: number, data: Buffer | string) => {
  if (ws.readyState !== ws.OPEN) return;
  ws.send(Buffer.concat([Buffer.from([channel]), typeof data === 'string' ? Buffer.from(data) : data]));
};

/** The Status a stream ends with: Success, or the command's non-zero exit code as kubectl reads it. */
export function exitStatus(code: number): object {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return { metadata: {}, status: 'Failure', message: `command terminated with non-zero exit code: exit status ${code}`, reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(code) }] } };
}

export function failureStatus(message: string): object {
  return { metadata: {}, status: 'Failure', message, reason: 'InternalError', code: 500 };
}

interface Session {
  stdout: NodeJS.ReadableStream;
  stderr: NodeJS.ReadableStream;
  write(data: Buffer): void;
  closeStdin(): void;
  resize(cols: number, rows: number): Promise<unknown> | void;
  done: Promise<number>;
  abort(): void;
}

/**
 * What a client sends before the session is ready (kubectl writes stdin, and closes it, at once):
 * kept, and handed over when the session starts.
 */
function holdMessages(ws: WebSocket): () => Buffer[] {
  const held: Buffer[] = [];
  const hold = (raw: Buffer) => held.push(Buffer.from(raw));
  ws.on('message', hold);
  return () => {
    ws.off('message', hold);
    return held;
  };
}

/** Carries one exec or attach session over a WebSocket until it ends, then sends its Status. */
function carry(ws: WebSocket, session: Session, stdin: boolean, held: Buffer[]): void {
  session.stdout.on('data', (b: Buffer) => send(ws, ch.stdout, b));
  session.stderr.on('data', (b: Buffer) => send(ws, ch.stderr, b));
  const onMessage = (raw: Buffer) => {
    const data = Buffer.from(raw);
    if (data.length === 0) return;
    const channel = data[0]!;
    const payload = data.subarray(1);
    if (channel === ch.stdin && stdin) session.write(payload);
    else if (channel === ch.close && payload[0] === ch.stdin && stdin) session.closeStdin();
    else if (channel === ch.resize) {
      try {
        const size = JSON.parse(payload.toString()) as { Width?: number; Height?: number };
        if (size.Width && size.Height) void session.resize(size.Width, size.Height);
      } catch {
        // A resize that is not JSON is ignored, as the kubelet does.
      }
    }
  };
  for (const m of held) onMessage(m);
  ws.on('message', onMessage);
  ws.on('close', () => session.abort());
  ws.on('error', () => session.abort());
  void session.done.then((code) => {
    send(ws, ch.status, JSON.stringify(exitStatus(code)));
    ws.close(1000);
  });
}

export interface StreamRequest {
  pod: KubeObject;
  io: PodIo;
  url: URL;
}

/** `pods/NAME/exec`: a command in a container, its streams and exit code. */
export async function serveExec(ws: WebSocket, r: StreamRequest): Promise<void> {
  const q = r.url.searchParams;
  const command = q.getAll('command');
  const stdin = q.get('stdin') === 'true';
  const release = holdMessages(ws);
  try {
    if (command.length === 0) throw new Error('name the command: ?command=sh&command=-c...');
    const session = await r.io.execStream(r.pod, { container: q.get('container') ?? undefined, command, stdin, tty: q.get('tty') === 'true' });
    carry(ws, session, stdin, release());
  } catch (err) {
    send(ws, ch.status, JSON.stringify(failureStatus((err as Error).message)));
    ws.close(1000);
  }
}

/** `pods/NAME/attach`: the streams of the container's main process. */
export async function serveAttach(ws: WebSocket, r: StreamRequest): Promise<void> {
  const q = r.url.searchParams;
  const stdin = q.get('stdin') === 'true';
  const release = holdMessages(ws);
  try {
    const session = await r.io.attachStream(r.pod, { container: q.get('container') ?? undefined, stdin, tty: q.get('tty') === 'true' });
    carry(ws, session, stdin, release());
  } catch (err) {
    send(ws, ch.status, JSON.stringify(failureStatus((err as Error).message)));
    ws.close(1000);
  }
}
