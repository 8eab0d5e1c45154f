/** Console helpers without dependencies: command-line flags, a progress bar, a text plot of a curve. */

/** `--name=value` flags with numeric or string defaults. */
export function parseFlags<T extends Record<string, number | string>>(defaults: T, argv = process.argv.slice(2)): T {
  const out: Record<string, number | string> = {...defaults};
  for (const arg of argv) {
    const m = /^--([^=]+)=(.*)$/.exec(arg);
    if (m === null || !(m[1] in defaults)) {
      const known = Object.entries(defaults).map(([k, v]) => `--${k}=${v}`).join(' ');
      throw new Error(`unknown argument '${arg}'; flags (with defaults): ${known}`);
    }
    out[m[1]] = typeof defaults[m[1]] === 'number' ? Number(m[2]) : m[2];
    if (Number.isNaN(out[m[1]])) throw new Error(`--${m[1]} expects a number, got '${m[2]}'`);
  }
  return out as T;
}

/** A one-line progress bar redrawn in place: `[#####-----] 50/100  2.1 it/s  eta 24s  loss 2.31`. */
export class ProgressBar {
  private readonly start = performance.now();
  constructor(private readonly total: number, private readonly width = 30) {}

  update(done: number, suffix = ''): void {
    const filled = Math.round((done / this.total) * this.width);
    const seconds = (performance.now() - this.start) / 1000;
    const rate = done / Math.max(seconds, 1e-9);
    const eta = rate > 0 ? (this.total - done) / rate : 0;
    const line = `[${'#'.repeat(filled)}${'-'.repeat(this.width - filled)}] ${done}/${this.total}  ` +
        `${rate.toFixed(2)} it/s  eta ${eta.toFixed(0)}s  ${suffix}`;
    if (process.stdout.isTTY) process.stdout.write(`\r${line}\x1b[K`);
    else if (done === this.total || done % Math.max(1, Math.round(this.total / 10)) === 0) console.log(line);
    if (done === this.total && process.stdout.isTTY) process.stdout.write('\n');
  }
}

/** A text plot of `ys` (averaged into `width` columns), `height` rows, y labels on the left. */
export function textPlot(ys: number[], {width = 60, height = 12, title = ''} = {}): string {
  const cols = Math.min(width, ys.length);
  const means = Array.from({length: cols}, (_, c) => {
    const lo = Math.floor((c * ys.length) / cols), hi = Math.floor(((c + 1) * ys.length) / cols);
    const bucket = ys.slice(lo, Math.max(hi, lo + 1));
    return bucket.reduce((a, y) => a + y, 0) / bucket.length;
  });
  const max = Math.max(...means), min = Math.min(...means);
  const span = max - min || 1;
  const rows: string[] = title ? [title] : [];
  for (let r = height - 1; r >= 0; r--) {
    const level = min + (span * r) / (height - 1);
    const line = means.map((m) => (Math.round(((m - min) / span) * (height - 1)) === r ? '*' : ' ')).join('');
    rows.push(`${level.toFixed(3).padStart(8)} |${line}`);
  }
  rows.push(`${' '.repeat(9)}+${'-'.repeat(cols)}`);
  rows.push(`${' '.repeat(10)}step 1${' '.repeat(Math.max(1, cols - 6 - String(ys.length).length - 5))}step ${ys.length}`);
  return rows.join('\n');
}
