import type net from 'node:net';

/** Joins two sockets both ways; either one's error or end closes both. */
export function pipeSockets(a: net.Socket, b: net.Socket): void {
  a.pipe(b).pipe(a);
  const close = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', close);
  b.on('error', close);
}
