import type { FieldPath, KubeObject } from './types.js';

/**
 * autoscaling/v1 HorizontalPodAutoscalers, converted to and from v2 (the version stored) as
 * Kubernetes converts them: v1's targetCPUUtilizationPercentage is v2's CPU Utilization metric;
 * the metrics v1 cannot say, the behavior, the current metrics and the conditions ride in the
 * annotations Kubernetes uses for them, so that a v1 client's read, edit and write keeps them.
 */

export class ConversionError extends Error {
  constructor(readonly path: FieldPath, message: string) {
    super(message);
  }
}

const metricsAnnotation = 'autoscaling.alpha.kubernetes.io/metrics';
const currentMetricsAnnotation = 'autoscaling.alpha.kubernetes.io/current-metrics';
const conditionsAnnotation = 'autoscaling.alpha.kubernetes.io/conditions';
const behaviorAnnotation = 'autoscaling.alpha.kubernetes.io/behavior';
const roundTrip = [metricsAnnotation, currentMetricsAnnotation, conditionsAnnotation, behaviorAnnotation];

/** The CPU utilization target v1 spells as targetCPUUtilizationPercentage, and v2 defaults to. */
const cpuUtilization = (percent: number) => ({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: percent } } });
const isCpuUtilization = (m: any) => m?.type === 'Resource' && m.resource?.name === 'cpu' && m.resource.target?.type === 'Utilization';

/** A v2 metric (spec or status) as v1's annotations write it: targets and values flattened. */
function metricToV1(m: any, status: boolean): any {
  const source = m.type === 'Resource' ? 'resource' : m.type === 'ContainerResource' ? 'containerResource' : undefined;
  if (!source || !m[source]) return m;
  const { target, current, ...rest } = m[source];
  const v = status ? current ?? {} : target ?? {};
  const prefix = status ? 'current' : 'target';
  return { type: m.type, [source]: { ...rest, ...(v.averageUtilization !== undefined ? { [`${prefix}AverageUtilization`]: v.averageUtilization } : {}), ...(v.averageValue !== undefined ? { [`${prefix}AverageValue`]: v.averageValue } : {}) } };
}

function metricFromV1(m: any, status: boolean, at: FieldPath): any {
  const source = m?.type === 'Resource' ? 'resource' : m?.type === 'ContainerResource' ? 'containerResource' : undefined;
  if (!source || !m[source] || typeof m[source] !== 'object') {
    throw new ConversionError(at, `holds a metric of type ${JSON.stringify(m?.type)}: Gouvernail scales on Resource and ContainerResource metrics (cpu, memory) only`);
  }
  const prefix = status ? 'current' : 'target';
  const { [`${prefix}AverageUtilization`]: utilization, [`${prefix}AverageValue`]: value, ...rest } = m[source];
  const v = { ...(utilization !== undefined ? { averageUtilization: utilization } : {}), ...(value !== undefined ? { averageValue: value } : {}) };
  return { type: m.type, [source]: { ...rest, [prefix]: status ? v : { type: utilization !== undefined ? 'Utilization' : 'AverageValue', ...v } } };
}

function annotation(o: KubeObject, name: string): any {
  const text = o.metadata?.annotations?.[name];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new ConversionError(['metadata', 'annotations', name], 'is not JSON: it holds what autoscaling/v1 cannot say (write the HorizontalPodAutoscaler as autoscaling/v2 instead)');
  }
}

function list(o: KubeObject, name: string): any[] {
  const v = annotation(o, name);
  if (v !== undefined && !Array.isArray(v)) throw new ConversionError(['metadata', 'annotations', name], 'must be a JSON list');
  return v ?? [];
}

/** autoscaling/v1 to v2; throws ConversionError naming the annotation that cannot be read. */
export function hpaFromV1(o: KubeObject): KubeObject {
  const spec = o.spec ?? {};
  const others = list(o, metricsAnnotation).map((m, i) => metricFromV1(m, false, ['metadata', 'annotations', metricsAnnotation, i]));
  const metrics = [...(spec.targetCPUUtilizationPercentage !== undefined ? [cpuUtilization(spec.targetCPUUtilizationPercentage)] : []), ...others];
  const behavior = annotation(o, behaviorAnnotation);
  const status = o.status;
  const current = o.metadata?.annotations?.[currentMetricsAnnotation] !== undefined
    ? list(o, currentMetricsAnnotation).map((m, i) => metricFromV1(m, true, ['metadata', 'annotations', currentMetricsAnnotation, i]))
    : status?.currentCPUUtilizationPercentage !== undefined ? [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: status.currentCPUUtilizationPercentage } } }] : [];
  const conditions = list(o, conditionsAnnotation);
  const { targetCPUUtilizationPercentage: _t, ...kept } = spec;
  const out: KubeObject = {
    ...o,
    apiVersion: 'autoscaling/v2',
    metadata: withoutRoundTrip(o.metadata),
    // With no target at all, v1 meant 80% CPU; v2 says so.
    spec: { ...kept, metrics: metrics.length > 0 ? metrics : [cpuUtilization(80)], ...(behavior !== undefined ? { behavior } : {}) },
  };
  if (status) {
    const { currentCPUUtilizationPercentage: _c, ...rest } = status;
    out.status = { ...rest, ...(current.length ? { currentMetrics: current } : {}), ...(conditions.length ? { conditions } : {}) };
  }
  return out;
}

/** autoscaling/v2 to v1. */
export function hpaToV1(o: KubeObject): KubeObject {
  const { metrics = [], behavior, ...spec } = o.spec ?? {};
  const cpu = (metrics as any[]).find(isCpuUtilization);
  const others = (metrics as any[]).filter((m) => m !== cpu).map((m) => metricToV1(m, false));
  const { currentMetrics = [], conditions = [], ...status } = o.status ?? {};
  const currentCpu = (currentMetrics as any[]).find((m) => m?.type === 'Resource' && m.resource?.name === 'cpu' && m.resource.current?.averageUtilization !== undefined);
  const annotations: Record<string, string> = {
    ...(withoutRoundTrip(o.metadata).annotations ?? {}),
    ...(others.length ? { [metricsAnnotation]: JSON.stringify(others) } : {}),
    ...(behavior !== undefined ? { [behaviorAnnotation]: JSON.stringify(behavior) } : {}),
    ...(currentMetrics.length ? { [currentMetricsAnnotation]: JSON.stringify((currentMetrics as any[]).map((m) => metricToV1(m, true))) } : {}),
    ...(conditions.length ? { [conditionsAnnotation]: JSON.stringify(conditions) } : {}),
  };
  const out: KubeObject = {
    ...o,
    apiVersion: 'autoscaling/v1',
    metadata: { ...o.metadata, ...(Object.keys(annotations).length ? { annotations } : {}) },
    spec: { ...spec, ...(cpu ? { targetCPUUtilizationPercentage: cpu.resource.target.averageUtilization } : {}) },
  };
  if (!Object.keys(annotations).length) delete out.metadata.annotations;
  if (o.status) out.status = { ...status, ...(currentCpu ? { currentCPUUtilizationPercentage: currentCpu.resource.current.averageUtilization } : {}) };
  return out;
}

function withoutRoundTrip(metadata: KubeObject['metadata']): KubeObject['metadata'] {
  const annotations = metadata?.annotations;
  if (!annotations || !roundTrip.some((a) => a in annotations)) return metadata;
  const kept = Object.fromEntries(Object.entries(annotations).filter(([k]) => !roundTrip.includes(k)));
  const { annotations: _a, ...rest } = metadata;
  return Object.keys(kept).length ? { ...rest, annotations: kept } : rest;
}
