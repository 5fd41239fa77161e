import { ApiError } from './errors.js';

/**
 * Request bodies in Kubernetes' protobuf (`application/vnd.kubernetes.protobuf`), which kubectl's
 * typed clients send: `auth can-i`, `auth whoami`, `create namespace|configmap|secret|job|cronjob|
 * serviceaccount|token|role|clusterrole|rolebinding|clusterrolebinding|quota|pdb|ingress`, `create job
 * --from=cronjob/NAME`, `autoscale`. The body is the magic `k8s\0` and a runtime.Unknown
 * {typeMeta{apiVersion, kind}, raw}; raw is read with the field numbers of the kinds below (from
 * Kubernetes' generated.proto) into the JSON shape. `kubectl debug --copy-to` and `kubectl debug
 * node/NAME` send a whole Pod: its spec is read with the fields Gouvernail serves.
 */

// `inline`: a message whose fields JSON writes into its parent's (an Ingress rule's IngressRuleValue).
// `bool` and `positiveInt` are Go fields that protobuf always writes (false and 0 say nothing);
// `optBool` and `int` are pointers, written only when set, so false and 0 are kept.
type Field = [name: string, type: 'string' | 'bool' | 'optBool' | 'int' | 'ints' | 'strings' | 'stringMap' | 'bytesMap' | 'intOrString' | 'quantity' | 'quantityMap' | 'positiveInt' | 'ignored' | Message | { repeated: Message } | { inline: Message }];
interface Message {
  [field: number]: Field;
}

// kubectl create job --from=cronjob/NAME names the CronJob as the Job's owner.
const ownerReference: Message = { 1: ['kind', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'], 5: ['apiVersion', 'string'], 6: ['controller', 'bool'], 7: ['blockOwnerDeletion', 'bool'] };
const objectMeta: Message = { 1: ['name', 'string'], 2: ['generateName', 'string'], 3: ['namespace', 'string'], 4: ['selfLink', 'ignored'], 5: ['uid', 'ignored'], 6: ['resourceVersion', 'ignored'], 7: ['generation', 'ignored'], 8: ['creationTimestamp', 'ignored'], 11: ['labels', 'stringMap'], 12: ['annotations', 'stringMap'], 13: ['ownerReferences', { repeated: ownerReference }], 14: ['finalizers', 'strings'] };
const resourceAttributes: Message = { 1: ['namespace', 'string'], 2: ['verb', 'string'], 3: ['group', 'string'], 4: ['version', 'string'], 5: ['resource', 'string'], 6: ['subresource', 'string'], 7: ['name', 'string'] };

// The fields kubectl create deployment|service writes (apps/v1 and core/v1 generated.proto).
const labelSelector: Message = { 1: ['matchLabels', 'stringMap'], 2: ['matchExpressions', { repeated: { 1: ['key', 'string'], 2: ['operator', 'string'], 3: ['values', 'strings'] } }] };
const containerPort: Message = { 1: ['name', 'string'], 2: ['hostPort', 'positiveInt'], 3: ['containerPort', 'int'], 4: ['protocol', 'string'], 5: ['hostIP', 'string'] };
const envVar: Message = { 1: ['name', 'string'], 2: ['value', 'string'] };
const container: Message = { 1: ['name', 'string'], 2: ['image', 'string'], 3: ['command', 'strings'], 4: ['args', 'strings'], 5: ['workingDir', 'string'], 6: ['ports', { repeated: containerPort }], 7: ['env', { repeated: envVar }], 8: ['resources', { 1: ['limits', 'quantityMap'], 2: ['requests', 'quantityMap'] }], 13: ['terminationMessagePath', 'string'], 14: ['imagePullPolicy', 'string'], 16: ['stdin', 'bool'], 17: ['stdinOnce', 'bool'], 18: ['tty', 'bool'], 20: ['terminationMessagePolicy', 'string'] };
const podSpec: Message = { 2: ['containers', { repeated: container }], 3: ['restartPolicy', 'string'], 4: ['terminationGracePeriodSeconds', 'int'], 6: ['dnsPolicy', 'string'], 7: ['nodeSelector', 'stringMap'], 8: ['serviceAccountName', 'string'], 19: ['schedulerName', 'string'] };
const podTemplate: Message = { 1: ['metadata', objectMeta], 2: ['spec', podSpec] };
const servicePort: Message = { 1: ['name', 'string'], 2: ['protocol', 'string'], 3: ['port', 'int'], 4: ['targetPort', 'intOrString'], 5: ['nodePort', 'positiveInt'] };

// kubectl create job|cronjob (batch/v1 generated.proto).
const jobSpec: Message = { 1: ['parallelism', 'int'], 2: ['completions', 'int'], 3: ['activeDeadlineSeconds', 'int'], 4: ['selector', labelSelector], 5: ['manualSelector', 'bool'], 6: ['template', podTemplate], 7: ['backoffLimit', 'int'], 8: ['ttlSecondsAfterFinished', 'int'], 9: ['completionMode', 'string'], 10: ['suspend', 'bool'] };
const cronJobSpec: Message = { 1: ['schedule', 'string'], 2: ['startingDeadlineSeconds', 'int'], 3: ['concurrencyPolicy', 'string'], 4: ['suspend', 'bool'], 5: ['jobTemplate', { 1: ['metadata', objectMeta], 2: ['spec', jobSpec] }], 6: ['successfulJobsHistoryLimit', 'int'], 7: ['failedJobsHistoryLimit', 'int'], 8: ['timeZone', 'string'] };

// kubectl autoscale (autoscaling/v2 from kubectl 1.32, v1 before; autoscaling generated.proto).
const scaleTargetRef: Message = { 1: ['kind', 'string'], 2: ['name', 'string'], 3: ['apiVersion', 'string'] };
const metricTarget: Message = { 1: ['type', 'string'], 2: ['value', 'quantity'], 3: ['averageValue', 'quantity'], 4: ['averageUtilization', 'int'] };
const metricSpec: Message = { 1: ['type', 'string'], 4: ['resource', { 1: ['name', 'string'], 2: ['target', metricTarget] }], 7: ['containerResource', { 1: ['name', 'string'], 2: ['target', metricTarget], 3: ['container', 'string'] }] };

// kubectl create serviceaccount|token|role|clusterrole|rolebinding|clusterrolebinding|quota|pdb
// (core/v1, authentication/v1, rbac/v1 and policy/v1 generated.proto).
const policyRule: Message = { 1: ['verbs', 'strings'], 2: ['apiGroups', 'strings'], 3: ['resources', 'strings'], 4: ['resourceNames', 'strings'], 5: ['nonResourceURLs', 'strings'] };
const subject: Message = { 1: ['kind', 'string'], 2: ['apiGroup', 'string'], 3: ['name', 'string'], 4: ['namespace', 'string'] };
const roleBinding: Message = { 1: ['metadata', objectMeta], 2: ['subjects', { repeated: subject }], 3: ['roleRef', { 1: ['apiGroup', 'string'], 2: ['kind', 'string'], 3: ['name', 'string'] }] };
const tokenRequestSpec: Message = { 1: ['audiences', 'strings'], 3: ['boundObjectRef', { 1: ['kind', 'string'], 2: ['apiVersion', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'] }], 4: ['expirationSeconds', 'int'] };

// kubectl create ingress (networking/v1 generated.proto).
const ingressBackend: Message = { 3: ['resource', { 1: ['apiGroup', 'string'], 2: ['kind', 'string'], 3: ['name', 'string'] }], 4: ['service', { 1: ['name', 'string'], 2: ['port', { 1: ['name', 'string'], 2: ['number', 'positiveInt'] }] }] };
const httpIngressPath: Message = { 1: ['path', 'string'], 2: ['backend', ingressBackend], 3: ['pathType', 'string'] };
const ingressRule: Message = { 1: ['host', 'string'], 2: ['ingressRuleValue', { inline: { 1: ['http', { 1: ['paths', { repeated: httpIngressPath }] }] } }] };
const ingressSpec: Message = { 1: ['defaultBackend', ingressBackend], 2: ['tls', { repeated: { 1: ['hosts', 'strings'], 2: ['secretName', 'string'] } }], 3: ['rules', { repeated: ingressRule }], 4: ['ingressClassName', 'string'] };

// A whole Pod, as kubectl debug --copy-to and kubectl debug node/NAME send it (core/v1 generated.proto).
const localObjectReference: Message = { 1: ['name', 'string'] };
const keyToPath: Message = { 1: ['key', 'string'], 2: ['path', 'string'], 3: ['mode', 'int'] };
const objectFieldSelector: Message = { 1: ['apiVersion', 'string'], 2: ['fieldPath', 'string'] };
const resourceFieldSelector: Message = { 1: ['containerName', 'string'], 2: ['resource', 'string'], 3: ['divisor', 'quantity'] };
const keySelector: Message = { 1: ['', { inline: localObjectReference }], 2: ['key', 'string'], 3: ['optional', 'optBool'] };
const fullEnvVar: Message = { 1: ['name', 'string'], 2: ['value', 'string'], 3: ['valueFrom', { 1: ['fieldRef', objectFieldSelector], 2: ['resourceFieldRef', resourceFieldSelector], 3: ['configMapKeyRef', keySelector], 4: ['secretKeyRef', keySelector] }] };
const envSource: Message = { 1: ['', { inline: localObjectReference }], 2: ['optional', 'optBool'] };
const envFromSource: Message = { 1: ['prefix', 'string'], 2: ['configMapRef', envSource], 3: ['secretRef', envSource] };
const volumeMount: Message = { 1: ['name', 'string'], 2: ['readOnly', 'bool'], 3: ['mountPath', 'string'], 4: ['subPath', 'string'], 5: ['mountPropagation', 'string'], 6: ['subPathExpr', 'string'] };
const handler: Message = {
  1: ['exec', { 1: ['command', 'strings'] }],
  2: ['httpGet', { 1: ['path', 'string'], 2: ['port', 'intOrString'], 3: ['host', 'string'], 4: ['scheme', 'string'], 5: ['httpHeaders', { repeated: { 1: ['name', 'string'], 2: ['value', 'string'] } }] }],
  3: ['tcpSocket', { 1: ['port', 'intOrString'], 2: ['host', 'string'] }],
};
// Go ints that protobuf always writes: 0 is "not set", and the defaults apply.
const probe: Message = { 1: ['', { inline: handler }], 2: ['initialDelaySeconds', 'positiveInt'], 3: ['timeoutSeconds', 'positiveInt'], 4: ['periodSeconds', 'positiveInt'], 5: ['successThreshold', 'positiveInt'], 6: ['failureThreshold', 'positiveInt'], 7: ['terminationGracePeriodSeconds', 'int'] };
const seLinuxOptions: Message = { 1: ['user', 'string'], 2: ['role', 'string'], 3: ['type', 'string'], 4: ['level', 'string'] };
const seccompProfile: Message = { 1: ['type', 'string'], 2: ['localhostProfile', 'string'] };
const securityContext: Message = { 1: ['capabilities', { 1: ['add', 'strings'], 2: ['drop', 'strings'] }], 2: ['privileged', 'optBool'], 3: ['seLinuxOptions', seLinuxOptions], 4: ['runAsUser', 'int'], 5: ['runAsNonRoot', 'optBool'], 6: ['readOnlyRootFilesystem', 'optBool'], 7: ['allowPrivilegeEscalation', 'optBool'], 8: ['runAsGroup', 'int'], 9: ['procMount', 'string'], 11: ['seccompProfile', seccompProfile] };
const fullContainer: Message = {
  1: ['name', 'string'], 2: ['image', 'string'], 3: ['command', 'strings'], 4: ['args', 'strings'], 5: ['workingDir', 'string'], 6: ['ports', { repeated: containerPort }],
  7: ['env', { repeated: fullEnvVar }], 8: ['resources', { 1: ['limits', 'quantityMap'], 2: ['requests', 'quantityMap'] }], 9: ['volumeMounts', { repeated: volumeMount }],
  10: ['livenessProbe', probe], 11: ['readinessProbe', probe], 12: ['lifecycle', { 1: ['postStart', handler], 2: ['preStop', handler] }],
  13: ['terminationMessagePath', 'string'], 14: ['imagePullPolicy', 'string'], 15: ['securityContext', securityContext], 16: ['stdin', 'bool'], 17: ['stdinOnce', 'bool'], 18: ['tty', 'bool'],
  19: ['envFrom', { repeated: envFromSource }], 20: ['terminationMessagePolicy', 'string'], 22: ['startupProbe', probe], 24: ['restartPolicy', 'string'],
};
const nodeSelectorTerm: Message = { 1: ['matchExpressions', { repeated: { 1: ['key', 'string'], 2: ['operator', 'string'], 3: ['values', 'strings'] } }], 2: ['matchFields', { repeated: { 1: ['key', 'string'], 2: ['operator', 'string'], 3: ['values', 'strings'] } }] };
const podAffinityTerm: Message = { 1: ['labelSelector', labelSelector], 2: ['namespaces', 'strings'], 3: ['topologyKey', 'string'], 4: ['namespaceSelector', labelSelector] };
const podAffinity: Message = { 1: ['requiredDuringSchedulingIgnoredDuringExecution', { repeated: podAffinityTerm }], 2: ['preferredDuringSchedulingIgnoredDuringExecution', { repeated: { 1: ['weight', 'int'], 2: ['podAffinityTerm', podAffinityTerm] } }] };
const affinity: Message = {
  1: ['nodeAffinity', { 1: ['requiredDuringSchedulingIgnoredDuringExecution', { 1: ['nodeSelectorTerms', { repeated: nodeSelectorTerm }] }], 2: ['preferredDuringSchedulingIgnoredDuringExecution', { repeated: { 1: ['weight', 'int'], 2: ['preference', nodeSelectorTerm] } }] }],
  2: ['podAffinity', podAffinity],
  3: ['podAntiAffinity', podAffinity],
};
const downwardApiFile: Message = { 1: ['path', 'string'], 2: ['fieldRef', objectFieldSelector], 3: ['resourceFieldRef', resourceFieldSelector], 4: ['mode', 'int'] };
const volumeSource: Message = {
  1: ['hostPath', { 1: ['path', 'string'], 2: ['type', 'string'] }],
  2: ['emptyDir', { 1: ['medium', 'string'], 2: ['sizeLimit', 'quantity'] }],
  6: ['secret', { 1: ['secretName', 'string'], 2: ['items', { repeated: keyToPath }], 3: ['defaultMode', 'int'], 4: ['optional', 'optBool'] }],
  10: ['persistentVolumeClaim', { 1: ['claimName', 'string'], 2: ['readOnly', 'bool'] }],
  16: ['downwardAPI', { 1: ['items', { repeated: downwardApiFile }], 2: ['defaultMode', 'int'] }],
  19: ['configMap', { 1: ['', { inline: localObjectReference }], 2: ['items', { repeated: keyToPath }], 3: ['defaultMode', 'int'], 4: ['optional', 'optBool'] }],
  26: ['projected', {
    1: ['sources', { repeated: {
      1: ['secret', { 1: ['', { inline: localObjectReference }], 2: ['items', { repeated: keyToPath }], 4: ['optional', 'optBool'] }],
      2: ['downwardAPI', { 1: ['items', { repeated: downwardApiFile }] }],
      3: ['configMap', { 1: ['', { inline: localObjectReference }], 2: ['items', { repeated: keyToPath }], 4: ['optional', 'optBool'] }],
      4: ['serviceAccountToken', { 1: ['audience', 'string'], 2: ['expirationSeconds', 'int'], 3: ['path', 'string'] }],
    } }],
    2: ['defaultMode', 'int'],
  }],
};
const podSecurityContext: Message = { 1: ['seLinuxOptions', seLinuxOptions], 2: ['runAsUser', 'int'], 3: ['runAsNonRoot', 'optBool'], 4: ['supplementalGroups', 'ints'], 5: ['fsGroup', 'int'], 6: ['runAsGroup', 'int'], 7: ['sysctls', { repeated: { 1: ['name', 'string'], 2: ['value', 'string'] } }], 9: ['fsGroupChangePolicy', 'string'], 10: ['seccompProfile', seccompProfile] };
const fullPodSpec: Message = {
  1: ['volumes', { repeated: { 1: ['name', 'string'], 2: ['', { inline: volumeSource }] } }],
  2: ['containers', { repeated: fullContainer }], 3: ['restartPolicy', 'string'], 4: ['terminationGracePeriodSeconds', 'int'], 5: ['activeDeadlineSeconds', 'int'], 6: ['dnsPolicy', 'string'],
  7: ['nodeSelector', 'stringMap'], 8: ['serviceAccountName', 'string'], 9: ['serviceAccount', 'string'], 10: ['nodeName', 'string'], 11: ['hostNetwork', 'bool'], 12: ['hostPID', 'bool'], 13: ['hostIPC', 'bool'],
  14: ['securityContext', podSecurityContext], 15: ['imagePullSecrets', { repeated: localObjectReference }], 16: ['hostname', 'string'], 17: ['subdomain', 'string'], 18: ['affinity', affinity], 19: ['schedulerName', 'string'],
  20: ['initContainers', { repeated: fullContainer }], 21: ['automountServiceAccountToken', 'optBool'],
  22: ['tolerations', { repeated: { 1: ['key', 'string'], 2: ['operator', 'string'], 3: ['value', 'string'], 4: ['effect', 'string'], 5: ['tolerationSeconds', 'int'] } }],
  23: ['hostAliases', { repeated: { 1: ['ip', 'string'], 2: ['hostnames', 'strings'] } }], 24: ['priorityClassName', 'string'], 25: ['priority', 'int'],
  26: ['dnsConfig', { 1: ['nameservers', 'strings'], 2: ['searches', 'strings'], 3: ['options', { repeated: { 1: ['name', 'string'], 2: ['value', 'string'] } }] }],
  27: ['shareProcessNamespace', 'optBool'], 28: ['readinessGates', { repeated: { 1: ['conditionType', 'string'] } }], 29: ['runtimeClassName', 'string'], 30: ['enableServiceLinks', 'optBool'], 31: ['preemptionPolicy', 'string'],
  33: ['topologySpreadConstraints', { repeated: { 1: ['maxSkew', 'int'], 2: ['topologyKey', 'string'], 3: ['whenUnsatisfiable', 'string'], 4: ['labelSelector', labelSelector] } }],
  35: ['setHostnameAsFQDN', 'optBool'],
};

/** By kind, or by `apiVersion/kind` where versions of a kind number their fields differently (HPAs). */
const kinds: Record<string, Message> = {
  'autoscaling/v2/HorizontalPodAutoscaler': { 1: ['metadata', objectMeta], 2: ['spec', { 1: ['scaleTargetRef', scaleTargetRef], 2: ['minReplicas', 'int'], 3: ['maxReplicas', 'int'], 4: ['metrics', { repeated: metricSpec }] }], 3: ['status', 'ignored'] },
  'autoscaling/v1/HorizontalPodAutoscaler': { 1: ['metadata', objectMeta], 2: ['spec', { 1: ['scaleTargetRef', scaleTargetRef], 2: ['minReplicas', 'int'], 3: ['maxReplicas', 'int'], 4: ['targetCPUUtilizationPercentage', 'int'] }], 3: ['status', 'ignored'] },
  Job: { 1: ['metadata', objectMeta], 2: ['spec', jobSpec], 3: ['status', 'ignored'] },
  Pod: { 1: ['metadata', objectMeta], 2: ['spec', fullPodSpec], 3: ['status', 'ignored'] },
  CronJob: { 1: ['metadata', objectMeta], 2: ['spec', cronJobSpec], 3: ['status', 'ignored'] },
  Deployment: { 1: ['metadata', objectMeta], 2: ['spec', { 1: ['replicas', 'int'], 2: ['selector', labelSelector], 3: ['template', podTemplate], 4: ['strategy', { 1: ['type', 'string'], 2: ['rollingUpdate', { 1: ['maxUnavailable', 'intOrString'], 2: ['maxSurge', 'intOrString'] }] }], 5: ['minReadySeconds', 'positiveInt'], 6: ['revisionHistoryLimit', 'int'], 7: ['paused', 'bool'], 9: ['progressDeadlineSeconds', 'int'] }], 3: ['status', 'ignored'] },
  Service: { 1: ['metadata', objectMeta], 2: ['spec', { 1: ['ports', { repeated: servicePort }], 2: ['selector', 'stringMap'], 3: ['clusterIP', 'string'], 4: ['type', 'string'], 7: ['sessionAffinity', 'string'], 10: ['externalName', 'string'] }], 3: ['status', 'ignored'] },
  SelfSubjectAccessReview: { 1: ['metadata', objectMeta], 2: ['spec', { 1: ['resourceAttributes', resourceAttributes], 2: ['nonResourceAttributes', { 1: ['path', 'string'], 2: ['verb', 'string'] }] }], 3: ['status', 'ignored'] },
  SelfSubjectRulesReview: { 1: ['metadata', objectMeta], 2: ['spec', { 1: ['namespace', 'string'] }], 3: ['status', 'ignored'] },
  SelfSubjectReview: { 1: ['metadata', objectMeta], 2: ['status', 'ignored'] },
  ServiceAccount: { 1: ['metadata', objectMeta], 3: ['imagePullSecrets', { repeated: { 1: ['name', 'string'] } }], 4: ['automountServiceAccountToken', 'bool'] },
  TokenRequest: { 1: ['metadata', objectMeta], 2: ['spec', tokenRequestSpec], 3: ['status', 'ignored'] },
  Role: { 1: ['metadata', objectMeta], 2: ['rules', { repeated: policyRule }] },
  ClusterRole: { 1: ['metadata', objectMeta], 2: ['rules', { repeated: policyRule }], 3: ['aggregationRule', { 1: ['clusterRoleSelectors', { repeated: labelSelector }] }] },
  RoleBinding: roleBinding,
  ClusterRoleBinding: roleBinding,
  ResourceQuota: { 1: ['metadata', objectMeta], 2: ['spec', { 1: ['hard', 'quantityMap'] }], 3: ['status', 'ignored'] },
  PodDisruptionBudget: { 1: ['metadata', objectMeta], 2: ['spec', { 1: ['minAvailable', 'intOrString'], 2: ['selector', labelSelector], 3: ['maxUnavailable', 'intOrString'], 4: ['unhealthyPodEvictionPolicy', 'string'] }], 3: ['status', 'ignored'] },
  Ingress: { 1: ['metadata', objectMeta], 2: ['spec', ingressSpec], 3: ['status', 'ignored'] },
  PriorityClass: { 1: ['metadata', objectMeta], 2: ['value', 'int'], 3: ['globalDefault', 'bool'], 4: ['description', 'string'], 5: ['preemptionPolicy', 'string'] },
  Namespace: { 1: ['metadata', objectMeta], 2: ['spec', { 1: ['finalizers', 'strings'] }], 3: ['status', 'ignored'] },
  ConfigMap: { 1: ['metadata', objectMeta], 2: ['data', 'stringMap'], 3: ['binaryData', 'bytesMap'], 4: ['immutable', 'bool'] },
  Secret: { 1: ['metadata', objectMeta], 2: ['data', 'bytesMap'], 3: ['type', 'string'], 4: ['stringData', 'stringMap'], 5: ['immutable', 'bool'] },
};

interface RawField {
  no: number;
  wire: number;
  value: number | Buffer;
}

function* fields(buf: Buffer): Generator<RawField> {
  let pos = 0;
  const varint = () => {
    let result = 0;
    let shift = 1;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const b = buf[pos++]!;
      result += (b & 0x7f) * shift;
      if (b < 0x80) return result;
      shift *= 128;
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) yield { no, wire, value: varint() };
    else if (wire === 2) {
      const len = varint();
      if (pos + len > buf.length) throw new Error('truncated field');
      yield { no, wire, value: buf.subarray(pos, pos + len) };
      pos += len;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`wire type ${wire} is not read`);
  }
}

/** A packed repeated varint field's values. */
function packedVarints(b: Buffer): number[] {
  const out: number[] = [];
  let result = 0;
  let shift = 1;
  for (const byte of b) {
    result += (byte & 0x7f) * shift;
    if (byte < 0x80) {
      out.push(result);
      result = 0;
      shift = 1;
    } else shift *= 128;
  }
  return out;
}

function pair(b: Buffer): [string, Buffer] {
  let key = '';
  let value: Buffer = Buffer.alloc(0);
  for (const f of fields(b)) {
    if (f.no === 1 && Buffer.isBuffer(f.value)) key = f.value.toString('utf8');
    if (f.no === 2 && Buffer.isBuffer(f.value)) value = f.value;
  }
  return [key, value];
}

function read(buf: Buffer, message: Message): Record<string, unknown> {
  const out: Record<string, any> = {};
  for (const f of fields(buf)) {
    const field = message[f.no];
    // An empty field (status {}, a zero time) says nothing; any other field not read here is
    // refused rather than dropped, so nothing kubectl sent is silently ignored.
    if (!field) {
      if (Buffer.isBuffer(f.value) && f.value.length === 0) continue;
      if (f.wire === 0 && f.value === 0) continue;
      throw new ApiError(415, 'UnsupportedMediaType', `the protobuf body has field ${f.no} where Gouvernail reads only ${Object.values(message).map((x) => x[0]).join(', ')}; send JSON (kubectl create -f FILE, kubectl apply -f FILE)`);
    }
    const [name, type] = field;
    const bytes = Buffer.isBuffer(f.value) ? f.value : Buffer.alloc(0);
    // Kubernetes' protobuf writes empty strings, false and zero ports where its JSON leaves them
    // out (a template with stdin: false would not be the same template as its JSON).
    if (type === 'ignored' || (type === 'string' && bytes.length === 0) || (type === 'positiveInt' && f.value === 0) || (type === 'bool' && f.value === 0)) continue;
    if (type === 'string') out[name] = bytes.toString('utf8');
    else if (type === 'positiveInt') out[name] = f.value;
    else if (type === 'bool' || type === 'optBool') out[name] = f.value === 1;
    else if (type === 'int') out[name] = f.value;
    else if (type === 'ints') (out[name] ??= []).push(...(Buffer.isBuffer(f.value) ? packedVarints(f.value) : [f.value]));
    else if (type === 'strings') (out[name] ??= []).push(bytes.toString('utf8'));
    else if (type === 'stringMap') {
      const [k, v] = pair(bytes);
      (out[name] ??= {})[k] = v.toString('utf8');
    } else if (type === 'intOrString') {
      const v = read(bytes, { 1: ['type', 'int'], 2: ['intVal', 'int'], 3: ['strVal', 'string'] });
      out[name] = v.type === 1 ? v.strVal ?? '' : v.intVal ?? 0;
    } else if (type === 'quantity') {
      out[name] = read(bytes, { 1: ['string', 'string'] }).string;
    } else if (type === 'quantityMap') {
      const [k, v] = pair(bytes);
      (out[name] ??= {})[k] = read(v, { 1: ['string', 'string'] }).string;
    } else if (type === 'bytesMap') {
      const [k, v] = pair(bytes);
      (out[name] ??= {})[k] = v.toString('base64');
    } else if ('repeated' in type) (out[name] ??= []).push(read(bytes, type.repeated as Message));
    else if ('inline' in type) Object.assign(out, read(bytes, type.inline as Message));
    else out[name] = read(bytes, type as Message);
  }
  return out;
}

/** The JSON object a protobuf request body stands for; 415 for a kind it cannot read. */
export function decodeProtobufBody(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || body.subarray(0, 4).toString('latin1') !== 'k8s\0') throw new ApiError(400, 'BadRequest', 'the protobuf body does not start with the Kubernetes magic "k8s\\0"');
  let typeMeta: Record<string, unknown> = {};
  let raw: Buffer = Buffer.alloc(0);
  try {
    for (const f of fields(body.subarray(4))) {
      if (f.no === 1 && Buffer.isBuffer(f.value)) typeMeta = read(f.value, { 1: ['apiVersion', 'string'], 2: ['kind', 'string'] });
      if (f.no === 2 && Buffer.isBuffer(f.value)) raw = f.value;
    }
    const kind = String(typeMeta.kind ?? '');
    const message = kinds[`${String(typeMeta.apiVersion ?? '')}/${kind}`] ?? kinds[kind];
    if (!message) throw new ApiError(415, 'UnsupportedMediaType', `a ${kind || 'protobuf'} body in protobuf is not read here; send JSON (kubectl create -f FILE, kubectl apply -f FILE)`);
    return { apiVersion: typeMeta.apiVersion, kind, ...read(raw, message) };
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(400, 'BadRequest', `the protobuf body cannot be read: ${(err as Error).message}`);
  }
}
