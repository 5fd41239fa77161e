import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * The service and Pod ranges of a test's data folder. Installations that run at once on this
 * host's engine must not share them: a Pod range held by one is refused to the other (its Pods stay
 * ContainerCreating), and a shared service range gives both the same cluster DNS address.
 *
 * A hash of the folder's path collided often enough to fail a CI run, so ranges are handed out:
 * each test process leases one of `processes` blocks (a folder under the system's temporary
 * folder, holding its pid; a dead process's block is taken over), and each data folder of that
 * process gets the next of its block's `perProcess` ranges, written into the folder so that a
 * restart of its serve keeps them.
 */
const processes = 8;
const perProcess = 16;
const leases = path.join(tmpdir(), 'gouvernail-test-range-leases');

export interface NetworkRanges {
  serviceRange: string;
  clusterCidr: string;
}

export function rangesFor(dataDir: string): NetworkRanges {
  const file = path.join(dataDir, '.test-network-ranges.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as NetworkRanges;
  } catch {
    const n = leasedBlock() * perProcess + (next++ % perProcess);
    // 128 ranges: a /24 of 10.97.0.0/17 for Services, a /18 of 10.32.0.0/11 for Pods. Both are
    // outside serve's defaults (10.96.0.0/16, 10.244.0.0/16): a test's serve on the defaults, run
    // beside, took 10.96.0.10 for its cluster DNS before the first block's component could.
    const ranges = { serviceRange: `10.97.${n}.0/24`, clusterCidr: `10.${32 + (n >> 2)}.${(n & 3) * 64}.0/18` };
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, JSON.stringify(ranges));
    return ranges;
  }
}

let next = 0;
let block: number | undefined;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** This process's block: a new lease, or one whose holder has died (taken over once, by one process). */
function leasedBlock(): number {
  if (block !== undefined) return block;
  mkdirSync(leases, { recursive: true });
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < processes; i++) {
      const dir = path.join(leases, String(i));
      const claim = () => {
        const tmp = path.join(dir, `pid.${process.pid}`);
        writeFileSync(tmp, String(process.pid));
        renameSync(tmp, path.join(dir, 'pid'));
        return (block = i);
      };
      try {
        mkdirSync(dir);
        return claim();
      } catch {
        // Held: taken over only when its holder is gone. Making the folder named for the dead
        // holder succeeds for one process alone.
        let holder: number;
        try {
          holder = Number(readFileSync(path.join(dir, 'pid'), 'utf8'));
        } catch {
          continue; // being claimed right now
        }
        if (holder === process.pid) return (block = i);
        if (!holder || alive(holder)) continue;
        try {
          mkdirSync(path.join(dir, `from-${holder}`));
        } catch {
          continue;
        }
        return claim();
      }
    }
  }
  throw new Error(`every one of the ${processes} network range leases under ${leases} is held by a running test process; remove the folders of those that are not tests`);
}
