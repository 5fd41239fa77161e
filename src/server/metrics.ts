/** A small Prometheus text-format registry: counters with labels and one histogram kind. */
export class Metrics {
  private readonly counters = new Map<string, { help: string; values: Map<string, number> }>();
  private readonly histograms = new Map<string, { help: string; buckets: number[]; counts: Map<string, number[]>; sums: Map<string, number> }>();

  counter(name: string, help: string): (labels?: Record<string, string>, by?: number) => void {
    const c = { help, values: new Map<string, number>() };
    this.counters.set(name, c);
    return (labels = {}, by = 1) => {
      const key = labelText(labels);
      c.values.set(key, (c.values.get(key) ?? 0) + by);
    };
  }

  histogram(name: string, help: string, buckets: number[]): (value: number, labels?: Record<string, string>) => void {
    const h = { help, buckets, counts: new Map<string, number[]>(), sums: new Map<string, number>() };
    this.histograms.set(name, h);
    return (value, labels = {}) => {
      const key = labelText(labels);
      const counts = h.counts.get(key) ?? new Array(buckets.length + 1).fill(0);
      buckets.forEach((b, i) => {
        if (value <= b) counts[i]++;
      });
      counts[buckets.length]++;
      h.counts.set(key, counts);
      h.sums.set(key, (h.sums.get(key) ?? 0) + value);
    };
  }

  render(gauges: { name: string; help: string; values: [Record<string, string>, number][] }[] = []): string {
    const out: string[] = [];
    for (const [name, c] of this.counters) {
      out.push(`# HELP ${name} ${c.help}`, `# TYPE ${name} counter`);
      for (const [labels, v] of c.values) out.push(`${name}${labels} ${v}`);
    }
    for (const [name, h] of this.histograms) {
      out.push(`# HELP ${name} ${h.help}`, `# TYPE ${name} histogram`);
      for (const [labels, counts] of h.counts) {
        const inner = labels.slice(1, -1);
        h.buckets.forEach((b, i) => out.push(`${name}_bucket{${inner ? `${inner},` : ''}le="${b}"} ${counts[i]}`));
        out.push(`${name}_bucket{${inner ? `${inner},` : ''}le="+Inf"} ${counts[h.buckets.length]}`);
        out.push(`${name}_sum${labels} ${h.sums.get(labels)}`, `${name}_count${labels} ${counts[h.buckets.length]}`);
      }
    }
    for (const g of gauges) {
      out.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`);
      for (const [labels, v] of g.values) out.push(`${g.name}${labelText(labels)} ${v}`);
    }
    return `${out.join('\n')}\n`;
  }
}

function labelText(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}
