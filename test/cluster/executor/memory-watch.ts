/**
 * Memory limits, enforced the way the kernel's cgroup OOM killer would from the outside: the resident memory of a
 * container's process group is sampled and the group is killed once it exceeds the limit.
 */
import { groupResidentBytes } from './process.ts';

const sampleIntervalMs = 250;

export class MemoryWatch {
  private readonly watched = new Map<number, { limitBytes: number; onExceeded: () => void }>();
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;

  add(pgid: number, limitBytes: number, onExceeded: () => void): void {
    this.watched.set(pgid, { limitBytes, onExceeded });
    this.timer ??= setInterval(() => void this.sample(), sampleIntervalMs);
  }

  remove(pgid: number): void {
    this.watched.delete(pgid);
    if (this.watched.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const usage = await groupResidentBytes(new Set(this.watched.keys()));
      for (const [pgid, bytes] of usage) {
        const entry = this.watched.get(pgid);
        if (entry && bytes > entry.limitBytes) {
          this.watched.delete(pgid);
          entry.onExceeded();
        }
      }
    } finally {
      this.sampling = false;
    }
  }
}
