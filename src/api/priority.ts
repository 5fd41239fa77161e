import type { KubeObject } from '../manifest/types.js';
import { ApiError } from './errors.js';
import type { AdmissionPlugin } from './admission.js';

/** The highest value a PriorityClass may have unless it is one of the system's. */
export const highestUserPriority = 1_000_000_000;

/** The classes every cluster has, as Kubernetes' API server makes them at start. */
export const systemPriorityClasses: KubeObject[] = [
  { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'system-node-critical' }, value: 2_000_001_000, description: 'Used for system critical pods that must not be moved from their current node.', preemptionPolicy: 'PreemptLowerPriority' },
  { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'system-cluster-critical' }, value: 2_000_000_000, description: 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.', preemptionPolicy: 'PreemptLowerPriority' },
];

/** A Pod's priority as admission wrote it (0 for a Pod made before, or without a class). */
export function priorityOf(pod: KubeObject): number {
  return typeof pod.spec?.priority === 'number' ? pod.spec.priority : 0;
}

/**
 * Kubernetes' Priority admission: a new Pod gets the value of its priorityClassName (or of the
 * globalDefault class when it names none, else 0) as spec.priority, and the class's
 * preemptionPolicy; a class that does not exist, or a priority written by hand that differs, is
 * refused. PriorityClasses themselves: values above 1,000,000,000 and the `system-` prefix are the
 * system's, one class at most is the globalDefault, and a class's value never changes.
 */
export const priorityAdmission: AdmissionPlugin = {
  name: 'Priority',
  mutate(r) {
    if (r.resource.kind !== 'Pod' || r.operation !== 'CREATE' || r.subresource || !r.object.spec) return;
    const spec = r.object.spec;
    const name = r.object.metadata.name;
    let cls: KubeObject | undefined;
    if (spec.priorityClassName) {
      cls = r.store.get('PriorityClass', undefined, spec.priorityClassName);
      if (!cls) throw new ApiError(403, 'Forbidden', `pods "${name}" is forbidden: no PriorityClass with name ${spec.priorityClassName} was found`, { name, kind: 'pods' });
    } else {
      cls = r.store.list({ kind: 'PriorityClass' }).find((c) => c.globalDefault === true);
    }
    const value = typeof cls?.value === 'number' ? cls.value : 0;
    if (spec.priority !== undefined && spec.priority !== value) {
      throw new ApiError(403, 'Forbidden', `pods "${name}" is forbidden: the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${value} from the given PriorityClass name`, { name, kind: 'pods' });
    }
    spec.priority = value;
    if (cls) spec.priorityClassName = cls.metadata.name;
    spec.preemptionPolicy ??= cls?.preemptionPolicy ?? 'PreemptLowerPriority';
  },
  validate(r) {
    if (r.resource.kind !== 'PriorityClass' || r.subresource || r.operation === 'DELETE') return;
    const o = r.object;
    const name = o.metadata.name;
    const system = systemPriorityClasses.find((c) => c.metadata.name === name);
    const invalid = (field: string, message: string) => new ApiError(422, 'Invalid', `PriorityClass.scheduling.k8s.io "${name}" is invalid: ${field}: ${message}`, { name, kind: 'priorityclasses', causes: [{ reason: 'FieldValueInvalid', field, message }] });
    if (system ? o.value !== system.value : name.startsWith('system-')) throw invalid('metadata.name', `priority class names with 'system-' prefix are reserved for the system's classes (${systemPriorityClasses.map((c) => c.metadata.name).join(', ')}), with their values`);
    if (!system && Number(o.value) > highestUserPriority) throw invalid('value', `must be no greater than ${highestUserPriority} (higher values are the system's)`);
    if (r.operation === 'UPDATE' && r.oldObject && r.oldObject.value !== o.value) throw invalid('value', 'field is immutable; delete the PriorityClass and create it again');
    if (o.globalDefault === true) {
      const other = r.store.list({ kind: 'PriorityClass' }).find((c) => c.globalDefault === true && c.metadata.name !== name);
      if (other) throw invalid('globalDefault', `PriorityClass ${other.metadata.name} is already marked as default; only one default can exist`);
    }
  },
};
