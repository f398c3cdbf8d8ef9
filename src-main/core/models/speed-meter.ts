// Download speed for the progress events (bytes per second and the ETA derived from it).

/** Throughput over a sliding window of about 5 s (for speed and ETA), one sample per 100 ms. */
export class SpeedMeter {
  private samples: { t: number; bytes: number }[] = [];
  private total = 0;

  add(bytes: number, now: number): void {
    this.total += bytes;
    const last = this.samples[this.samples.length - 1];
    if (last && now - last.t < 100) {
      last.bytes = this.total;
      return;
    }
    this.samples.push({ t: now, bytes: this.total });
    const cutoff = now - 5000;
    while (this.samples.length > 2 && this.samples[0]!.t < cutoff) this.samples.shift();
  }

  rate(now: number): number {
    if (this.samples.length === 0) return 0;
    const first = this.samples[0]!;
    const last = this.samples[this.samples.length - 1]!;
    // Idle for a while: speed decays to zero.
    if (now - last.t > 3000) return 0;
    const span = Math.max(now - first.t, 250);
    return ((last.bytes - first.bytes) / span) * 1000;
  }
}
