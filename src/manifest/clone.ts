/** Deep copy of a JSON-shaped object; faster than structuredClone for the plain data manifests are. */
export function cloneJson<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}
