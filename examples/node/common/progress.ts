/**
 * A one-line progress bar redrawn in place on a terminal (a line every 10% otherwise, e.g. in CI logs):
 * `[#####-----] 50/100  2.1 it/s  eta 24s  loss 2.31`.
 *
 * @example
 * ```ts
 * const bar = new ProgressBar(steps, {startAt: resumedStep});
 * for (let s = resumedStep + 1; s <= steps; s++) { ...; bar.update(s, `loss ${loss.toFixed(3)}`); }
 * ```
 */
export class ProgressBar {
  private readonly start = performance.now();
  private readonly startAt: number;
  private readonly width: number;
  private lastLogged = -1;

  /** `startAt`: steps already done before this run (resumed runs), so the rate counts this run only. */
  constructor(private readonly total: number, {width = 30, startAt = 0} = {}) {
    this.width = width;
    this.startAt = startAt;
  }

  update(done: number, suffix = ''): void {
    const filled = Math.round((Math.min(done, this.total) / Math.max(this.total, 1)) * this.width);
    const seconds = (performance.now() - this.start) / 1000;
    const rate = (done - this.startAt) / Math.max(seconds, 1e-9);
    const eta = rate > 0 ? (this.total - done) / rate : 0;
    const line = `[${'#'.repeat(filled)}${'-'.repeat(this.width - filled)}] ${done}/${this.total}  ` +
        `${rate.toFixed(2)} it/s  eta ${formatSeconds(eta)}  ${suffix}`;
    if (process.stdout.isTTY) {
      process.stdout.write(`\r${line}\x1b[K`);
      if (done >= this.total) process.stdout.write('\n');
      return;
    }
    const decile = Math.floor((10 * done) / Math.max(this.total, 1));
    if (decile !== this.lastLogged || done >= this.total) {
      this.lastLogged = decile;
      console.log(line);
    }
  }
}

function formatSeconds(s: number): string {
  if (s < 120) return `${s.toFixed(0)}s`;
  if (s < 7200) return `${(s / 60).toFixed(1)}min`;
  return `${(s / 3600).toFixed(1)}h`;
}
