import { createHash } from 'node:crypto';
import path from 'node:path';
import { cloneJson } from './clone.js';
import { isNamespaced } from './kinds.js';
import { podSpecOf, podTemplateOf } from './pod-template.js';
import { defaultLimits, parseManifestText, type ParseLimits } from './parse.js';
import type { Problem } from './problems.js';
import type { SourceFile } from './read-folder.js';
import type { KubeObject, Manifest, PodSpec } from './types.js';

const kustomizationNames = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const supported = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'commonLabels', 'commonAnnotations', 'images', 'configMapGenerator', 'secretGenerator', 'generatorOptions']);

export function findKustomization(files: SourceFile[], dir = ''): SourceFile | undefined {
  return files.find((f) => kustomizationNames.some((n) => f.path === (dir ? `${dir}/${n}` : n)));
}

interface Result {
  manifests: Manifest[];
  problems: Problem[];
}

/**
 * The subset of kustomize most repositories use: resources (files and folders with their own
 * kustomization), namespace, commonLabels, images, configMapGenerator and secretGenerator (with
 * kustomize's name-hash suffix, and references to the generated names rewritten). Any other field
 * is an error that names it: never silently ignored.
 */
export function kustomize(files: SourceFile[], limits: ParseLimits = defaultLimits, dir = '', depth = 0): Result {
  const problems: Problem[] = [];
  const kfile = findKustomization(files, dir)!;
  const fail = (message: string, field?: string): Result => ({ manifests: [], problems: [...problems, { severity: 'error', code: 'ManifestInvalid', file: kfile.path, field, message }] });
  if (depth > 20) return fail('kustomizations nest more than 20 deep; is there a loop?');
  const parsed = parseManifestText(kfile.text, kfile.path, limits);
  if (parsed.problems.length) return { manifests: [], problems: parsed.problems };
  const k = (parsed.manifests[0]?.object ?? {}) as Record<string, any>;
  const at = (field: string) => ({ ...parsed.manifests[0]!.locate([field]) });
  for (const field of Object.keys(k)) {
    if (!supported.has(field)) problems.push({ severity: 'error', code: 'ManifestInvalid', file: kfile.path, ...at(field), field, message: `kustomization field ${field} is not supported by Gouvernail (it reads resources, namespace, commonLabels, commonAnnotations, images, configMapGenerator, secretGenerator); nothing was applied` });
  }
  const manifests: Manifest[] = [];
  const fileByPath = new Map(files.map((f) => [f.path, f]));
  for (const [i, ref] of ((k.resources ?? []) as unknown[]).entries()) {
    if (typeof ref !== 'string') {
      problems.push({ severity: 'error', code: 'ManifestInvalid', file: kfile.path, field: `resources[${i}]`, message: 'must be a path' });
      continue;
    }
    const target = path.posix.normalize(path.posix.join(dir, ref));
    if (target.startsWith('..') || path.posix.isAbsolute(ref) || /^[a-z]+:\/\//.test(ref)) {
      problems.push({ severity: 'error', code: 'ManifestOutsideRoot', file: kfile.path, field: `resources[${i}]`, message: `${ref} is outside the source; remote and parent resources are not supported` });
      continue;
    }
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
      problems.push({ severity: 'error', code: 'ManifestInvalid', file: kfile.path, field: `resources[${i}]`, message: `${ref} is neither a manifest file nor a folder with a kustomization` });
    }
  }
  const suffix = k.generatorOptions?.disableNameSuffixHash !== true;
  const renamed = { ConfigMap: new Map<string, string>(), Secret: new Map<string, string>() };
  for (const [field, kind] of [['configMapGenerator', 'ConfigMap'], ['secretGenerator', 'Secret']] as const) {
    for (const [i, g] of ((k[field] ?? []) as any[]).entries()) {
      const data: Record<string, string> = {};
      for (const literal of g.literals ?? []) {
        const eq = String(literal).indexOf('=');
        if (eq <= 0) {
          problems.push({ severity: 'error', code: 'ManifestInvalid', file: kfile.path, field: `${field}[${i}].literals`, message: 'each literal is KEY=VALUE' });
          continue;
        }
        data[String(literal).slice(0, eq)] = String(literal).slice(eq + 1);
      }
      for (const entry of g.files ?? []) {
        const [key, rel] = String(entry).includes('=') ? String(entry).split('=', 2) : [path.posix.basename(String(entry)), String(entry)];
        const file = fileByPath.get(path.posix.normalize(path.posix.join(dir, rel!)));
        if (!file) problems.push({ severity: 'error', code: 'ManifestInvalid', file: kfile.path, field: `${field}[${i}].files`, message: `${rel} is not in the source (only .yaml, .yml and .json files are read)` });
        else data[key!] = file.text;
      }
      for (const env of g.envs ?? []) {
        const file = fileByPath.get(path.posix.normalize(path.posix.join(dir, String(env))));
        if (!file) {
          problems.push({ severity: 'error', code: 'ManifestInvalid', file: kfile.path, field: `${field}[${i}].envs`, message: `${env} is not in the source` });
          continue;
        }
        for (const line of file.text.split('\n')) {
          const m = /^\s*([^#=\s][^=]*)=(.*)$/.exec(line);
          if (m) data[m[1]!.trim()] = m[2]!;
        }
      }
      const base = String(g.name);
      const object: KubeObject = kind === 'ConfigMap'
        ? { apiVersion: 'v1', kind, metadata: { name: base }, data }
        : { apiVersion: 'v1', kind, metadata: { name: base }, type: g.type ?? 'Opaque', data: Object.fromEntries(Object.entries(data).map(([key, v]) => [key, Buffer.from(v).toString('base64')])) };
      if (suffix) {
        const hash = createHash('sha256').update(JSON.stringify({ kind, data: object.data, type: object.type })).digest('hex').slice(0, 10);
        object.metadata.name = `${base}-${hash}`;
        renamed[kind].set(base, object.metadata.name);
      }
      const locate = () => at(field);
      manifests.push({ object, source: { file: kfile.path, document: 0, ...at(field) }, locate });
    }
  }
  for (const m of manifests) {
    const o = m.object;
    if (!o || typeof o !== 'object' || !o.metadata) continue;
    if (typeof k.namespace === 'string' && isNamespaced(String(o.kind))) o.metadata.namespace = k.namespace;
    if (k.commonLabels) applyCommonLabels(o, k.commonLabels);
    // As kustomize does: on every object and its Pod template. `gouvernail.io/infer: "false"` here
    // turns dependency inference off for the folder.
    if (k.commonAnnotations) {
      o.metadata.annotations = { ...o.metadata.annotations, ...k.commonAnnotations };
      const template = podTemplateOf(o);
      if (template) template.metadata = { ...template.metadata, annotations: { ...template.metadata?.annotations, ...k.commonAnnotations } };
    }
    if (k.images) applyImages(o, k.images);
    rewriteGeneratedNames(o, renamed);
  }
  return { manifests, problems };
}

function podSpecs(o: KubeObject): PodSpec[] {
  const spec = podSpecOf(o);
  return spec ? [spec] : [];
}

function applyCommonLabels(o: KubeObject, labels: Record<string, string>): void {
  o.metadata.labels = { ...o.metadata.labels, ...labels };
  const template = podTemplateOf(o);
  if (template) {
    // As kustomize: the template's labels, and the selector of the kinds whose selector is theirs to write.
    template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, ...labels } };
    if (o.kind === 'ReplicationController') o.spec.selector = { ...o.spec.selector, ...labels };
    else if (o.kind !== 'Job' && o.kind !== 'CronJob') o.spec.selector = { ...o.spec.selector, matchLabels: { ...o.spec.selector?.matchLabels, ...labels } };
  }
  if (o.kind === 'Service' && o.spec?.selector) o.spec.selector = { ...o.spec.selector, ...labels };
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

function rewriteGeneratedNames(o: KubeObject, renamed: { ConfigMap: Map<string, string>; Secret: Map<string, string> }): void {
  const cm = (n: string) => renamed.ConfigMap.get(n) ?? n;
  const secret = (n: string) => renamed.Secret.get(n) ?? n;
  for (const spec of podSpecs(o)) {
    for (const v of spec.volumes ?? []) {
      if (v.configMap) v.configMap.name = cm(v.configMap.name);
      if (v.secret) v.secret.secretName = secret(v.secret.secretName);
    }
    for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
      for (const e of c.env ?? []) {
        if (e.valueFrom?.configMapKeyRef) e.valueFrom.configMapKeyRef.name = cm(e.valueFrom.configMapKeyRef.name);
        if (e.valueFrom?.secretKeyRef) e.valueFrom.secretKeyRef.name = secret(e.valueFrom.secretKeyRef.name);
      }
      for (const e of c.envFrom ?? []) {
        if (e.configMapRef) e.configMapRef.name = cm(e.configMapRef.name);
        if (e.secretRef) e.secretRef.name = secret(e.secretRef.name);
      }
    }
  }
}

