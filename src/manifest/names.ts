const label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const label1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const qualifiedName = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const configKey = /^[-._a-zA-Z0-9]+$/;
const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function dnsLabel(v: string): string | undefined {
  if (v.length > 63) return 'must be at most 63 characters';
  if (!label.test(v)) return 'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit';
  return undefined;
}

export function dns1035Label(v: string): string | undefined {
  if (v.length > 63) return 'must be at most 63 characters';
  if (!label1035.test(v)) return 'must be a DNS-1035 label: lowercase letters, digits and "-", starting with a letter';
  return undefined;
}

/** RBAC objects' names: any path segment (system:kube-scheduler is one), as Kubernetes allows. */
export function pathSegmentName(v: string): string | undefined {
  if (v === '' || v === '.' || v === '..' || /[/%]/.test(v)) return 'must be a path segment: not empty, not "." or "..", without "/" or "%"';
  return undefined;
}

export function dnsSubdomain(v: string): string | undefined {
  if (v.length > 253) return 'must be at most 253 characters';
  if (!subdomain.test(v)) {
    return 'must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit';
  }
  return undefined;
}

export function labelKey(k: string): string | undefined {
  const slash = k.lastIndexOf('/');
  const prefix = slash >= 0 ? k.slice(0, slash) : undefined;
  const name = slash >= 0 ? k.slice(slash + 1) : k;
  if (prefix !== undefined && (prefix === '' || dnsSubdomain(prefix))) return 'prefix must be a DNS-1123 subdomain';
  if (name.length === 0 || name.length > 63 || !qualifiedName.test(name)) {
    return 'name part must be 1-63 characters: letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
  }
  return undefined;
}

export function labelValue(v: string): string | undefined {
  if (v === '') return undefined;
  if (v.length > 63 || !qualifiedName.test(v)) {
    return 'must be at most 63 characters: letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
  }
  return undefined;
}

export function portName(v: string): string | undefined {
  if (v.length > 15 || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(v) || v.includes('--') || !/[a-z]/.test(v)) {
    return 'must be an IANA service name: at most 15 lowercase letters, digits and "-", with at least one letter';
  }
  return undefined;
}

export function configMapKey(k: string): string | undefined {
  if (k.length > 253 || !configKey.test(k) || k === '.' || k === '..') return 'must be letters, digits, "-", "_" or "."';
  return undefined;
}

/** A Go-style duration such as 30s, 3m or 1h30m; returns milliseconds, or undefined if invalid. */
export function parseDuration(v: string): number | undefined {
  const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(v);
  if (!m || v === '') return undefined;
  const [, h, min, s, ms] = m;
  return ((Number(h ?? 0) * 60 + Number(min ?? 0)) * 60 + Number(s ?? 0)) * 1000 + Number(ms ?? 0);
}
