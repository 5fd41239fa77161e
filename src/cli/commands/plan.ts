import { splitHooks } from '../../apply/hooks.js';
import { describeWait, plan } from '../../apply/plan.js';
import { planGraph, toDot, toMermaid } from '../../apply/plan-graph.js';
import { displayKey } from '../../manifest/keys.js';
import { formatProblem } from '../../manifest/problems.js';
import { exit, type Command } from '../command.js';
import { fileOption, withFolderArgument, hasErrors, loadForCommand, outputFormat, outputOption } from '../shared.js';

export const planCommand: Command = {
  name: 'plan',
  usage: 'plan -f DIR | DIR [-o json|dot|mermaid]',
  options: { filename: fileOption, output: { ...outputOption, description: 'output format: text (default), json, dot (Graphviz) or mermaid: the graph, waves as ranks, edges with their reason' } },
  async run(values, positionals, io) {
    values = withFolderArgument(values, positionals);
    const format = (values.output as string | undefined) ?? 'text';
    if (format === 'dot' || format === 'mermaid') values = { ...values, output: 'text' };
    const json = outputFormat(values) === 'json';
    const set = await loadForCommand(values, io, json);
    if (hasErrors(set.problems)) {
      if (json) io.out(JSON.stringify({ problems: set.problems }, null, 2));
      else io.err('invalid manifests: no plan; fix the errors above');
      return exit.invalid;
    }
    // Hooks run around the waves, in their phases: shown apart.
    const { objects, hooks } = splitHooks(set.manifests);
    const result = plan(objects);
    const failed = hasErrors(result.problems);
    if (json) {
      const waves = result.waves.map((w) => ({
        wave: w.number,
        objects: w.steps.map((s) => ({ kind: s.object.kind, namespace: s.object.metadata.namespace, name: s.object.metadata.name, syncWave: s.syncWave, waitsFor: s.waitsFor })),
      }));
      const hookList = Object.fromEntries(Object.entries(hooks).filter(([, l]) => l.length).map(([phase, l]) => [phase, l.map((m) => ({ kind: m.object.kind, namespace: m.object.metadata.namespace, name: m.object.metadata.name ?? `${m.object.metadata.generateName}<generated>` }))]));
      io.out(JSON.stringify({ waves, hooks: hookList, problems: [...set.problems, ...result.problems] }, null, 2));
      return failed ? exit.invalid : exit.ok;
    }
    for (const p of result.problems) io.err(`${p.severity}: ${formatProblem(p)}`);
    if (failed) {
      io.err('no plan; fix the errors above');
      return exit.invalid;
    }
    if (format === 'dot' || format === 'mermaid') {
      const graph = planGraph(result);
      io.out(format === 'dot' ? toDot(graph) : toMermaid(graph));
      return exit.ok;
    }
    const total = result.waves.reduce((n, w) => n + w.steps.length, 0);
    const lines = [`${total} objects in ${result.waves.length} wave${result.waves.length === 1 ? '' : 's'}; each wave starts when what it waits for is healthy`];
    const hookLines = (phase: 'PreSync' | 'Sync' | 'PostSync' | 'SyncFail', when: string) => {
      if (!hooks[phase].length) return;
      lines.push('', `${phase} hooks (${when}), one after the other, each to completion`);
      for (const m of hooks[phase]) lines.push(`  ${m.object.kind}/${m.object.metadata.name ?? `${m.object.metadata.generateName}<generated>`}`);
    };
    hookLines('PreSync', 'before wave 1');
    for (const w of result.waves) {
      lines.push('', `Wave ${w.number} of ${result.waves.length}`);
      for (const s of w.steps) {
        lines.push(`  ${displayKey(s.key, 'default')}`);
        for (const wait of s.waitsFor) lines.push(`      ${describeWait(wait)}`);
      }
    }
    hookLines('Sync', 'once every wave is written');
    hookLines('PostSync', 'once every object is healthy');
    hookLines('SyncFail', 'if the sync fails');
    io.out(lines.join('\n'));
    return exit.ok;
  },
};
