/**
 * Pod IPs on loopback. Linux routes all of 127.0.0.0/8 to `lo`, so every pod can have its own address and several
 * pods can listen on the same port. Each executor claims a /24 (127.0.N.0) through a lock file, so executors in
 * parallel test processes never hand out the same address.
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const lockDir = join(tmpdir(), 'loadlm-pod-ip-blocks');

export class IpPool {
  private readonly inUse = new Set<string>();
  private next = 2;

  readonly block: number;
  private readonly lockFile: string;

  private constructor(block: number, lockFile: string) {
    this.block = block;
    this.lockFile = lockFile;
  }

  /** Claims the lowest free block, starting at 127.0.0.0/24 (pods get 127.0.N.2 – 127.0.N.254). */
  static claim(): IpPool {
    mkdirSync(lockDir, { recursive: true });
    for (let block = 0; block < 256; block++) {
      const lockFile = join(lockDir, `${block}.lock`);
      if (tryLock(lockFile)) return new IpPool(block, lockFile);
    }
    throw new Error(`no free pod IP block: all 256 locks in ${lockDir} are held by live processes`);
  }

  allocate(): string {
    for (let tries = 0; tries < 253; tries++) {
      const ip = `127.0.${this.block}.${this.next}`;
      this.next = this.next >= 254 ? 2 : this.next + 1;
      if (!this.inUse.has(ip)) {
        this.inUse.add(ip);
        return ip;
      }
    }
    throw new Error(`pod IP block 127.0.${this.block}.0/24 is exhausted (253 live pods)`);
  }

  release(ip: string): void {
    this.inUse.delete(ip);
  }

  close(): void {
    try {
      unlinkSync(this.lockFile);
    } catch {
      // Already gone.
    }
  }
}

function tryLock(lockFile: string): boolean {
  try {
    writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    // Held: take it over only if its owner is dead.
    let owner = 0;
    try {
      owner = Number(readFileSync(lockFile, 'utf8').trim());
    } catch {
      return false;
    }
    if (owner && (owner === process.pid || isAlive(owner))) return false;
    try {
      unlinkSync(lockFile);
      writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return true;
    } catch {
      return false;
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
