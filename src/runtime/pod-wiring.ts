import type Docker from 'dockerode';
import type { Wiring } from '../network/wiring.js';
import { componentContainerName, execIn } from './node-network.js';

interface Request {
  wiring: Wiring;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Gives started Pod containers their addresses through the node's network component (its
 * component-wire program), as the kubelet calls its CNI plugin: requests that arrive while one call
 * runs go together in the next, so fifty Pods starting at once cost a few docker exec calls, not
 * fifty.
 */
export class PodWiring {
  private pending: Request[] = [];
  private running = false;

  constructor(private readonly o: { docker: Docker; installation: string; node: string }) {}

  wire(wiring: Wiring): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ wiring, resolve, reject });
      if (!this.running) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.running = true;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0);
      try {
        await execIn(this.o.docker, componentContainerName(this.o.installation), ['/usr/bin/node', '/app/dist/src/network/component-wire.js', JSON.stringify(batch.map((r) => r.wiring))]);
        for (const r of batch) r.resolve();
      } catch (err) {
        // One line per Pod that could not be wired; anything else failed the whole call.
        const output = (err as { output?: string }).output ?? '';
        const problems = new Map<string, string>();
        for (const line of output.split('\n')) {
          try {
            const p = JSON.parse(line) as { ip: string; problem: string };
            problems.set(p.ip, p.problem);
          } catch {
            // not one of the program's lines
          }
        }
        const whole = (err as { statusCode?: number }).statusCode === 404 ? `the node's network component is not running yet (kubectl describe pod -n kube-system gouvernail-network-${this.o.node} says why)` : (err as Error).message;
        for (const r of batch) {
          const problem = problems.size ? problems.get(r.wiring.ip ?? r.wiring.gateway) : whole;
          if (problem) r.reject(new Error(problem));
          else r.resolve();
        }
      }
    }
    this.running = false;
  }
}
