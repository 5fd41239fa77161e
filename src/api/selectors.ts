import type { LabelSelector } from '../manifest/selector.js';
import type { KubeObject } from '../manifest/types.js';

/** Parses kubectl's `-l` syntax: `a=b,c!=d,e in (x,y),f notin (z),g,!h`. Throws on bad input. */
export function parseLabelSelector(text: string): LabelSelector {
  const selector: Required<LabelSelector> = { matchLabels: {}, matchExpressions: [] };
  const parts = text.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  for (const raw of parts) {
    const part = raw.trim();
    if (!part) continue;
    let m: RegExpExecArray | null;
    if ((m = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part))) {
      selector.matchExpressions.push({ key: m[1]!, operator: m[2] === 'in' ? 'In' : 'NotIn', values: m[3]!.split(',').map((v) => v.trim()) });
    } else if ((m = /^([^\s!=]+)\s*!=\s*(\S*)$/.exec(part))) {
      selector.matchExpressions.push({ key: m[1]!, operator: 'NotIn', values: [m[2]!] });
    } else if ((m = /^([^\s!=]+)\s*==?\s*(\S*)$/.exec(part))) {
      selector.matchLabels[m[1]!] = m[2]!;
    } else if ((m = /^!([^\s!=]+)$/.exec(part))) {
      selector.matchExpressions.push({ key: m[1]!, operator: 'DoesNotExist' });
    } else if ((m = /^([^\s!=]+)$/.exec(part))) {
      selector.matchExpressions.push({ key: m[1]!, operator: 'Exists' });
    } else {
      throw new Error(`cannot parse label selector ${JSON.stringify(part)}`);
    }
  }
  return selector;
}

/** Field selectors on the fields kubectl uses: metadata.name, metadata.namespace, spec.nodeName, status.phase... */
export function parseFieldSelector(text: string): (o: KubeObject) => boolean {
  const tests = text.split(',').filter(Boolean).map((part) => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(part.trim());
    if (!m) throw new Error(`cannot parse field selector ${JSON.stringify(part)}`);
    const [, field, op, value] = m;
    return (o: KubeObject) => {
      let v: unknown = o;
      for (const key of field!.split('.')) v = (v as Record<string, unknown> | undefined)?.[key];
      const s = v === undefined || v === null ? '' : String(v);
      return op === '!=' ? s !== value : s === value;
    };
  });
  return (o) => tests.every((t) => t(o));
}
