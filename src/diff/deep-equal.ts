/** Structural equality of JSON-shaped values; a key whose value is undefined counts as absent. Pure. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (isRecord(a) && isRecord(b)) {
    let count = 0;
    for (const k in a) {
      if (a[k] === undefined) continue;
      if (!deepEqual(a[k], b[k])) return false;
      count++;
    }
    for (const k in b) if (b[k] !== undefined) count--;
    return count === 0;
  }
  return false;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
