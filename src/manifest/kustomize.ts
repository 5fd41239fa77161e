import path from 'node:path';
import { lazyPackage } from './lazy-package.js';
import { strategicMergePatch, jsonPatch } from '../api/patch.js';
import { isNamespaced, kindInfo } from './kinds.js';
import { kustomizeHash } from './kustomize-hash.js';
import { renameReferences } from './kustomize-refs.js';
import { podSpecOf, podTemplateOf } from './pod-template.js';
import { defaultLimits, parseManifestText, type ParseLimits } from './parse.js';
import type { Problem } from './problems.js';
import type { SourceFile } from './read-folder.js';
import type { KubeObject, Manifest, PodSpec } from './types.js';

const yamlPackage = lazyPackage<typeof import('yaml')>('yaml');

const kustomizationNames = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const supported = new Set([
  'apiVersion', 'kind', 'resources', 'bases', 'components', 'namespace', 'namePrefix', 'nameSuffix', 'commonLabels', 'labels', 'commonAnnotations',
  'images', 'replicas', 'patches', 'patchesStrategicMerge', 'patchesJson6902', 'configMapGenerator', 'secretGenerator', 'generatorOptions',
]);

export function findKustomization(files: SourceFile[], dir = ''): SourceFile | undefined {
  return files.find((f) => kustomizationNames.some((n) => f.path === (dir ? `${dir}/${n}` : n)));
}

interface Result {
  manifests: Manifest[];
  problems: Problem[];
}

/** Generated objects whose name gets kustomize's hash suffix at the end of the build. */
const needsHash = new WeakSet<KubeObject>();

/**
 * Kustomize as people use it, in kustomize's order: resources and bases (files, and folders with
 * their own kustomization, `../` ones too while they stay inside the source root), generators
 * (with behavior create, merge or replace, and generatorOptions), components, then the
 * transformers - patches (strategic merge and JSON 6902, with target selectors), namespace,
 * namePrefix and nameSuffix (references renamed), labels and commonLabels, commonAnnotations,
 * replicas, images - and last, at the top, the hash suffixes of generated names, identical to
 * kustomize's, with references renamed. A field it does not take is an error that names it.
 */
export function kustomize(files: SourceFile[], limits: ParseLimits = defaultLimits, dir = '', depth = 0, input: Manifest[] = []): Result {
  const problems: Problem[] = [];
  const kfile = findKustomization(files, dir)!;
  const fail = (message: string, field?: string): Result => ({ manifests: [], problems: [...problems, { severity: 'error', code: 'ManifestInvalid', file: kfile.path, field, message }] });
  if (depth > 20) return fail('kustomizations nest more than 20 deep; is there a loop?');
  const parsed = parseManifestText(kfile.text, kfile.path, limits);
  if (parsed.problems.length) return { manifests: [], problems: parsed.problems };
  const k = (parsed.manifests[0]?.object ?? {}) as Record<string, any>;
  const at = (field: string) => ({ ...parsed.manifests[0]!.locate([field]) });
  const problem = (field: string, message: string, code: Problem['code'] = 'ManifestInvalid') => problems.push({ severity: 'error', code, file: kfile.path, ...at(field.split(/[[.]/)[0]!), field, message });
  for (const field of Object.keys(k)) {
    if (!supported.has(field)) problem(field, `kustomization field ${field} is not supported by Gouvernail (it reads ${[...supported].filter((f) => f !== 'apiVersion' && f !== 'kind').join(', ')}); nothing was applied`);
  }
  const fileByPath = new Map(files.map((f) => [f.path, f]));
  const resolve = (ref: string, field: string): string | undefined => {
    const target = path.posix.normalize(path.posix.join(dir, ref));
    if (/^[a-z]+:\/\//.test(ref) || /^(github\.com|gitlab\.com|bitbucket\.org)\//.test(ref)) {
      problem(field, `${ref} is a remote resource; Gouvernail reads only the source itself (vendor it into the repository)`, 'ManifestOutsideRoot');
      return undefined;
    }
    if (target.startsWith('..') || path.posix.isAbsolute(ref)) {
      problem(field, `${ref} is outside the source root (for a Git source the repository, for a folder the folder itself)`, 'ManifestOutsideRoot');
      return undefined;
    }
    return target === '.' ? '' : target;
  };

  // Resources and bases.
  let manifests: Manifest[] = [...input];
  for (const field of ['resources', 'bases'] as const) {
    for (const [i, ref] of ((k[field] ?? []) as unknown[]).entries()) {
      if (typeof ref !== 'string') {
        problem(`${field}[${i}]`, 'must be a path');
        continue;
      }
      const target = resolve(ref, `${field}[${i}]`);
      if (target === undefined) continue;
      const file = fileByPath.get(target);
      if (file) {
        const r = parseManifestText(file.text, file.path, limits);
        problems.push(...r.problems);
        manifests.push(...r.manifests);
      } else if (findKustomization(files, target)) {
        const r = kustomize(files, limits, target, depth + 1);
        problems.push(...r.problems);
        manifests.push(...r.manifests);
      } else {
        problem(`${field}[${i}]`, `${ref} is neither a manifest file nor a folder with a kustomization`);
      }
    }
  }

  // Generators.
  const options = k.generatorOptions ?? {};
  for (const [field, kind] of [['configMapGenerator', 'ConfigMap'], ['secretGenerator', 'Secret']] as const) {
    for (const [i, g] of ((k[field] ?? []) as any[]).entries()) {
      const where = `${field}[${i}]`;
      const data = generatorData(g, dir, fileByPath, (f, m) => problem(`${where}.${f}`, m));
      const opts = { ...options, ...g.options, labels: { ...options.labels, ...g.options?.labels }, annotations: { ...options.annotations, ...g.options?.annotations } };
      const behavior = g.behavior ?? 'create';
      const name = String(g.name);
      const existing = manifests.find((m) => m.object.kind === kind && m.object.metadata?.name === name && (g.namespace === undefined || m.object.metadata.namespace === g.namespace));
      if (behavior !== 'create' && !existing) {
        problem(`${where}.behavior`, `${behavior} needs a ${kind} named ${name} from the resources or bases; there is none`);
        continue;
      }
      if (behavior === 'create' && existing) {
        problem(`${where}.name`, `a ${kind} named ${name} already comes from the resources; use behavior: merge or replace`);
        continue;
      }
      const encoded = kind === 'Secret' ? Object.fromEntries(Object.entries(data).map(([key, v]) => [key, Buffer.from(v).toString('base64')])) : data;
      let object: KubeObject;
      if (existing && behavior === 'merge') {
        object = existing.object;
        object.data = { ...object.data, ...encoded };
      } else {
        object = kind === 'ConfigMap' ? { apiVersion: 'v1', kind, metadata: { name }, data: encoded } : { apiVersion: 'v1', kind, metadata: { name }, type: g.type ?? 'Opaque', data: encoded };
        if (g.namespace) object.metadata.namespace = g.namespace;
        if (existing) manifests = manifests.filter((m) => m !== existing);
        manifests.push({ object, source: { file: kfile.path, document: 0, ...at(field) }, locate: () => at(field) });
      }
      if (Object.keys(opts.labels).length) object.metadata.labels = { ...object.metadata.labels, ...opts.labels };
      if (Object.keys(opts.annotations).length) object.metadata.annotations = { ...object.metadata.annotations, ...opts.annotations };
      if (opts.immutable) object.immutable = true;
      if (opts.disableNameSuffixHash === true) needsHash.delete(object);
      else needsHash.add(object);
    }
  }

  // Components: each transforms what has been gathered so far.
  for (const [i, ref] of ((k.components ?? []) as unknown[]).entries()) {
    const target = typeof ref === 'string' ? resolve(ref, `components[${i}]`) : undefined;
    if (target === undefined) continue;
    if (!findKustomization(files, target)) {
      problem(`components[${i}]`, `${String(ref)} is not a folder with a kustomization (kind: Component)`);
      continue;
    }
    const r = kustomize(files, limits, target, depth + 1, manifests);
    problems.push(...r.problems);
    manifests = r.manifests;
  }

  // Patches.
  const patchText = (p: { path?: string; patch?: string }, where: string): unknown[] | undefined => {
    if (p.patch !== undefined) {
      const r = parseManifestText(String(p.patch), `${kfile.path} (${where})`, limits);
      if (r.problems.length) return void problems.push(...r.problems);
      return r.manifests.map((m) => m.object);
    }
    const target = p.path !== undefined ? resolve(String(p.path), `${where}.path`) : undefined;
    const file = target !== undefined ? fileByPath.get(target) : undefined;
    if (!file) return void problem(`${where}.path`, `${String(p.path ?? '(none)')} is not a file of the source`);
    const r = parseManifestText(file.text, file.path, limits);
    if (r.problems.length) return void problems.push(...r.problems);
    // A JSON 6902 patch is a list, which the parser reads as a List of items: read it raw.
    return r.manifests.length === 0 ? [] : r.manifests.map((m) => m.object);
  };
  const applyPatch = (patch: unknown, target: Selector | undefined, where: string) => {
    if (Array.isArray(patch) || (target && isJsonPatch(patch))) {
      const ops = Array.isArray(patch) ? patch : (patch as { items: unknown[] }).items;
      const matched = manifests.filter((m) => matches(m.object, target));
      if (!target || matched.length === 0) return void problem(where, target ? `its target matches no resource (${describeSelector(target)})` : 'a JSON 6902 patch needs a target');
      for (const m of matched) {
        try {
          m.object = jsonPatch(m.object, ops) as KubeObject;
        } catch (err) {
          problem(where, `cannot be applied to ${m.object.kind}/${m.object.metadata?.name}: ${(err as Error).message}`);
        }
      }
      return;
    }
    const p = patch as KubeObject;
    const selector: Selector = target ?? { kind: p.kind, name: p.metadata?.name, namespace: p.metadata?.namespace };
    const matched = manifests.filter((m) => matches(m.object, selector));
    if (matched.length === 0) return void problem(where, `matches no resource (${describeSelector(selector)})`);
    for (const m of matched) {
      if ((p as { $patch?: string }).$patch === 'delete') {
        manifests = manifests.filter((x) => x !== m);
        continue;
      }
      const body = target ? { ...p, metadata: { ...p.metadata, name: m.object.metadata.name, namespace: m.object.metadata.namespace } } : p;
      m.object = strategicMergePatch(m.object, body, kindInfo(m.object.kind)?.schema) as KubeObject;
    }
  };
  for (const [i, entry] of ((k.patchesStrategicMerge ?? []) as unknown[]).entries()) {
    const where = `patchesStrategicMerge[${i}]`;
    const isPath = typeof entry === 'string' && !entry.includes('\n') && /\.(ya?ml|json)$/.test(entry);
    const docs = patchText(isPath ? { path: entry as string } : { patch: typeof entry === 'string' ? entry : JSON.stringify(entry) }, where);
    for (const d of docs ?? []) applyPatch(d, undefined, where);
  }
  for (const [i, p] of ((k.patches ?? []) as any[]).entries()) {
    const where = `patches[${i}]`;
    const ops = rawList(p, dir, fileByPath);
    if (ops) {
      applyPatch(ops, p.target, where);
      continue;
    }
    for (const d of patchText(p, where) ?? []) applyPatch(d, p.target, where);
  }
  for (const [i, p] of ((k.patchesJson6902 ?? []) as any[]).entries()) {
    const where = `patchesJson6902[${i}]`;
    const ops = rawList(p, dir, fileByPath);
    if (!ops) {
      problem(where, 'needs a patch or a path to a list of operations');
      continue;
    }
    applyPatch(ops, p.target, where);
  }

  // Namespace, names, labels, annotations, replicas, images.
  const renames: [string, string, string][] = [];
  for (const m of manifests) {
    const o = m.object;
    if (!o || typeof o !== 'object' || !o.metadata) continue;
    if (typeof k.namespace === 'string' && isNamespaced(String(o.kind))) o.metadata.namespace = k.namespace;
    if ((k.namePrefix || k.nameSuffix) && o.kind !== 'Namespace' && o.kind !== 'CustomResourceDefinition') {
      const renamed = `${k.namePrefix ?? ''}${o.metadata.name}${k.nameSuffix ?? ''}`;
      renames.push([o.kind, o.metadata.name, renamed]);
      o.metadata.name = renamed;
    }
    if (k.commonLabels) applyLabels(o, k.commonLabels, true, true);
    for (const l of (k.labels ?? []) as { pairs?: Record<string, string>; includeSelectors?: boolean; includeTemplates?: boolean }[]) applyLabels(o, l.pairs ?? {}, !!l.includeSelectors, !!l.includeSelectors || !!l.includeTemplates);
    // As kustomize does: on every object and its Pod template. `gouvernail.io/infer: "false"` here
    // turns dependency inference off for the folder.
    if (k.commonAnnotations) {
      o.metadata.annotations = { ...o.metadata.annotations, ...k.commonAnnotations };
      const template = podTemplateOf(o);
      if (template) template.metadata = { ...template.metadata, annotations: { ...template.metadata?.annotations, ...k.commonAnnotations } };
    }
    for (const r of (k.replicas ?? []) as { name: string; count: number }[]) {
      if (['Deployment', 'ReplicaSet', 'StatefulSet', 'ReplicationController'].includes(o.kind) && (o.metadata.name === r.name || o.metadata.name === `${k.namePrefix ?? ''}${r.name}${k.nameSuffix ?? ''}`)) o.spec.replicas = r.count;
    }
    if (k.images) applyImages(o, k.images);
  }
  for (const [kind, from, to] of renames) for (const m of manifests) renameReferences(m.object, kind, from, to);
  for (const [i, r] of ((k.replicas ?? []) as { name: string }[]).entries()) {
    if (!manifests.some((m) => m.object.metadata?.name?.endsWith(r.name) || m.object.metadata?.name?.includes(r.name))) problem(`replicas[${i}]`, `names ${r.name}, which no Deployment, ReplicaSet or StatefulSet of the build has`);
  }

  // Last, at the top of the build: the hash suffixes of generated names.
  if (depth === 0) {
    for (const m of manifests) {
      if (!needsHash.has(m.object)) continue;
      const from = m.object.metadata.name;
      const to = `${from}-${kustomizeHash(m.object)}`;
      m.object.metadata.name = to;
      for (const other of manifests) renameReferences(other.object, m.object.kind, from, to);
    }
  }
  return { manifests, problems };
}

interface Selector {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  labelSelector?: string;
  annotationSelector?: string;
}

function describeSelector(s: Selector): string {
  return Object.entries(s).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`).join(', ');
}

/** Whether an object is what a patch target names; names are anchored regular expressions, as in kustomize. */
function matches(o: KubeObject, s: Selector | undefined): boolean {
  if (!s || !o?.metadata) return false;
  const [group, version] = String(o.apiVersion ?? '').includes('/') ? String(o.apiVersion).split('/') : ['', String(o.apiVersion ?? '')];
  const re = (pattern: string, value: string | undefined) => new RegExp(`^(?:${pattern})$`).test(value ?? '');
  if (s.kind !== undefined && !re(s.kind, o.kind)) return false;
  if (s.name !== undefined && !re(s.name, o.metadata.name)) return false;
  if (s.namespace !== undefined && !re(s.namespace, o.metadata.namespace ?? 'default')) return false;
  if (s.group !== undefined && !re(s.group, group)) return false;
  if (s.version !== undefined && !re(s.version, version)) return false;
  const pairs = (text: string | undefined, have: Record<string, string> | undefined) =>
    (text ?? '').split(',').filter(Boolean).every((term) => {
      const [key, value] = term.split('=').map((x) => x.trim());
      return key!.startsWith('!') ? have?.[key!.slice(1)] === undefined : value === undefined ? have?.[key!] !== undefined : have?.[key!] === value;
    });
  return pairs(s.labelSelector, o.metadata.labels) && pairs(s.annotationSelector, o.metadata.annotations);
}

function isJsonPatch(v: unknown): boolean {
  return !!v && typeof v === 'object' && (v as { kind?: string }).kind === 'List' && Array.isArray((v as { items?: unknown }).items);
}

/** A JSON 6902 patch (a list of operations), inline or in a file, read as it is written. */
function rawList(p: { path?: string; patch?: string }, dir: string, files: Map<string, SourceFile>): unknown[] | undefined {
  const text = p.patch ?? (p.path !== undefined ? files.get(path.posix.normalize(path.posix.join(dir, p.path)))?.text : undefined);
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (!trimmed.startsWith('-') && !trimmed.startsWith('[')) return undefined;
  try {
    // A top-level sequence, which the manifest parser would not take as a document.
    const doc = yamlPackage().parse(trimmed, { maxAliasCount: 100 });
    return Array.isArray(doc) ? doc : undefined;
  } catch {
    return undefined;
  }
}

function generatorData(g: any, dir: string, files: Map<string, SourceFile>, problem: (field: string, message: string) => void): Record<string, string> {
  const data: Record<string, string> = {};
  for (const literal of g.literals ?? []) {
    const eq = String(literal).indexOf('=');
    if (eq <= 0) {
      problem('literals', 'each literal is KEY=VALUE');
      continue;
    }
    let value = String(literal).slice(eq + 1);
    // kustomize takes a quoted value without its quotes.
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    data[String(literal).slice(0, eq)] = value;
  }
  for (const entry of g.files ?? []) {
    const [key, rel] = String(entry).includes('=') ? String(entry).split('=', 2) : [path.posix.basename(String(entry)), String(entry)];
    const file = files.get(path.posix.normalize(path.posix.join(dir, rel!)));
    if (!file) problem('files', `${rel} is not in the source (only .yaml, .yml and .json files are read)`);
    else data[key!] = file.text;
  }
  for (const env of [...(g.envs ?? []), ...(g.env ? [g.env] : [])]) {
    const file = files.get(path.posix.normalize(path.posix.join(dir, String(env))));
    if (!file) {
      problem('envs', `${env} is not in the source`);
      continue;
    }
    for (const line of file.text.split('\n')) {
      const m = /^\s*([^#=\s][^=]*)=(.*)$/.exec(line);
      if (m) data[m[1]!.trim()] = m[2]!;
    }
  }
  return data;
}

function podSpecs(o: KubeObject): PodSpec[] {
  const spec = podSpecOf(o);
  return spec ? [spec] : [];
}

/** Labels on an object; with selectors, on its selector too (commonLabels does both), with templates on its Pod template. */
function applyLabels(o: KubeObject, labels: Record<string, string>, selectors: boolean, templates: boolean): void {
  if (Object.keys(labels).length === 0) return;
  o.metadata.labels = { ...o.metadata.labels, ...labels };
  const template = podTemplateOf(o);
  if (template && templates) template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, ...labels } };
  if (!selectors) return;
  if (template) {
    // As kustomize: the selector of the kinds whose selector is theirs to write.
    if (o.kind === 'ReplicationController') o.spec.selector = { ...o.spec.selector, ...labels };
    else if (o.kind !== 'Job' && o.kind !== 'CronJob') o.spec.selector = { ...o.spec.selector, matchLabels: { ...o.spec.selector?.matchLabels, ...labels } };
  }
  if (o.kind === 'Service' && o.spec?.selector) o.spec.selector = { ...o.spec.selector, ...labels };
  if (o.kind === 'PodDisruptionBudget' && o.spec?.selector) o.spec.selector = { ...o.spec.selector, matchLabels: { ...o.spec.selector.matchLabels, ...labels } };
}

function applyImages(o: KubeObject, images: { name: string; newName?: string; newTag?: string; digest?: string }[]): void {
  for (const spec of podSpecs(o)) {
    for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
      const m = /^(.*?)(?::([^:/@]+))?(?:@(.+))?$/.exec(c.image)!;
      const rule = images.find((i) => i.name === m[1]);
      if (!rule) continue;
      const name = rule.newName ?? m[1];
      c.image = rule.digest ? `${name}@${rule.digest}` : `${name}${rule.newTag ? `:${rule.newTag}` : m[2] ? `:${m[2]}` : ''}`;
    }
  }
}
