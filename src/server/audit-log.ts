import { appendFileSync, existsSync, renameSync, statSync } from 'node:fs';
import type { AuditEntry } from '../api/api-server.js';

/**
 * The audit log: one JSON line a request (when, who, verb, resource, namespace, name, result) in
 * DATA/audit.log, rotated at `maxBytes` into audit.log.1 ... audit.log.N.
 */
export class AuditLog {
  private size: number;

  constructor(private readonly file: string, private readonly maxBytes = 10 * 1024 * 1024, private readonly keep = 3) {
    this.size = existsSync(file) ? statSync(file).size : 0;
  }

  write(entry: AuditEntry): void {
    const line = `${JSON.stringify(entry)}\n`;
    if (this.size + line.length > this.maxBytes) this.rotate();
    appendFileSync(this.file, line, { mode: 0o600 });
    this.size += Buffer.byteLength(line);
  }

  private rotate(): void {
    for (let i = this.keep - 1; i >= 1; i--) if (existsSync(`${this.file}.${i}`)) renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
    if (existsSync(this.file)) renameSync(this.file, `${this.file}.1`);
    this.size = 0;
  }
}
