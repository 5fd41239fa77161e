import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { GouvernailError } from '../errors.js';

interface Key {
  name: string;
  key: Buffer;
}

/**
 * Encryption of Secret data at rest, as Kubernetes' EncryptionConfiguration with aesgcm: AES-256-GCM
 * under the first key of a key file; every key of the file can still open what it sealed, so a new
 * key is put first and the store re-seals the Secrets with it (rotation).
 */
export class SecretBox {
  private readonly byName: Map<string, Buffer>;

  constructor(private readonly keys: Key[]) {
    if (keys.length === 0) throw new GouvernailError('UsageError', 'the encryption key file has no key');
    this.byName = new Map(keys.map((k) => [k.name, k.key]));
  }

  /** Reads the key file (JSON: [{name, key: base64 of 32 bytes}], newest first), making one if there is none. */
  static load(file: string): SecretBox {
    if (!existsSync(file)) writeFileSync(file, `${JSON.stringify([newKey()], null, 2)}\n`, { mode: 0o600 });
    let raw: { name: string; key: string }[];
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new GouvernailError('UsageError', `cannot read the encryption key file ${file}: ${(err as Error).message}`);
    }
    const keys = raw.map((k) => ({ name: k.name, key: Buffer.from(k.key, 'base64') }));
    if (keys.some((k) => k.key.length !== 32 || !/^[a-z0-9-]+$/.test(k.name))) throw new GouvernailError('UsageError', `every key of ${file} needs a name (a-z, 0-9, -) and 32 bytes in base64`);
    return new SecretBox(keys);
  }

  /** Puts a new key first in the file; the store re-seals its Secrets with it at the next start. */
  static rotate(file: string): string {
    const current = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { name: string; key: string }[]) : [];
    const key = newKey();
    writeFileSync(file, `${JSON.stringify([key, ...current], null, 2)}\n`, { mode: 0o600 });
    return key.name;
  }

  get current(): string {
    return this.keys[0]!.name;
  }

  seal(plain: string): string {
    const { name, key } = this.keys[0]!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `aesgcm:${name}:${Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64')}`;
  }

  open(sealed: string): string {
    const [scheme, name, payload] = sealed.split(':');
    const key = name ? this.byName.get(name) : undefined;
    if (scheme !== 'aesgcm' || !key || !payload) throw new GouvernailError('StoreSchemaTooNew', `a Secret is sealed with key ${JSON.stringify(name)}, which the encryption key file no longer has; put that key back`);
    const bytes = Buffer.from(payload, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(12, 28));
    return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
  }

  /** The key a sealed value was sealed with. */
  static keyOf(sealed: string): string | undefined {
    return sealed.split(':')[1];
  }
}

function newKey(): { name: string; key: string } {
  return { name: `key-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '').toLowerCase()}-${randomBytes(2).toString('hex')}`, key: randomBytes(32).toString('base64') };
}
