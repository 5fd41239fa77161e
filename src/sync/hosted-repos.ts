import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/**
 * The Git repositories Gouvernail serves for Applications with `source.hosted: true`, one bare
 * repository per Application under `<data-dir>/repos/NAMESPACE/NAME.git`: push to deploy.
 */
export class HostedRepos {
  constructor(readonly root: string) {}

  dir(namespace: string, name: string): string {
    return path.join(this.root, namespace, `${name}.git`);
  }

  ensure(namespace: string, name: string): string {
    const dir = this.dir(namespace, name);
    if (!existsSync(path.join(dir, 'HEAD'))) {
      mkdirSync(dir, { recursive: true });
      execFileSync('git', ['init', '-q', '--bare', '-b', 'main', dir]);
    }
    return dir;
  }

  /** The path the server answers for an Application: /git/NAME.git (default namespace) or /git/NAMESPACE/NAME.git. */
  static urlPath(namespace: string, name: string): string {
    return namespace === 'default' ? `/git/${name}.git` : `/git/${namespace}/${name}.git`;
  }
}
