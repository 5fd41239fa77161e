import type Docker from 'dockerode';

export interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type: 'RuntimeDefault' | 'Unconfined' | 'Localhost'; localhostProfile?: string };
}

export interface PodSecurityContext extends Pick<SecurityContext, 'runAsUser' | 'runAsGroup' | 'runAsNonRoot' | 'seccompProfile'> {
  fsGroup?: number;
  supplementalGroups?: number[];
}

export interface ContainerSecurity {
  user?: string;
  hostConfig: Partial<Docker.HostConfig>;
  /** runAsNonRoot without a user: the image's user must be checked before the container starts. */
  checkImageUser: boolean;
  /** Why the container must not start (runAsNonRoot with runAsUser 0). */
  refusal?: string;
}

const capability = (c: string) => c.toUpperCase().replace(/^CAP_/, '');

/**
 * A container's securityContext, over its Pod's, as Docker does it: User uid:gid, GroupAdd for
 * fsGroup and supplementalGroups, ReadonlyRootfs, CapAdd and CapDrop, Privileged, and SecurityOpt
 * no-new-privileges and seccomp=unconfined. Pure.
 */
export function containerSecurity(pod: PodSecurityContext | undefined, container: SecurityContext | undefined): ContainerSecurity {
  const p = pod ?? {};
  const c = container ?? {};
  const uid = c.runAsUser ?? p.runAsUser;
  const gid = c.runAsGroup ?? p.runAsGroup;
  const nonRoot = c.runAsNonRoot ?? p.runAsNonRoot ?? false;
  const seccomp = c.seccompProfile ?? p.seccompProfile;
  const hostConfig: Partial<Docker.HostConfig> = {};
  const groups = [...(p.supplementalGroups ?? []), ...(p.fsGroup !== undefined ? [p.fsGroup] : [])].map(String);
  if (groups.length) hostConfig.GroupAdd = [...new Set(groups)];
  if (c.readOnlyRootFilesystem) hostConfig.ReadonlyRootfs = true;
  if (c.privileged) hostConfig.Privileged = true;
  if (c.capabilities?.add?.length) hostConfig.CapAdd = c.capabilities.add.map(capability);
  if (c.capabilities?.drop?.length) hostConfig.CapDrop = c.capabilities.drop.map(capability);
  const securityOpt: string[] = [];
  if (c.allowPrivilegeEscalation === false) securityOpt.push('no-new-privileges');
  if (seccomp?.type === 'Unconfined') securityOpt.push('seccomp=unconfined');
  if (securityOpt.length) hostConfig.SecurityOpt = securityOpt;
  return {
    user: uid !== undefined ? `${uid}${gid !== undefined ? `:${gid}` : ''}` : gid !== undefined ? `0:${gid}` : undefined,
    hostConfig,
    checkImageUser: nonRoot && uid === undefined,
    refusal: nonRoot && uid === 0 ? 'runAsNonRoot is true but runAsUser is 0 (root); set a non-zero runAsUser' : undefined,
  };
}

/** Whether an image's configured user (Config.User) runs as root. */
export function imageUserIsRoot(user: string | undefined): boolean {
  const name = (user ?? '').split(':')[0]!;
  return name === '' || name === '0' || name === 'root';
}
