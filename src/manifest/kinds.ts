import { type Field, any, arr, bool, closed, describe, int, intOrString, map, obj, oneOf, quantity, quietStr, req, str, type Schema } from './schema.js';
import { configMapKey, dns1035Label, dnsLabel, dnsSubdomain, labelKey, labelValue, parseDuration, pathSegmentName, portName } from './names.js';

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
    deletionTimestamp: any,
    deletionGracePeriodSeconds: int(),
    generateName: str(),
  }, false, ['selfLink']);

const probe = obj({
  exec: closed({ command: req(arr(str())) }),
  httpGet: closed({ path: str(), port: req(namedOrNumberedPort), scheme: oneOf('HTTP', 'HTTPS'), host: str(), httpHeaders: arr(closed({ name: req(str()), value: req(str()) })) }),
  tcpSocket: closed({ port: req(namedOrNumberedPort), host: str() }),
  grpc: describe(closed({ port: req(port), service: str() }), "gRPC's standard health check (grpc.health.v1.Health/Check) on the Pod's port: SERVING is a success."),
  initialDelaySeconds: int(0),
  periodSeconds: int(1),
  timeoutSeconds: int(1),
  successThreshold: int(1),
  failureThreshold: int(1),
}, false, ['terminationGracePeriodSeconds']);

const lifecycleHandler = obj({
  exec: closed({ command: req(arr(str())) }),
  httpGet: obj({ path: str(), port: req(namedOrNumberedPort), scheme: oneOf('HTTP'), host: str() }, false, ['httpHeaders']),
  sleep: closed({ seconds: req(int(0)) }),
}, false, ['tcpSocket']);

const keyRef = closed({ name: req(str(dnsSubdomain)), key: req(str(configMapKey)), optional: bool });

const capabilityList = arr(str((v) => (/^(CAP_)?[A-Z_]+$/.test(v) || v === 'ALL' ? undefined : 'must be a capability name such as NET_BIND_SERVICE or ALL')));
const seccompProfile = closed({ type: req(oneOf('RuntimeDefault', 'Unconfined', 'Localhost')), localhostProfile: str() });
const containerSecurityContext = obj(
  {
    runAsUser: int(0),
    runAsGroup: int(0),
    runAsNonRoot: bool,
    readOnlyRootFilesystem: bool,
    privileged: bool,
    allowPrivilegeEscalation: bool,
    capabilities: closed({ add: capabilityList, drop: capabilityList }),
    seccompProfile,
  },
  false,
  ['seLinuxOptions', 'windowsOptions', 'procMount', 'appArmorProfile'],
);
const podSecurityContext = obj(
  { runAsUser: int(0), runAsGroup: int(0), runAsNonRoot: bool, fsGroup: int(0), supplementalGroups: arr(int(0)), seccompProfile },
  false,
  ['seLinuxOptions', 'windowsOptions', 'fsGroupChangePolicy', 'sysctls', 'appArmorProfile', 'supplementalGroupsPolicy', 'seLinuxChangePolicy'],
);

/** A container's limit or request, through the downward API (an env var, a file). */
const resourceFieldRef = closed({ containerName: str(), resource: req(oneOf('limits.cpu', 'limits.memory', 'limits.ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage')), divisor: quantity });
const containerFields = {
  name: req(str(dnsLabel)),
  image: req(str((v) => (v.trim() === '' || /\s/.test(v) ? 'must be an image reference without spaces' : undefined))),
  command: arr(str()),
  args: arr(str()),
  workingDir: str(),
  ports: arr(closed({ containerPort: req(port), name: str(portName), hostPort: port, hostIP: str(), protocol: oneOf('TCP', 'UDP', 'SCTP') }), 'containerPort'),
  env: arr(
    closed({
      name: req(str((v) => (v === '' || v.includes('=') ? 'must be a non-empty name without "="' : undefined))),
      value: str(),
      valueFrom: obj({ secretKeyRef: keyRef, configMapKeyRef: keyRef, fieldRef: closed({ fieldPath: req(str()), apiVersion: str() }), resourceFieldRef }, false, ['fileKeyRef']),
    }),
    'name',
  ),
  envFrom: arr(
    closed({
      prefix: str(),
      configMapRef: closed({ name: req(str(dnsSubdomain)), optional: bool }),
      secretRef: closed({ name: req(str(dnsSubdomain)), optional: bool }),
    }),
  ),
  volumeMounts: arr(obj({ name: req(str()), mountPath: req(str((v) => (v.startsWith('/') ? undefined : 'must be an absolute path'))), readOnly: bool, subPath: str((v) => (v.startsWith('/') || v.split('/').includes('..') ? 'must be a relative path inside the volume' : undefined)) }, false, ['recursiveReadOnly', 'mountPropagation', 'subPathExpr']), 'mountPath'),
  resources: obj({ limits: resourceList, requests: resourceList }, false, ['claims']),
  imagePullPolicy: oneOf('Always', 'IfNotPresent', 'Never'),
  readinessProbe: probe,
  livenessProbe: probe,
  startupProbe: probe,
  stdin: bool,
  stdinOnce: bool,
  tty: bool,
  terminationMessagePath: str(),
  terminationMessagePolicy: oneOf('File', 'FallbackToLogsOnError'),
  securityContext: containerSecurityContext,
  restartPolicy: describe(oneOf('Always'), 'Only for an init container: Always makes it a sidecar, started before the app containers and kept running beside them.'),
  lifecycle: obj({ postStart: lifecycleHandler, preStop: lifecycleHandler }, false, ['stopSignal']),
  resizePolicy: describe(arr(closed({ resourceName: req(oneOf('cpu', 'memory')), restartPolicy: req(oneOf('NotRequired', 'RestartContainer')) }), 'resourceName'), 'How a change of this resource is applied to the running container: NotRequired (the default) updates it in place with Docker; RestartContainer also restarts it.'),
};
const container = obj(containerFields, false, ['volumeDevices']);
/** A container kubectl debug adds to a running Pod: the fields the API refuses for it (ports, probes, lifecycle, resources) are refused there. */
const ephemeralContainer = obj({ ...containerFields, targetContainerName: describe(str(), "The app container whose processes it sees (its process namespace).") }, false, ['volumeDevices']);

/** A file's path inside a volume: relative, and never climbing out of it. */
const relativeFilePath = (v: string) => (v === '' || v.startsWith('/') ? 'must be a relative path inside the volume' : v.split('/').includes('..') ? 'must not contain ".." (the file would land outside the volume)' : undefined);
const items = arr(closed({ key: req(str(configMapKey)), path: req(str(relativeFilePath)), mode: int(0, 0o777) }));
const downwardItems = arr(closed({
  path: req(str(relativeFilePath)),
  fieldRef: closed({ fieldPath: req(str()), apiVersion: str() }),
  resourceFieldRef,
  mode: int(0, 0o777),
}));
const volume = obj({
  name: req(str(dnsLabel)),
  emptyDir: closed({ medium: oneOf('', 'Memory'), sizeLimit: quantity }),
  persistentVolumeClaim: closed({ claimName: req(str(dnsSubdomain)), readOnly: bool }),
  configMap: closed({ name: req(str(dnsSubdomain)), items, optional: bool, defaultMode: int(0, 0o777) }),
  secret: closed({ secretName: req(str(dnsSubdomain)), items, optional: bool, defaultMode: int(0, 0o777) }),
  hostPath: closed({ path: req(str((v) => (v.startsWith('/') ? undefined : 'must be an absolute path on the node'))), type: oneOf('', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice') }),
  downwardAPI: closed({ items: downwardItems, defaultMode: int(0, 0o777) }),
  projected: closed({
    defaultMode: int(0, 0o777),
    sources: arr(obj({
      configMap: closed({ name: req(str(dnsSubdomain)), items, optional: bool }),
      secret: closed({ name: req(str(dnsSubdomain)), items, optional: bool }),
      downwardAPI: closed({ items: downwardItems }),
      serviceAccountToken: closed({ path: req(str(relativeFilePath)), expirationSeconds: int(600), audience: str() }),
    }, false, ['clusterTrustBundle', 'podCertificate'])),
  }),
}, false, ['gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'nfs', 'iscsi', 'glusterfs', 'rbd', 'flexVolume', 'cinder', 'cephfs', 'flocker', 'fc', 'azureFile', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'portworxVolume', 'scaleIO', 'storageos', 'csi', 'ephemeral', 'image']);

const nodeSelectorRequirement = closed({ key: req(str()), operator: req(oneOf('In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt')), values: arr(str()) });
export const labelSelector = closed({
  matchLabels: labels,
  matchExpressions: arr(closed({ key: req(str(labelKey)), operator: req(oneOf('In', 'NotIn', 'Exists', 'DoesNotExist')), values: arr(str()) })),
});

const nodeSelectorTerm = closed({ matchExpressions: arr(nodeSelectorRequirement), matchFields: arr(nodeSelectorRequirement) });
/** Pod (anti-)affinity terms: Pods matching the selector, in the namespaces named (or picked), on nodes of the same topology domain. */
const podAffinityTerm = obj({ labelSelector, namespaces: arr(str()), namespaceSelector: labelSelector, topologyKey: req(str()) }, false, ['matchLabelKeys', 'mismatchLabelKeys']);
const podAffinityRules = closed({
  requiredDuringSchedulingIgnoredDuringExecution: arr(podAffinityTerm),
  preferredDuringSchedulingIgnoredDuringExecution: arr(closed({ weight: req(int(1, 100)), podAffinityTerm: req(podAffinityTerm) })),
});
/** Node affinity and Pod (anti-)affinity, which the scheduler acts on. */
const affinity = closed({
  nodeAffinity: closed({
    requiredDuringSchedulingIgnoredDuringExecution: closed({ nodeSelectorTerms: req(arr(nodeSelectorTerm)) }),
    preferredDuringSchedulingIgnoredDuringExecution: arr(closed({ weight: req(int(1, 100)), preference: req(nodeSelectorTerm) })),
  }),
  podAffinity: podAffinityRules,
  podAntiAffinity: podAffinityRules,
});
const topologySpreadConstraint = obj({
  maxSkew: req(int(1)),
  topologyKey: req(str()),
  whenUnsatisfiable: req(oneOf('DoNotSchedule', 'ScheduleAnyway')),
  labelSelector,
  matchLabelKeys: describe(arr(str()), "Labels of the incoming Pod whose values the Pods counted must share (pod-template-hash: only the same revision's)."),
}, false, ['minDomains', 'nodeAffinityPolicy', 'nodeTaintsPolicy']);
/** tolerationSeconds is kept and warned about: the eviction timeout (serve --pod-eviction-timeout) applies to every Pod. */
const toleration = obj({ key: str(), operator: oneOf('Exists', 'Equal'), value: str(), effect: oneOf('', 'NoSchedule', 'PreferNoSchedule', 'NoExecute') }, false, ['tolerationSeconds']);

export const podSpec = obj({
  nodeSelector: map(str(labelValue), labelKey),
  affinity,
  topologySpreadConstraints: describe(arr(topologySpreadConstraint), 'How evenly Pods matching the selector spread over the values of a node label (kubernetes.io/hostname: the nodes): DoNotSchedule refuses a node that would make the skew exceed maxSkew, ScheduleAnyway prefers the emptiest domains.'),
  tolerations: arr(toleration),
  containers: req(describe(arr(container, 'name'), 'The containers of the Pod; they share its network namespace (localhost) and its volumes.')),
  initContainers: arr(container, 'name'),
  volumes: arr(volume, 'name'),
  restartPolicy: oneOf('Always', 'OnFailure', 'Never'),
  terminationGracePeriodSeconds: int(0),
  nodeName: str(),
  hostname: str(dnsLabel),
  subdomain: describe(str(dnsLabel), 'With hostname, the Pod answers to HOSTNAME.SUBDOMAIN.NAMESPACE.svc.cluster.local: set by a StatefulSet to its serviceName.'),
  imagePullSecrets: arr(closed({ name: req(str()) }), 'name'),
  dnsPolicy: describe(oneOf('ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'), "ClusterFirst (the default): the cluster DNS server, with the namespace's search domains; Default: the node's resolvers; None: only dnsConfig."),
  dnsConfig: describe(closed({ nameservers: arr(str()), searches: arr(str()), options: arr(closed({ name: req(str()), value: str() })) }), 'Nameservers, search domains and resolver options added to those of dnsPolicy.'),
  hostAliases: describe(arr(closed({ ip: req(str()), hostnames: arr(str()) })), "Lines added to the Pod's /etc/hosts."),
  schedulerName: str(),
  securityContext: podSecurityContext,
  enableServiceLinks: bool,
  serviceAccountName: str(dnsSubdomain),
  automountServiceAccountToken: bool,
  hostPID: bool,
  setHostnameAsFQDN: describe(bool, "With a subdomain, the Pod's hostname is its fully qualified name (HOSTNAME.SUBDOMAIN.NAMESPACE.svc.cluster.local) rather than HOSTNAME."),
  activeDeadlineSeconds: describe(int(1), 'Seconds the Pod may be active after it started: past them it fails (DeadlineExceeded) and its containers are stopped.'),
  readinessGates: describe(arr(closed({ conditionType: req(str()) })), 'Pod conditions that must be True, besides its containers being ready, for the Pod to be Ready (written by their controller, or kubectl patch --subresource status).'),
  shareProcessNamespace: describe(bool, "The Pod's containers share one process namespace: each sees and can signal the others' processes (PID 1 is the first container's program)."),
  hostIPC: bool,
  hostNetwork: bool,
  priorityClassName: describe(str(), "The PriorityClass whose value becomes the Pod's priority: the scheduler places higher priorities first and, when a Pod fits nowhere, stops lower-priority Pods to make room (unless its preemptionPolicy is Never)."),
  priority: int(),
  preemptionPolicy: oneOf('PreemptLowerPriority', 'Never'),
  ephemeralContainers: describe(arr(ephemeralContainer, 'name'), 'Containers kubectl debug adds to a running Pod (pods/NAME/ephemeralcontainers): never in a manifest.'),
  os: describe(closed({ name: req(oneOf('linux', 'windows')) }), "The operating system the Pod's containers need: the scheduler places it only on a node whose kubernetes.io/os label (its engine's OSType) says so."),
  schedulingGates: describe(arr(closed({ name: req(str()) }), 'name'), 'Gates that hold the Pod back from scheduling (SchedulingGated) until each is removed, by whatever set it; gates may only be removed, never added, once the Pod exists.'),
}, false, ['serviceAccount', 'runtimeClassName', 'overhead', 'hostUsers', 'resourceClaims', 'resources']);

const percentOrInt = intOrString((v) =>
  typeof v === 'number' ? (v < 0 ? 'must not be negative' : undefined) : /^\d+%$/.test(v) ? undefined : 'must be an integer or a percentage such as 25%',
);

const deploymentSpec = obj({
  replicas: int(0),
  selector: req(labelSelector),
  template: req(obj({ metadata: obj({ labels, annotations, name: str(), creationTimestamp: any }), spec: req(podSpec) })),
  strategy: describe(
    closed({
      type: describe(oneOf('RollingUpdate', 'Recreate'), 'Type of deployment. Can be "Recreate" or "RollingUpdate". Default is RollingUpdate.'),
      rollingUpdate: describe(
        closed({
          maxSurge: describe(percentOrInt, 'The maximum number of Pods that can be scheduled above the desired number of Pods (a number or a percentage). Default 25%.'),
          maxUnavailable: describe(percentOrInt, 'The maximum number of Pods that can be unavailable during the update (a number or a percentage). Default 25%.'),
        }),
        'Rolling update config params. Present only if type = RollingUpdate.',
      ),
    }),
    'The deployment strategy to use to replace existing Pods with new ones.',
  ),
  revisionHistoryLimit: int(0),
  minReadySeconds: int(0),
  progressDeadlineSeconds: int(1),
  paused: bool,
}, false, []);

const template = (required: boolean) => {
  const t = obj({ metadata: obj({ labels, annotations, name: str(), creationTimestamp: any }), spec: req(podSpec) });
  return required ? req(t) : t;
};
const claimTemplate = obj({ apiVersion: str(), kind: str(), metadata: obj({ name: req(str(dnsSubdomain)), labels, annotations, creationTimestamp: any }), spec: req(obj({
  accessModes: arr(oneOf('ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod')),
  resources: req(obj({ requests: req(obj({ storage: req(quantity) })), limits: obj({ storage: quantity }) })),
  storageClassName: str(),
  volumeMode: oneOf('Filesystem', 'Block'),
}, false, ['selector', 'dataSource', 'dataSourceRef', 'volumeAttributesClassName', 'volumeName'])), status: any });
const retention = oneOf('Retain', 'Delete');

const statefulSetSpec = obj({
  replicas: int(0),
  selector: req(labelSelector),
  template: template(true),
  serviceName: describe(str(dns1035Label), 'The headless Service that gives each Pod its DNS name, POD.SERVICE.NAMESPACE.svc.cluster.local.'),
  podManagementPolicy: describe(oneOf('OrderedReady', 'Parallel'), 'OrderedReady starts Pods one by one in ordinal order, each once the previous is Ready, and removes them in reverse; Parallel starts and removes them all at once.'),
  updateStrategy: closed({ type: oneOf('RollingUpdate', 'OnDelete'), rollingUpdate: obj({ partition: int(0) }, false, ['maxUnavailable']) }),
  volumeClaimTemplates: describe(arr(claimTemplate), 'One PersistentVolumeClaim per Pod and template, named TEMPLATE-STATEFULSET-ORDINAL; it stays when the StatefulSet scales down.'),
  minReadySeconds: int(0),
  persistentVolumeClaimRetentionPolicy: closed({ whenDeleted: retention, whenScaled: retention }),
  ordinals: closed({ start: int(0) }),
}, false, ['revisionHistoryLimit']);

const daemonSetSpec = obj({
  selector: req(labelSelector),
  template: template(true),
  updateStrategy: closed({ type: oneOf('RollingUpdate', 'OnDelete'), rollingUpdate: obj({ maxUnavailable: percentOrInt }, false, ['maxSurge']) }),
  minReadySeconds: int(0),
}, false, ['revisionHistoryLimit']);

const jobSpec = obj({
  template: template(true),
  completions: int(0),
  parallelism: int(0),
  backoffLimit: int(0),
  activeDeadlineSeconds: int(1),
  ttlSecondsAfterFinished: int(0),
  completionMode: oneOf('NonIndexed', 'Indexed'),
  suspend: bool,
  selector: labelSelector,
  manualSelector: bool,
  podFailurePolicy: describe(closed({
    rules: req(arr(closed({
      action: req(oneOf('FailJob', 'Ignore', 'Count', 'FailIndex')),
      onExitCodes: closed({ containerName: str(), operator: req(oneOf('In', 'NotIn')), values: req(arr(int(0, 255))) }),
      onPodConditions: arr(closed({ type: req(str()), status: oneOf('True', 'False', 'Unknown') })),
    }))),
  }), "What a failed Pod does to its Job, by the first rule that matches its containers' exit codes or its conditions: FailJob fails the Job at once, Ignore leaves it out of backoffLimit, Count counts it."),
}, false, ['backoffLimitPerIndex', 'maxFailedIndexes', 'podReplacementPolicy', 'successPolicy', 'managedBy']);

const cronJobSpec = obj({
  schedule: req(describe(str(), 'The schedule in Cron format (minute hour day-of-month month day-of-week, or @hourly, @daily...).')),
  timeZone: str(),
  concurrencyPolicy: oneOf('Allow', 'Forbid', 'Replace'),
  suspend: bool,
  jobTemplate: req(obj({ metadata: obj({ labels, annotations, name: str(), creationTimestamp: any }), spec: req(jobSpec) })),
  successfulJobsHistoryLimit: int(0),
  failedJobsHistoryLimit: int(0),
  startingDeadlineSeconds: int(0),
}, false, []);

const replicaSetSpec = closed({
  replicas: int(0),
  minReadySeconds: int(0),
  selector: req(labelSelector),
  template: template(true),
});

const metricTarget = obj({ type: req(oneOf('Utilization', 'AverageValue')), averageUtilization: int(1), averageValue: quantity }, false, ['value']);
const scalingRules = obj({
  stabilizationWindowSeconds: int(0, 3600),
  selectPolicy: oneOf('Max', 'Min', 'Disabled'),
  policies: arr(closed({ type: req(oneOf('Pods', 'Percent')), value: req(int(1)), periodSeconds: req(int(1, 1800)) })),
}, false, ['tolerance']);
const scaleTargetRef = req(closed({ apiVersion: str(), kind: req(oneOf('Deployment', 'StatefulSet', 'ReplicaSet', 'ReplicationController')), name: req(str()) }));
const hpaSpec = closed({
  scaleTargetRef,
  minReplicas: int(1),
  maxReplicas: req(int(1)),
  metrics: describe(arr(obj({
    type: req(describe(oneOf('Resource', 'ContainerResource'), 'Resource and ContainerResource metrics (cpu, memory) come from Docker stats; Pods, Object and External metrics need a custom metrics API, which Gouvernail does not serve.')),
    resource: closed({ name: req(oneOf('cpu', 'memory')), target: req(metricTarget) }),
    containerResource: closed({ name: req(oneOf('cpu', 'memory')), container: req(str()), target: req(metricTarget) }),
  })), 'The metrics to scale on; the largest recommendation wins. Default: 80% average CPU utilization.'),
  behavior: closed({ scaleUp: scalingRules, scaleDown: scalingRules }),
});
// autoscaling/v1: CPU utilization only; other metrics and the behavior ride in annotations
// (src/manifest/hpa-v1.ts converts it to and from v2, the version stored).
const hpaV1Spec = closed({
  scaleTargetRef,
  minReplicas: int(1),
  maxReplicas: req(int(1)),
  targetCPUUtilizationPercentage: describe(int(1), 'The average CPU utilization of the Pods to aim for, in percent of what they request. Default: 80.'),
});

const accessModes = arr(oneOf('ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'));
const persistentVolumeSpec = obj({
  capacity: req(obj({ storage: req(quantity) })),
  accessModes,
  persistentVolumeReclaimPolicy: describe(oneOf('Retain', 'Delete'), 'What happens to the volume when its claim is deleted: Retain keeps it (Released), Delete removes it.'),
  storageClassName: str(),
  volumeMode: oneOf('Filesystem'),
  claimRef: obj({ namespace: str(), name: str(), uid: str(), apiVersion: str(), kind: str(), resourceVersion: str() }, false, ['fieldPath']),
  hostPath: obj({ path: req(str((v) => (v.startsWith('/') ? undefined : 'must be an absolute path on the node'))), type: oneOf('', 'DirectoryOrCreate', 'Directory') }),
  local: obj({ path: req(str((v) => (v.startsWith('/') ? undefined : 'must be an absolute path on the node'))) }, false, ['fsType']),
  nodeAffinity: closed({ required: closed({ nodeSelectorTerms: req(arr(nodeSelectorTerm)) }) }),
}, false, ['mountOptions', 'nfs', 'csi', 'iscsi', 'awsElasticBlockStore', 'gcePersistentDisk', 'azureDisk', 'azureFile', 'cephfs', 'rbd', 'fc', 'glusterfs', 'cinder', 'vsphereVolume', 'flexVolume', 'volumeAttributesClassName']);

const replicationControllerSpec = closed({
  replicas: int(0),
  minReadySeconds: int(0),
  selector: map(str(labelValue), labelKey),
  template: template(true),
});

function ipv4Address(v: string): string | undefined {
  const parts = v.split('.');
  return parts.length === 4 && parts.every((x) => /^(0|[1-9]\d{0,2})$/.test(x) && Number(x) <= 255) ? undefined : 'must be an IPv4 address such as 192.0.2.10';
}

const serviceSpec = obj({
  type: oneOf('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'),
  selector: map(str(labelValue), labelKey),
  externalName: describe(str(), 'The DNS name an ExternalName Service is a CNAME of.'),
  clusterIP: str(),
  clusterIPs: arr(str()),
  ports: arr(
    closed({
      name: str(dnsLabel),
      port: req(port),
      targetPort: namedOrNumberedPort,
      nodePort: int(30000, 32767),
      protocol: oneOf('TCP', 'UDP', 'SCTP'),
      appProtocol: str(),
    }),
    'port',
  ),
  sessionAffinity: oneOf('None', 'ClientIP'),
  sessionAffinityConfig: closed({ clientIP: closed({ timeoutSeconds: int(1, 86400) }) }),
  publishNotReadyAddresses: bool,
  externalIPs: describe(arr(str(ipv4Address)), 'Addresses, routed to a node by the network around it, whose traffic to a port of the Service goes to its Pods.'),
  externalTrafficPolicy: describe(oneOf('Cluster', 'Local'), 'Local: traffic from outside the cluster (a nodePort, a LoadBalancer port, an external IP) goes only to Pods on the node it reached, keeping its source address, and is dropped where the node has none.'),
  internalTrafficPolicy: describe(oneOf('Cluster', 'Local'), "Local: a cluster IP's traffic goes only to Pods on the sender's node, and is dropped where it has none."),
  ipFamilies: describe(arr(oneOf('IPv4', 'IPv6')), "The address families of the Service's cluster IPs: IPv4, the only one Gouvernail's Service network has."),
  ipFamilyPolicy: describe(oneOf('SingleStack', 'PreferDualStack', 'RequireDualStack'), 'SingleStack or PreferDualStack give one IPv4 cluster IP; RequireDualStack is only for a headless Service (Gouvernail has no IPv6).'),
  allocateLoadBalancerNodePorts: describe(bool, 'false: a LoadBalancer Service gets no nodePort but those its ports name; it is reached on its own port of the nodes.'),
}, false, ['loadBalancerIP', 'loadBalancerSourceRanges', 'healthCheckNodePort', 'loadBalancerClass', 'trafficDistribution']);

const endpointAddress = closed({ ip: req(str()), hostname: str(), nodeName: str(), targetRef: any });
const endpointSubset = closed({
  addresses: arr(endpointAddress),
  notReadyAddresses: arr(endpointAddress),
  ports: arr(closed({ name: str(), port: req(int(1, 65535)), protocol: oneOf('TCP', 'UDP', 'SCTP'), appProtocol: str() })),
});
const sliceEndpoint = obj({
  addresses: req(arr(str())),
  conditions: closed({ ready: bool, serving: bool, terminating: bool }),
  hostname: str(),
  nodeName: str(),
  targetRef: any,
}, false, ['zone', 'hints', 'deprecatedTopology']);

const ingressBackend = obj({ service: closed({ name: req(str()), port: req(closed({ number: int(1, 65535), name: str() })) }) }, false, ['resource']);
const ingressSpec = closed({
  ingressClassName: describe(str(), "The IngressClass: Gouvernail's, none (the default), or one no IngressClass defines, which Gouvernail serves too."),
  defaultBackend: ingressBackend,
  tls: arr(closed({ hosts: arr(str()), secretName: str() })),
  rules: arr(closed({
    host: str(),
    http: closed({ paths: req(arr(closed({ path: str(), pathType: req(oneOf('Exact', 'Prefix', 'ImplementationSpecific')), backend: req(ingressBackend) }))) }),
  })),
});
const policyPeer = closed({ podSelector: labelSelector, namespaceSelector: labelSelector, ipBlock: closed({ cidr: req(str()), except: arr(str()) }) });
const policyPort = closed({ port: namedOrNumberedPort, endPort: int(1, 65535), protocol: oneOf('TCP', 'UDP', 'SCTP') });
const networkPolicySpec = closed({
  podSelector: req(describe(labelSelector, 'The Pods of the namespace the policy isolates; {} selects them all.')),
  policyTypes: arr(oneOf('Ingress', 'Egress')),
  ingress: arr(closed({ from: arr(policyPeer), ports: arr(policyPort) })),
  egress: arr(closed({ to: arr(policyPeer), ports: arr(policyPort) })),
});

const pvcSpec = obj({
  accessModes: arr(oneOf('ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod')),
  resources: req(obj({ requests: req(obj({ storage: req(quantity) })), limits: obj({ storage: quantity }) })),
  storageClassName: str(),
  volumeMode: oneOf('Filesystem', 'Block'),
  volumeName: str(),
}, false, ['selector', 'dataSource', 'dataSourceRef', 'volumeAttributesClassName']);

export const minimumSyncIntervalMs = 30_000;
/** A Git URL Gouvernail can fetch: http(s) or file, or an absolute path to a local repository. */
const repoUrl = (v: string) => {
  if (v.startsWith('/')) return undefined;
  try {
    const u = new URL(v);
    return ['http:', 'https:', 'file:'].includes(u.protocol) ? undefined : `must be an http, https or file URL, or an absolute path (got the scheme ${u.protocol.replace(':', '')})`;
  } catch {
    return 'must be an http, https or file URL, or an absolute path to a local repository';
  }
};
const applicationSpec = obj({
  source: req(obj({ repoURL: quietStr(repoUrl), targetRevision: str(), path: str(), hosted: bool, credentials: obj({ tokenFile: str(), tokenEnv: str(), username: str(), passwordFile: str(), secretRef: obj({ name: req(str(dnsSubdomain)) }) }) })),
  destination: obj({ namespace: str(dnsLabel) }),
  serviceAccountName: str(dnsSubdomain),
  syncPolicy: obj({
    automated: { t: 'any' },
    prune: bool,
    selfHeal: bool,
    allowEmpty: bool,
    autoRollback: bool,
    interval: str((v) => {
      const ms = parseDuration(v);
      if (ms === undefined) return 'must be a duration such as 30s, 3m or 1h';
      // Closer polls only load the Git server; a webhook or a push is the fast path.
      return ms < minimumSyncIntervalMs ? 'must be at least 30s, the minimum (for faster syncs, use a webhook or push to a hosted repository)' : undefined;
    }),
    timeout: str((v) => {
      const ms = parseDuration(v);
      if (ms === undefined) return 'must be a duration such as 30s, 3m or 1h';
      return ms < 1000 ? 'must be at least 1s' : undefined;
    }),
  }),
});

const policyRule = closed({
  apiGroups: arr(str()),
  resources: arr(str()),
  verbs: req(arr(str())),
  resourceNames: arr(str()),
  nonResourceURLs: arr(str()),
});
const roleRef = closed({ apiGroup: req(oneOf('rbac.authorization.k8s.io')), kind: req(oneOf('Role', 'ClusterRole')), name: req(str()) });
const subject = closed({ kind: req(oneOf('User', 'Group', 'ServiceAccount')), name: req(str()), namespace: str(), apiGroup: str() });
const aggregationRule = closed({ clusterRoleSelectors: arr(labelSelector) });

export interface KindInfo {
  apiVersion: string;
  kind: string;
  /** Lowercase plural, as in API paths. */
  plural: string;
  shortNames: string[];
  namespaced: boolean;
  schema: Schema;
}

const kindDescriptions: Record<string, string> = {
  Namespace: 'Namespace provides a scope for names. On Gouvernail, a namespace has a /24 of each node\'s Pod range.',
  Secret: 'Secret holds secret data of a certain type. Values are base64 in data; stringData is folded into data on write.',
  ConfigMap: 'ConfigMap holds configuration data for pods to consume, as environment variables or files.',
  PersistentVolumeClaim: "PersistentVolumeClaim is a user's request for storage: a named Docker volume on Gouvernail.",
  Service: 'Service is a named abstraction of software service consisting of the Pods its selector matches.',
  Deployment: 'Deployment enables declarative updates for Pods and ReplicaSets.',
  Pod: 'Pod is a collection of containers that share a network namespace and volumes, run on one node.',
  Application: 'Application is a Gouvernail GitOps source: a Git repository, a hosted remote or a folder, kept applied.',
  Node: 'Node is a Docker engine that Gouvernail runs Pods on.',
  LimitRange: "LimitRange sets defaults, minimums and maximums of containers' resources in a namespace.",
  ResourceQuota: 'ResourceQuota limits what a namespace may hold: counts of objects, and the CPU and memory its Pods request and limit.',
  ServiceAccount: 'ServiceAccount binds together a name, understood by users and programs, and a set of permissions.',
  Role: 'Role is a namespaced, logical grouping of PolicyRules that can be referenced as a unit by a RoleBinding.',
  ClusterRole: 'ClusterRole is a cluster level, logical grouping of PolicyRules that can be referenced as a unit by a RoleBinding or ClusterRoleBinding.',
  RoleBinding: 'RoleBinding references a role, but does not contain it; it grants its permissions in its namespace to the subjects.',
  ClusterRoleBinding: 'ClusterRoleBinding references a ClusterRole and grants its permissions across the cluster to the subjects.',
  SelfSubjectReview: 'SelfSubjectReview returns the user information the request was authenticated with.',
  SelfSubjectAccessReview: 'SelfSubjectAccessReview checks whether the current user can perform an action.',
  SelfSubjectRulesReview: 'SelfSubjectRulesReview lists the actions the current user can perform in a namespace.',
  ReplicaSet: 'ReplicaSet ensures that a specified number of pod replicas are running at any given time.',
  ReplicationController: 'ReplicationController keeps a number of Pod replicas running; the older form of a ReplicaSet, with an equality selector.',
  StatefulSet: 'StatefulSet runs Pods with stable names (NAME-0, NAME-1...), stable DNS names and one volume each, started and updated in order.',
  DaemonSet: 'DaemonSet runs one Pod on every node that its template may be scheduled to.',
  Job: 'Job runs Pods until a number of them complete successfully.',
  CronJob: 'CronJob creates Jobs on a time-based schedule.',
  StorageClass: 'StorageClass describes a kind of storage: gouvernail.io/local-volume provisions a Docker volume for each claim.',
  PersistentVolume: 'PersistentVolume is a piece of storage: a Docker volume provisioned for a claim, or a folder of a node (hostPath, local) written by hand.',
  PodDisruptionBudget: 'PodDisruptionBudget limits how many of the Pods it selects may be evicted at once (kubectl drain): minAvailable or maxUnavailable.',
  HorizontalPodAutoscaler: "HorizontalPodAutoscaler scales a workload's replicas on the CPU and memory its Pods use, as Docker stats measure them.",
  Endpoints: "Endpoints lists a Service's addresses: its ready Pods', kept by the endpoints controller, or those written by hand for a Service without a selector.",
  EndpointSlice: "EndpointSlice lists a Service's endpoints with their conditions, kept by the endpoint slice controller.",
  Ingress: "Ingress routes HTTP and HTTPS by host and path to Services, served on every node's ports 80 and 443.",
  IngressClass: 'IngressClass names the controller that serves the Ingresses of this class.',
  NetworkPolicy: "NetworkPolicy says which traffic the Pods it selects accept (ingress) and send (egress), enforced by each node's iptables.",
  Event: 'Event is a report of an event somewhere in the cluster.',
  ControllerRevision: "ControllerRevision is one revision of a StatefulSet's or DaemonSet's Pod template, kept by its controller for kubectl rollout history and undo.",
};

function kind(apiVersion: string, kind: string, plural: string, shortNames: string[], namespaced: boolean, body: Record<string, Schema | Field>, name = dnsSubdomain, known: string[] = []): KindInfo {
  const common = {
    apiVersion: req(describe(str(), 'APIVersion defines the versioned schema of this representation of an object.')),
    kind: req(describe(str(), 'Kind is a string value representing the REST resource this object represents.')),
    metadata: req(describe(metadata(name, namespaced), "Standard object's metadata.")),
    status: any,
  };
  return { apiVersion, kind, plural, shortNames, namespaced, schema: describe(obj({ ...common, ...body }, false, known), kindDescriptions[kind] ?? kind) };
}

/** The kinds a manifest may contain. Node and Event exist too, but Gouvernail makes them. */
export const manifestKinds: KindInfo[] = [
  kind('v1', 'Namespace', 'namespaces', ['ns'], false, { spec: any }, dnsLabel),
  kind('v1', 'Secret', 'secrets', [], true, { type: str(), data: map(str(), configMapKey), stringData: map(str(), configMapKey), immutable: bool }),
  kind('v1', 'ConfigMap', 'configmaps', ['cm'], true, { data: map(str(), configMapKey), binaryData: map(str(), configMapKey), immutable: bool }),
  kind('v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', ['pvc'], true, { spec: req(pvcSpec) }),
  kind('v1', 'Service', 'services', ['svc'], true, { spec: req(serviceSpec) }, dns1035Label),
  kind('apps/v1', 'Deployment', 'deployments', ['deploy'], true, { spec: req(deploymentSpec) }),
  kind('apps/v1', 'ReplicaSet', 'replicasets', ['rs'], true, { spec: req(replicaSetSpec) }),
  kind('v1', 'ReplicationController', 'replicationcontrollers', ['rc'], true, { spec: req(replicationControllerSpec) }),
  kind('apps/v1', 'StatefulSet', 'statefulsets', ['sts'], true, { spec: req(statefulSetSpec) }),
  kind('apps/v1', 'DaemonSet', 'daemonsets', ['ds'], true, { spec: req(daemonSetSpec) }),
  kind('batch/v1', 'Job', 'jobs', [], true, { spec: req(jobSpec) }),
  kind('batch/v1', 'CronJob', 'cronjobs', ['cj'], true, { spec: req(cronJobSpec) }),
  kind('storage.k8s.io/v1', 'StorageClass', 'storageclasses', ['sc'], false, {
    provisioner: req(describe(str(), 'gouvernail.io/local-volume: a Docker volume on the node of the first Pod that uses the claim, as k3s\'s local-path provisions.')),
    reclaimPolicy: oneOf('Retain', 'Delete'),
    // Known, not acted on (warned where written): a claim is bound when a Pod first uses it or,
    // unused, by the control plane's node; local volumes take no parameters, options or expansion.
  }, dnsSubdomain, ['volumeBindingMode', 'parameters', 'mountOptions', 'allowVolumeExpansion', 'allowedTopologies']),
  kind('v1', 'PersistentVolume', 'persistentvolumes', ['pv'], false, { spec: req(persistentVolumeSpec) }),
  kind('policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets', ['pdb'], true, { spec: req(closed({ selector: req(labelSelector), minAvailable: percentOrInt, maxUnavailable: percentOrInt, unhealthyPodEvictionPolicy: oneOf('IfHealthyBudget', 'AlwaysAllow') })) }),
  kind('autoscaling/v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', ['hpa'], true, { spec: req(hpaSpec) }),
  kind('v1', 'Endpoints', 'endpoints', ['ep'], true, { subsets: arr(endpointSubset) }),
  kind('discovery.k8s.io/v1', 'EndpointSlice', 'endpointslices', [], true, { addressType: req(oneOf('IPv4', 'IPv6', 'FQDN')), endpoints: req(arr(sliceEndpoint)), ports: arr(closed({ name: str(), port: int(1, 65535), protocol: oneOf('TCP', 'UDP', 'SCTP'), appProtocol: str() })) }),
  kind('networking.k8s.io/v1', 'Ingress', 'ingresses', ['ing'], true, { spec: req(ingressSpec) }),
  kind('networking.k8s.io/v1', 'IngressClass', 'ingressclasses', [], false, { spec: req(obj({ controller: req(describe(str(), 'gouvernail.io/ingress: served by the Ingress proxy of every node.')) }, false, ['parameters'])) }),
  kind('networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies', ['netpol'], true, { spec: req(networkPolicySpec) }),
  kind('v1', 'Pod', 'pods', ['po'], true, { spec: req(podSpec) }),
  kind('gouvernail.io/v1', 'Application', 'applications', ['app'], true, { spec: req(applicationSpec) }),
  kind('scheduling.k8s.io/v1', 'PriorityClass', 'priorityclasses', ['pc'], false, { value: req(int()), globalDefault: bool, description: str(), preemptionPolicy: oneOf('PreemptLowerPriority', 'Never') }),
  // Leases: the nodes' heartbeats (kube-node-lease) and the leader election of programs in Pods (client-go's).
  kind('coordination.k8s.io/v1', 'Lease', 'leases', [], true, { spec: closed({ holderIdentity: str(), leaseDurationSeconds: int(1), acquireTime: str(), renewTime: str(), leaseTransitions: int(0), strategy: str(), preferredHolder: str() }) }),
  kind('v1', 'LimitRange', 'limitranges', ['limits'], true, { spec: req(closed({ limits: req(arr(obj({ type: req(oneOf('Container', 'Pod')), default: resourceList, defaultRequest: resourceList, max: resourceList, min: resourceList }, false, ['maxLimitRequestRatio']))) })) }),
  kind('v1', 'ResourceQuota', 'resourcequotas', ['quota'], true, { spec: req(obj({ hard: req(map(quantity)) }, false, ['scopes', 'scopeSelector'])) }),
  kind('v1', 'ServiceAccount', 'serviceaccounts', ['sa'], true, { secrets: any, imagePullSecrets: arr(closed({ name: req(str()) })), automountServiceAccountToken: bool }),
  kind('rbac.authorization.k8s.io/v1', 'Role', 'roles', [], true, { rules: arr(policyRule) }, pathSegmentName),
  kind('rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', [], false, { rules: arr(policyRule), aggregationRule }, pathSegmentName),
  kind('rbac.authorization.k8s.io/v1', 'RoleBinding', 'rolebindings', [], true, { roleRef: req(roleRef), subjects: arr(subject) }, pathSegmentName),
  kind('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', [], false, { roleRef: req(roleRef), subjects: arr(subject) }, pathSegmentName),
];


/**
 * Older versions Kubernetes still serves of a kind stored in a newer one: a manifest or a request
 * may use them, and each is converted to the stored version (src/manifest/older-versions.ts).
 */
export const olderKindVersions: KindInfo[] = [
  kind('autoscaling/v1', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', ['hpa'], true, { spec: req(hpaV1Spec) }),
];

/** Kinds the API serves that Gouvernail's own components write; a manifest cannot hold them yet. */
export const systemKinds: KindInfo[] = [
  kind('v1', 'Node', 'nodes', ['no'], false, { spec: any }),
  kind('authentication.k8s.io/v1', 'SelfSubjectReview', 'selfsubjectreviews', [], false, { status: any }),
  kind('authorization.k8s.io/v1', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews', [], false, { spec: req(obj({ resourceAttributes: obj({ namespace: str(), verb: str(), group: str(), version: str(), resource: str(), subresource: str(), name: str() }), nonResourceAttributes: obj({ path: str(), verb: str() }) })) }),
  kind('authorization.k8s.io/v1', 'SelfSubjectRulesReview', 'selfsubjectrulesreviews', [], false, { spec: req(obj({ namespace: str() })) }),
  // The metrics API (metrics-server's), read by kubectl top: answered from Docker's stats, never stored.
  kind('metrics.k8s.io/v1beta1', 'PodMetrics', 'pods', [], true, { timestamp: any, window: any, containers: any }),
  kind('metrics.k8s.io/v1beta1', 'NodeMetrics', 'nodes', [], false, { timestamp: any, window: any, usage: any }),
  // The history of StatefulSets and DaemonSets, written by their controllers.
  kind('apps/v1', 'ControllerRevision', 'controllerrevisions', [], true, { data: describe({ t: 'any' }, 'The strategic merge patch that puts this revision\'s Pod template back (what kubectl rollout undo sends).'), revision: req(describe(int(), 'The order of this revision among its owner\'s; an undone template is numbered last again.')) }),
  kind('v1', 'Event', 'events', ['ev'], true, { involvedObject: any, reason: str(), message: str(), type: str(), source: any, count: int(), firstTimestamp: any, lastTimestamp: any, eventTime: any, reportingComponent: str(), reportingInstance: str(), action: str(), related: any, series: any }),
];

const byKind = new Map([...manifestKinds, ...systemKinds].map((k) => [k.kind, k]));

export function kindInfo(kind: string): KindInfo | undefined {
  return byKind.get(kind);
}

let manifestKindNames: Set<string> | undefined;

export function isManifestKind(kind: string): boolean {
  manifestKindNames ??= new Set(manifestKinds.map((k) => k.kind));
  return manifestKindNames.has(kind);
}

export function isNamespaced(kind: string): boolean {
  return byKind.get(kind)?.namespaced ?? true;
}
