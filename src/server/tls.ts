import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const day = 86_400_000;

export interface ServingCertificate {
  /** PEM of the cluster CA, for kubeconfigs. */
  ca: string;
  cert: string;
  key: string;
  notAfter: Date;
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
}

async function importKey(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
  return (await webcrypto.subtle.importKey('pkcs8', der, algorithm, true, ['sign'])) as unknown as CryptoKey;
}

const serial = () => Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1');

/** The names the serving certificate covers: loopback, the host's names and addresses, and extras. */
export function subjectAltNames(extra: string[] = []): string[] {
  // The kubernetes.default.svc names are how Pods reach the API (the node agent maps them to it).
  const names = new Set(['127.0.0.1', '::1', 'localhost', os.hostname().toLowerCase(), 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local']);
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (!a.internal) names.add(a.address);
  for (const e of extra) if (e) names.add(e.toLowerCase());
  return [...names];
}

async function createCa(dir: string): Promise<void> {
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=gouvernail-ca',
    notBefore: new Date(Date.now() - day),
    notAfter: new Date(Date.now() + 3650 * day),
    signingAlgorithm: algorithm,
    keys,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true), await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)],
  });
  writeFileSync(path.join(dir, 'ca.key'), await keyPem(keys.privateKey), { mode: 0o600 });
  writeFileSync(path.join(dir, 'ca.crt'), cert.toString('pem'), { mode: 0o644 });
}

/** A new key and a certificate for it, signed by the cluster CA in `dir`. */
async function signLeaf(dir: string, subject: string, validDays: number, extensions: x509.Extension[]): Promise<{ cert: string; key: string }> {
  const caCert = new x509.X509Certificate(readFileSync(path.join(dir, 'ca.crt'), 'utf8'));
  const caKey = await importKey(readFileSync(path.join(dir, 'ca.key'), 'utf8'));
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: caCert.subject,
    notBefore: new Date(Date.now() - day),
    notAfter: new Date(Date.now() + validDays * day),
    signingAlgorithm: algorithm,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true), ...extensions, await x509.AuthorityKeyIdentifierExtension.create(caCert)],
  });
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}

async function createServing(dir: string, names: string[], validDays: number): Promise<void> {
  const { cert, key } = await signLeaf(dir, 'CN=gouvernail-apiserver', validDays, [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension(names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }))),
  ]);
  writeFileSync(path.join(dir, 'apiserver.key'), key, { mode: 0o600 });
  writeFileSync(path.join(dir, 'apiserver.crt'), cert, { mode: 0o644 });
}

/** Whether the certificate covers every name and stays valid past the renewal margin. */
function stillGood(file: string, names: string[], renewBeforeDays: number): boolean {
  if (!existsSync(file)) return false;
  const cert = new X509Certificate(readFileSync(file));
  if (new Date(cert.validTo).getTime() - Date.now() < renewBeforeDays * day) return false;
  const san = cert.subjectAltName ?? '';
  return names.every((n) => san.includes(isIP(n) ? `IP Address:${n}` : `DNS:${n}`));
}

/**
 * The cluster CA (made at first start, kept in DATA/pki) and the API server's certificate, signed
 * by it for `names`; renewed when it nears expiry or lacks a name.
 */
export async function ensureServingCertificate(dataDir: string, names: string[], options: { validDays?: number; renewBeforeDays?: number } = {}): Promise<ServingCertificate> {
  const dir = path.join(dataDir, 'pki');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(path.join(dir, 'ca.crt')) || !existsSync(path.join(dir, 'ca.key'))) await createCa(dir);
  const validDays = options.validDays ?? 365;
  if (!stillGood(path.join(dir, 'apiserver.crt'), names, Math.min(options.renewBeforeDays ?? 30, validDays / 2))) await createServing(dir, names, validDays);
  const cert = readFileSync(path.join(dir, 'apiserver.crt'), 'utf8');
  return { ca: readFileSync(path.join(dir, 'ca.crt'), 'utf8'), cert, key: readFileSync(path.join(dir, 'apiserver.key'), 'utf8'), notAfter: new Date(new X509Certificate(cert).validTo) };
}

/** A client certificate signed by the cluster CA: CN is the user, O the groups, as Kubernetes reads them. */
export async function issueClientCertificate(dataDir: string, user: string, groups: string[], validDays: number): Promise<{ cert: string; key: string; ca: string }> {
  const dir = path.join(dataDir, 'pki');
  if (!existsSync(path.join(dir, 'ca.key'))) throw new Error(`there is no cluster CA in ${dir}; start gouvernail serve once with this data folder`);
  const escape = (v: string) => v.replace(/([,+"\\<>;=])/g, '\\$1');
  const subject = [`CN=${escape(user)}`, ...groups.map((g) => `O=${escape(g)}`)].join(', ');
  const { cert, key } = await signLeaf(dir, subject, validDays, [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])]);
  return { cert, key, ca: readFileSync(path.join(dir, 'ca.crt'), 'utf8') };
}
