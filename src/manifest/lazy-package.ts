import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A package loaded the first time it is used rather than when its importer is: the yaml package
 * and node-cron take about 40 and 30 ms to load, which a `gouvernail plan` or `validate` of plain
 * manifests (no anchors, no kustomization, no CronJob) would otherwise pay for nothing. Loaded
 * through `require`, so the call stays synchronous (both packages ship a CommonJS build).
 */
export function lazyPackage<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(name) as T);
}
