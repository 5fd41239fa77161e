/** IPv4 ranges in CIDR notation: parsing, membership and the nth address. Pure. */

export interface Cidr {
  /** The network address as an unsigned 32-bit number. */
  base: number;
  bits: number;
  /** How many addresses the range holds. */
  size: number;
  text: string;
}

export function ipToNumber(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

export function numberToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** Parses `10.96.0.0/16`; throws with what is wrong, for a flag's message. */
export function parseCidr(text: string): Cidr {
  const [ip, bitsText] = text.split('/');
  const bits = Number(bitsText);
  const addr = ipToNumber(ip ?? '');
  if (addr === undefined || !Number.isInteger(bits) || bits < 8 || bits > 30) throw new Error(`${JSON.stringify(text)} is not an IPv4 range such as 10.96.0.0/16 (prefix length 8 to 30)`);
  const size = 2 ** (32 - bits);
  const base = addr - (addr % size);
  return { base, bits, size, text: `${numberToIp(base)}/${bits}` };
}

export function contains(range: Cidr, ip: string): boolean {
  const n = ipToNumber(ip);
  return n !== undefined && n >= range.base && n < range.base + range.size;
}

/** The nth address of a range (0 is the network address). */
export function nthAddress(range: Cidr, n: number): string {
  return numberToIp(range.base + n);
}

/**
 * A range without the ranges in `except` (an ipBlock's cidr and except), as the fewest ranges that
 * cover what is left. Pure.
 */
export function subtract(range: Cidr, except: Cidr[]): Cidr[] {
  const inside = except.filter((e) => e.base < range.base + range.size && range.base < e.base + e.size);
  if (inside.some((e) => e.base <= range.base && e.base + e.size >= range.base + range.size)) return [];
  if (inside.length === 0 || range.bits >= 32) return [range];
  const half = range.size / 2;
  const bits = range.bits + 1;
  const lower = { base: range.base, bits, size: half, text: `${numberToIp(range.base)}/${bits}` };
  const upper = { base: range.base + half, bits, size: half, text: `${numberToIp(range.base + half)}/${bits}` };
  return [...subtract(lower, inside), ...subtract(upper, inside)];
}

/** Like parseCidr, for any prefix length (a /32 is one address); undefined when it is not one. */
export function parseBlock(text: string): Cidr | undefined {
  const [ip, bitsText] = text.includes('/') ? text.split('/') : [text, '32'];
  const bits = Number(bitsText);
  const addr = ipToNumber(ip ?? '');
  if (addr === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return undefined;
  const size = 2 ** (32 - bits);
  const base = addr - (addr % size);
  return { base, bits, size, text: `${numberToIp(base)}/${bits}` };
}
