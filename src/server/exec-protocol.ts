/**
 * The framing of `gouvernail exec` over an upgraded HTTP connection: each frame is a channel byte,
 * a 32-bit big-endian length and the payload, in both directions.
 */
export const channel = { stdin: 0, stdout: 1, stderr: 2, exit: 3, error: 4, stdinClose: 5, resize: 6 } as const;

export const upgradeProtocol = 'gouvernail-exec';

export function frame(ch: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(5);
  head.writeUInt8(ch, 0);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Feeds bytes in; calls `onFrame` for each complete frame. */
export function frameReader(onFrame: (ch: number, payload: Buffer) => void): (chunk: Buffer) => void {
  let buffer: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    while (buffer.length >= 5) {
      const size = buffer.readUInt32BE(1);
      if (buffer.length < 5 + size) break;
      onFrame(buffer.readUInt8(0), buffer.subarray(5, 5 + size));
      buffer = buffer.subarray(5 + size);
    }
  };
}
