import { displayKey, type ObjectKey } from '../manifest/keys.js';
import type { Plan, Wait } from './plan.js';

export interface GraphNode {
  id: ObjectKey;
  label: string;
  /** 1-based wave. */
  wave: number;
}

export interface GraphEdge {
  /** The object that waits. */
  from: ObjectKey;
  /** What it waits for. */
  to: ObjectKey;
  label: string;
}

/** The plan as a graph: one node per object (ranked by wave), one edge per wait with its reason. */
export interface PlanGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  waves: number;
}

function edgeLabel(w: Wait): string {
  switch (w.reason) {
    case 'depends-on':
      return 'depends-on';
    case 'sync-wave':
      return 'sync-wave';
    case 'namespace':
      return 'namespace';
    case 'reference':
      return (w.detail ?? 'reference').replace(/^spec\.(template\.spec\.)?/, '');
    case 'inferred':
      return w.detail ?? 'inferred';
  }
}

export function planGraph(p: Plan): PlanGraph {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const present = new Set(p.waves.flatMap((w) => w.steps.map((s) => s.key)));
  for (const w of p.waves) {
    for (const s of w.steps) {
      nodes.push({ id: s.key, label: displayKey(s.key, 'default'), wave: w.number });
      for (const wait of s.waitsFor) if (wait.key && present.has(wait.key)) edges.push({ from: s.key, to: wait.key, label: edgeLabel(wait) });
    }
  }
  return { nodes, edges, waves: p.waves.length };
}

const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Graphviz: waves as ranks, left to right, edges from what is waited for to what waits. */
export function toDot(g: PlanGraph): string {
  const lines = ['digraph plan {', '  rankdir=LR;', '  node [shape=box, fontname="sans-serif"];', '  edge [fontname="sans-serif", fontsize=10];'];
  for (let wave = 1; wave <= g.waves; wave++) {
    lines.push(`  subgraph cluster_wave_${wave} {`, `    label=${quote(`wave ${wave}`)};`, '    rank=same;');
    for (const n of g.nodes.filter((x) => x.wave === wave)) lines.push(`    ${quote(n.id)} [label=${quote(n.label)}];`);
    lines.push('  }');
  }
  for (const e of g.edges) lines.push(`  ${quote(e.to)} -> ${quote(e.from)} [label=${quote(e.label)}];`);
  lines.push('}');
  return lines.join('\n');
}

/** Mermaid flowchart: one subgraph per wave, edges labelled with their reason. */
export function toMermaid(g: PlanGraph): string {
  const ids = new Map(g.nodes.map((n, i) => [n.id, `n${i}`]));
  const text = (s: string) => `"${s.replace(/"/g, '#quot;')}"`;
  const lines = ['flowchart LR'];
  for (let wave = 1; wave <= g.waves; wave++) {
    lines.push(`  subgraph wave${wave}[${text(`wave ${wave}`)}]`);
    for (const n of g.nodes.filter((x) => x.wave === wave)) lines.push(`    ${ids.get(n.id)}[${text(n.label)}]`);
    lines.push('  end');
  }
  for (const e of g.edges) lines.push(`  ${ids.get(e.to)} -->|${text(e.label)}| ${ids.get(e.from)}`);
  return lines.join('\n');
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The same graph drawn server-side as SVG, for the status page (readable without JavaScript). */
export function toSvg(g: PlanGraph): string {
  const colWidth = 260;
  const rowHeight = 34;
  const boxWidth = 200;
  const place = new Map<ObjectKey, { x: number; y: number }>();
  let rows = 0;
  for (let wave = 1; wave <= g.waves; wave++) {
    const inWave = g.nodes.filter((n) => n.wave === wave);
    inWave.forEach((n, i) => place.set(n.id, { x: 10 + (wave - 1) * colWidth, y: 30 + i * rowHeight }));
    rows = Math.max(rows, inWave.length);
  }
  const width = 20 + g.waves * colWidth;
  const height = 40 + rows * rowHeight;
  const parts = [`<svg class="plan" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="the order of the objects, by wave">`];
  for (let wave = 1; wave <= g.waves; wave++) parts.push(`<text x="${10 + (wave - 1) * colWidth}" y="16" font-size="12" font-weight="bold">wave ${wave}</text>`);
  for (const e of g.edges) {
    const a = place.get(e.to)!;
    const b = place.get(e.from)!;
    parts.push(`<line x1="${a.x + boxWidth}" y1="${a.y + 12}" x2="${b.x}" y2="${b.y + 12}" stroke="#888"><title>${esc(`${e.label}`)}</title></line>`);
  }
  for (const n of g.nodes) {
    const { x, y } = place.get(n.id)!;
    const waits = g.edges.filter((e) => e.from === n.id).map((e) => `${e.label} → ${g.nodes.find((m) => m.id === e.to)?.label}`);
    parts.push(`<g><title>${esc([n.label, ...waits].join('\n'))}</title><rect x="${x}" y="${y}" width="${boxWidth}" height="24" rx="4" fill="#f6f8fa" stroke="#999"/><text x="${x + 6}" y="${y + 16}" font-size="11">${esc(n.label.length > 32 ? `${n.label.slice(0, 31)}…` : n.label)}</text></g>`);
  }
  parts.push('</svg>');
  return parts.join('');
}
