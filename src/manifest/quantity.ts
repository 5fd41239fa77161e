const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimal: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** A Kubernetes quantity as a number: "128Mi" -> 134217728, "500m" -> 0.5. */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([+-]?[\d.]+)([a-zA-Z]*)$/.exec(q.trim());
  if (!m) return NaN;
  const [, num, suffix] = m;
  if (suffix! in binary) return Number(num) * binary[suffix!]!;
  if (suffix! in decimal) return Number(num) * decimal[suffix!]!;
  if (/^[eE]\d+$/.test(suffix!)) return Number(`${num}${suffix}`);
  return NaN;
}
