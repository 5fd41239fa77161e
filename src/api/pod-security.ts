import path from 'node:path';

/**
 * Pod Security Standards, as Kubernetes' Pod Security Admission checks them, on a Pod spec. Pure:
 * the violations of a level, each with the control it breaks and where.
 */
export type Level = 'privileged' | 'baseline' | 'restricted';

export interface Violation {
  control: string;
  detail: string;
}

const baselineCapabilities = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);
const safeSysctls = new Set(['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes']);
const restrictedVolumes = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);

const capability = (c: string) => c.toUpperCase().replace(/^CAP_/, '');

/** A host path as the kernel will resolve it: `//`, `/.` and `..` folded (`/var/run/../run` is `/var/run`). */
export function normaliseHostPath(p: string): string {
  return path.posix.normalize(`/${p}`).replace(/\/+$/, '') || '/';
}

interface Options {
  /** hostPorts the namespace allows (annotation gouvernail.io/allowed-host-ports). */
  allowedHostPorts?: number[];
}

/** The violations of `level` in a Pod spec (none for privileged). */
export function checkPodSecurity(spec: any, level: Level, options: Options = {}): Violation[] {
  if (level === 'privileged' || !spec) return [];
  const out: Violation[] = [];
  const add = (control: string, detail: string) => out.push({ control, detail });
  const containers: { kind: string; c: any }[] = [...(spec.initContainers ?? []).map((c: any) => ({ kind: 'initContainer', c })), ...(spec.containers ?? []).map((c: any) => ({ kind: 'container', c })), ...(spec.ephemeralContainers ?? []).map((c: any) => ({ kind: 'ephemeralContainer', c }))];
  const podSc = spec.securityContext ?? {};

  const hostNs = ['hostNetwork', 'hostPID', 'hostIPC'].filter((f) => spec[f] === true);
  if (hostNs.length) add('host namespaces', `${hostNs.map((f) => `${f}=true`).join(', ')}`);
  for (const { kind, c } of containers) {
    if (c.securityContext?.privileged) add('privileged', `${kind} "${c.name}" must not set securityContext.privileged=true`);
    const extra = (c.securityContext?.capabilities?.add ?? []).map(capability).filter((x: string) => !baselineCapabilities.has(x));
    if (extra.length) add('non-default capabilities', `${kind} "${c.name}" must not include ${extra.map((x: string) => `"${x}"`).join(', ')} in securityContext.capabilities.add`);
    const ports = (c.ports ?? []).map((p: any) => p.hostPort).filter((p: number | undefined) => p && !(options.allowedHostPorts ?? []).includes(p));
    if (ports.length) add('hostPort', `${kind} "${c.name}" uses hostPort ${ports.join(', ')} (allowed in this namespace: ${options.allowedHostPorts?.length ? options.allowedHostPorts.join(', ') : 'none'}; list them in the namespace annotation gouvernail.io/allowed-host-ports)`);
    const proc = c.securityContext?.procMount;
    if (proc && proc !== 'Default') add('procMount', `${kind} "${c.name}" must not set securityContext.procMount=${proc}`);
    if (c.securityContext?.seccompProfile?.type === 'Unconfined') add('seccompProfile', `${kind} "${c.name}" must not set securityContext.seccompProfile.type to "Unconfined"`);
    if (c.securityContext?.appArmorProfile?.type === 'Unconfined') add('appArmorProfile', `${kind} "${c.name}" must not set securityContext.appArmorProfile.type to "Unconfined"`);
  }
  for (const v of spec.volumes ?? []) {
    if (v.hostPath) add('hostPath volumes', `volume "${v.name}" mounts the host's ${normaliseHostPath(String(v.hostPath.path ?? ''))}`);
  }
  if (podSc.seccompProfile?.type === 'Unconfined') add('seccompProfile', 'pod must not set securityContext.seccompProfile.type to "Unconfined"');
  const unsafe = (podSc.sysctls ?? []).map((s: any) => s.name).filter((n: string) => !safeSysctls.has(n));
  if (unsafe.length) add('forbidden sysctls', unsafe.join(', '));
  if (level === 'baseline') return out;

  for (const v of spec.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (type && !restrictedVolumes.has(type) && type !== 'hostPath') add('restricted volume types', `volume "${v.name}" uses restricted volume type "${type}"`);
  }
  for (const { kind, c } of containers) {
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) add('allowPrivilegeEscalation != false', `${kind} "${c.name}" must set securityContext.allowPrivilegeEscalation=false`);
    const drop = (sc.capabilities?.drop ?? []).map(capability);
    if (!drop.includes('ALL')) add('unrestricted capabilities', `${kind} "${c.name}" must set securityContext.capabilities.drop=["ALL"]`);
    const added = (sc.capabilities?.add ?? []).map(capability).filter((x: string) => x !== 'NET_BIND_SERVICE');
    if (added.length) add('unrestricted capabilities', `${kind} "${c.name}" must not include ${added.map((x: string) => `"${x}"`).join(', ')} in securityContext.capabilities.add`);
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) add('runAsNonRoot != true', `${kind} "${c.name}" must set securityContext.runAsNonRoot=true`);
    if ((sc.runAsUser ?? podSc.runAsUser) === 0) add('runAsUser=0', `${kind} "${c.name}" must not set runAsUser=0`);
    const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') add('seccompProfile', `${kind} "${c.name}" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`);
  }
  return out;
}

/** Kubernetes' wording: `violates PodSecurity "baseline:latest": privileged (container "c" must not ...), ...`. */
export function describeViolations(level: Level, violations: Violation[]): string {
  const byControl = new Map<string, string[]>();
  for (const v of violations) byControl.set(v.control, [...(byControl.get(v.control) ?? []), v.detail]);
  return `PodSecurity "${level}:latest": ${[...byControl].map(([control, details]) => `${control} (${details.join('; ')})`).join(', ')}`;
}
