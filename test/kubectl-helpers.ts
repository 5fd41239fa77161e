import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { tempDir } from './helpers.js';

/**
 * The machine's kubectl: the `kubectl` on the PATH is a dispatcher that picks `kubectl.1.NN` by the
 * server's minor version; the versioned binaries sit beside it. Missing kubectl is an error, never
 * a skip.
 */
export function kubectlBinary(version?: string): string {
  let dispatcher: string;
  try {
    dispatcher = execFileSync('bash', ['-c', 'readlink -f "$(command -v kubectl)"'], { encoding: 'utf8' }).trim();
  } catch {
    dispatcher = '';
  }
  if (!dispatcher) throw new Error('kubectl is not on the PATH: these tests drive the real kubectl and cannot run without it');
  return version ? path.join(path.dirname(dispatcher), `kubectl.${version}`) : dispatcher;
}

export interface Kubectl {
  (args: string[], options?: { input?: string; env?: Record<string, string> }): Promise<{ code: number; out: string; err: string }>;
  /** A long-running kubectl (get -w): its output so far, and how to stop it. */
  spawn(args: string[]): { proc: ChildProcess; output: () => string };
}

/** kubectl of one version against one kubeconfig, with a HOME of its own (its discovery cache). */
export function kubectl(kubeconfig: string, version?: string): Kubectl {
  const bin = kubectlBinary(version);
  const env = { ...process.env, HOME: tempDir('gouvernail-kubectl-home-'), KUBECONFIG: kubeconfig };
  const run = ((args: string[], options: { input?: string; env?: Record<string, string> } = {}) =>
    new Promise((resolve) => {
      const child = execFile(bin, args, { env: { ...env, ...options.env }, timeout: 180_000, maxBuffer: 32 * 1024 * 1024 }, (err, out, errOut) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: String(out), err: String(errOut) });
      });
      if (options.input !== undefined) child.stdin!.end(options.input);
      else child.stdin!.end();
    })) as Kubectl;
  run.spawn = (args: string[]) => {
    const proc = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout!.on('data', (b) => (output += b));
    proc.stderr!.on('data', (b) => (output += b));
    return { proc, output: () => output };
  };
  return run;
}
