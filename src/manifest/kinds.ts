import { type Field, any, arr, bool, int, intOrString, map, obj, oneOf, quantity, req, str, type Schema } from './schema.js';
import { configMapKey, dns1035Label, dnsLabel, dnsSubdomain, labelKey, labelValue, parseDuration, portName } from './names.js';

const port = int(1, 65535);
const namedOrNumberedPort = intOrString((v) =>
  typeof v === 'number' ? (v < 1 || v > 65535 ? 'must be a port between 1 and 65535' : undefined) : portName(v),
);
const labels = map(str(labelValue), labelKey);
const annotations = map(str(), labelKey);
const resourceList = map(quantity, (k) => (['cpu', 'memory', 'ephemeral-storage'].includes(k) || k.includes('/') ? undefined : 'must be cpu, memory or ephemeral-storage'));

const metadata = (name: (v: string) => string | undefined, namespaced: boolean): Schema =>
  obj({
    name: req(str(name)),
    ...(namespaced ? { namespace: str(dnsLabel) } : {}),
    labels,
    annotations,
    // Fields a server sets; accepted so that `kubectl get -o yaml` output can be applied back.
    uid: str(),
    resourceVersion: str(),
    generation: int(),
    creationTimestamp: any,
    managedFields: any,
    ownerReferences: any,
    finalizers: arr(str()),
  });

const probe = obj({
  exec: obj({ command: req(arr(str())) }),
  httpGet: obj({ path: str(), port: req(namedOrNumberedPort), scheme: oneOf('HTTP', 'HTTPS'), host: str(), httpHeaders: arr(obj({ name: req(str()), value: req(str()) })) }),
  tcpSocket: obj({ port: req(namedOrNumberedPort), host: str() }),
  initialDelaySeconds: int(0),
  periodSeconds: int(1),
  timeoutSeconds: int(1),
  successThreshold: int(1),
  failureThreshold: int(1),
});

const keyRef = obj({ name: req(str(dnsSubdomain)), key: req(str(configMapKey)), optional: bool });

const container = obj({
  name: req(str(dnsLabel)),
  image: req(str((v) => (v.trim() === '' || /\s/.test(v) ? 'must be an image reference without spaces' : undefined))),
  command: arr(str()),
  args: arr(str()),
  workingDir: str(),
  ports: arr(obj({ containerPort: req(port), name: str(portName), hostPort: port, hostIP: str(), protocol: oneOf('TCP', 'UDP', 'SCTP') })),
  env: arr(
    obj({
      name: req(str((v) => (v === '' || v.includes('=') ? 'must be a non-empty name without "="' : undefined))),
      value: str(),
      valueFrom: obj({ secretKeyRef: keyRef, configMapKeyRef: keyRef, fieldRef: obj({ fieldPath: req(str()), apiVersion: str() }) }),
    }),
  ),
  envFrom: arr(
    obj({
      prefix: str(),
      configMapRef: obj({ name: req(str(dnsSubdomain)), optional: bool }),
      secretRef: obj({ name: req(str(dnsSubdomain)), optional: bool }),
    }),
  ),
  volumeMounts: arr(obj({ name: req(str()), mountPath: req(str((v) => (v.startsWith('/') ? undefined : 'must be an absolute path'))), readOnly: bool })),
  resources: obj({ limits: resourceList, requests: resourceList }),
  imagePullPolicy: oneOf('Always', 'IfNotPresent', 'Never'),
  readinessProbe: probe,
  livenessProbe: probe,
  startupProbe: probe,
  stdin: bool,
  stdinOnce: bool,
  tty: bool,
  terminationMessagePath: str(),
  terminationMessagePolicy: oneOf('File', 'FallbackToLogsOnError'),
});

const items = arr(obj({ key: req(str(configMapKey)), path: req(str()), mode: int(0, 0o777) }));
const volume = obj({
  name: req(str(dnsLabel)),
  emptyDir: obj({ medium: oneOf('', 'Memory'), sizeLimit: quantity }),
  persistentVolumeClaim: obj({ claimName: req(str(dnsSubdomain)), readOnly: bool }),
  configMap: obj({ name: req(str(dnsSubdomain)), items, optional: bool, defaultMode: int(0, 0o777) }),
  secret: obj({ secretName: req(str(dnsSubdomain)), items, optional: bool, defaultMode: int(0, 0o777) }),
  hostPath: obj({ path: req(str()), type: str() }),
});

export const podSpec = obj({
  containers: req(arr(container)),
  initContainers: arr(container),
  volumes: arr(volume),
  restartPolicy: oneOf('Always', 'OnFailure', 'Never'),
  terminationGracePeriodSeconds: int(0),
  nodeName: str(),
  hostname: str(dnsLabel),
  imagePullSecrets: arr(obj({ name: req(str()) })),
  dnsPolicy: str(),
  schedulerName: str(),
  securityContext: any,
  enableServiceLinks: bool,
});

export const labelSelector = obj({
  matchLabels: labels,
  matchExpressions: arr(obj({ key: req(str(labelKey)), operator: req(oneOf('In', 'NotIn', 'Exists', 'DoesNotExist')), values: arr(str()) })),
});

const percentOrInt = intOrString((v) =>
  typeof v === 'number' ? (v < 0 ? 'must not be negative' : undefined) : /^\d+%$/.test(v) ? undefined : 'must be an integer or a percentage such as 25%',
);

const deploymentSpec = obj({
  replicas: int(0),
  selector: req(labelSelector),
  template: req(obj({ metadata: obj({ labels, annotations, name: str(), creationTimestamp: any }), spec: req(podSpec) })),
  strategy: obj({ type: oneOf('RollingUpdate', 'Recreate'), rollingUpdate: obj({ maxSurge: percentOrInt, maxUnavailable: percentOrInt }) }),
  revisionHistoryLimit: int(0),
  minReadySeconds: int(0),
  progressDeadlineSeconds: int(1),
  paused: bool,
});

const serviceSpec = obj({
  type: oneOf('ClusterIP', 'NodePort', 'LoadBalancer'),
  selector: map(str(labelValue), labelKey),
  clusterIP: str(),
  clusterIPs: arr(str()),
  ports: arr(
    obj({
      name: str(dnsLabel),
      port: req(port),
      targetPort: namedOrNumberedPort,
      nodePort: int(30000, 32767),
      protocol: oneOf('TCP', 'UDP', 'SCTP'),
      appProtocol: str(),
    }),
  ),
  sessionAffinity: oneOf('None', 'ClientIP'),
  publishNotReadyAddresses: bool,
});

const pvcSpec = obj({
  accessModes: arr(oneOf('ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod')),
  resources: req(obj({ requests: req(obj({ storage: req(quantity) })), limits: obj({ storage: quantity }) })),
  storageClassName: str(),
  volumeMode: oneOf('Filesystem', 'Block'),
  volumeName: str(),
});

const duration = str((v) => (parseDuration(v) === undefined ? 'must be a duration such as 30s, 3m or 1h' : undefined));
const applicationSpec = obj({
  source: req(obj({ repoURL: str(), targetRevision: str(), path: str(), hosted: bool, credentials: obj({ tokenFile: str(), tokenEnv: str(), username: str(), passwordFile: str() }) })),
  destination: obj({ namespace: str(dnsLabel) }),
  syncPolicy: obj({
    automated: { t: 'any' },
    prune: bool,
    selfHeal: bool,
    allowEmpty: bool,
    autoRollback: bool,
    interval: duration,
    timeout: duration,
  }),
});

export interface KindInfo {
  apiVersion: string;
  kind: string;
  /** Lowercase plural, as in API paths. */
  plural: string;
  shortNames: string[];
  namespaced: boolean;
  schema: Schema;
}

function kind(apiVersion: string, kind: string, plural: string, shortNames: string[], namespaced: boolean, body: Record<string, Schema | Field>, name = dnsSubdomain): KindInfo {
  return {
    apiVersion,
    kind,
    plural,
    shortNames,
    namespaced,
    schema: obj({ apiVersion: req(str()), kind: req(str()), metadata: req(metadata(name, namespaced)), status: any, ...body }),
  };
}

/** The kinds a manifest may contain. Node, ReplicaSet and Event exist too, but Gouvernail makes them. */
export const manifestKinds: KindInfo[] = [
  kind('v1', 'Namespace', 'namespaces', ['ns'], false, { spec: any }, dnsLabel),
  kind('v1', 'Secret', 'secrets', [], true, { type: str(), data: map(str(), configMapKey), stringData: map(str(), configMapKey), immutable: bool }),
  kind('v1', 'ConfigMap', 'configmaps', ['cm'], true, { data: map(str(), configMapKey), binaryData: map(str(), configMapKey), immutable: bool }),
  kind('v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', ['pvc'], true, { spec: req(pvcSpec) }),
  kind('v1', 'Service', 'services', ['svc'], true, { spec: req(serviceSpec) }, dns1035Label),
  kind('apps/v1', 'Deployment', 'deployments', ['deploy'], true, { spec: req(deploymentSpec) }),
  kind('v1', 'Pod', 'pods', ['po'], true, { spec: req(podSpec) }),
  kind('gouvernail.io/v1', 'Application', 'applications', ['app'], true, { spec: req(applicationSpec) }),
];

const byKind = new Map(manifestKinds.map((k) => [k.kind, k]));

export function kindInfo(kind: string): KindInfo | undefined {
  return byKind.get(kind);
}

export function isNamespaced(kind: string): boolean {
  return byKind.get(kind)?.namespaced ?? true;
}
