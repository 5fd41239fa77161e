import os from 'node:os';

/** What `docker info` says that a Node shows (dockerode's answer, the fields used). */
export interface EngineInfo {
  NCPU?: number;
  MemTotal?: number;
  ServerVersion?: string;
  OperatingSystem?: string;
  OSType?: string;
  KernelVersion?: string;
  Architecture?: string;
  Name?: string;
  ID?: string;
}

/** Pods a node takes, as kubelet's default maxPods. */
export const maxPods = 110;

function arch(a: string | undefined): string {
  switch (a) {
    case 'x86_64':
    case 'x64':
      return 'amd64';
    case 'aarch64':
    case 'arm64':
      return 'arm64';
    default:
      return a ?? 'unknown';
  }
}

/** The labels kubelet puts on its Node, and the role Gouvernail was told. */
export function nodeLabels(name: string, role: 'control-plane' | 'worker', info: EngineInfo | undefined, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': info?.OSType ?? 'linux',
    'kubernetes.io/arch': arch(info?.Architecture ?? process.arch),
    'beta.kubernetes.io/os': info?.OSType ?? 'linux',
    'beta.kubernetes.io/arch': arch(info?.Architecture ?? process.arch),
    [`node-role.kubernetes.io/${role}`]: '',
    ...extra,
  };
}

/** Capacity, allocatable and nodeInfo, from the engine's own account of itself. */
export function engineStatus(info: EngineInfo, kubeletVersion: string) {
  const memoryKi = `${Math.floor((info.MemTotal ?? 0) / 1024)}Ki`;
  const capacity = { cpu: String(info.NCPU ?? 1), memory: memoryKi, pods: String(maxPods) };
  return {
    capacity,
    allocatable: { ...capacity },
    nodeInfo: {
      machineID: info.ID ?? '',
      systemUUID: info.ID ?? '',
      bootID: '',
      containerRuntimeVersion: `docker://${info.ServerVersion ?? 'unknown'}`,
      kubeletVersion,
      kubeProxyVersion: kubeletVersion,
      operatingSystem: info.OSType ?? 'linux',
      architecture: arch(info.Architecture),
      osImage: info.OperatingSystem ?? '',
      kernelVersion: info.KernelVersion ?? '',
    },
  };
}

/** This host's address as other hosts see it: its first IPv4 that is not loopback nor a container bridge. */
export function hostAddress(): string {
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    if (/^(docker|br-|veth|lo)/.test(name)) continue;
    const v4 = (addrs ?? []).find((a) => a.family === 'IPv4' && !a.internal);
    if (v4) return v4.address;
  }
  return '127.0.0.1';
}

/** The Ready condition and the pressure conditions `kubectl describe node` lists. */
export function conditions(ready: { status: 'True' | 'False' | 'Unknown'; reason: string; message: string }, previous: Array<{ type: string; status: string; lastTransitionTime?: string }> | undefined, now: string) {
  const since = (type: string, status: string) => {
    const p = previous?.find((c) => c.type === type);
    return p && p.status === status && p.lastTransitionTime ? p.lastTransitionTime : now;
  };
  const pressure = (type: string, reason: string, message: string) => {
    const status = ready.status === 'True' ? 'False' : 'Unknown';
    return { type, status, reason: ready.status === 'True' ? reason : 'NodeStatusUnknown', message: ready.status === 'True' ? message : 'the Docker engine does not answer', lastHeartbeatTime: now, lastTransitionTime: since(type, status) };
  };
  return [
    pressure('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
    pressure('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    pressure('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
    { type: 'Ready', status: ready.status, reason: ready.reason, message: ready.message, lastHeartbeatTime: now, lastTransitionTime: since('Ready', ready.status) },
  ];
}
