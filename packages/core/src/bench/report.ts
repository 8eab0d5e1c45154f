/** Bench output: a Markdown table for the terminal and README, and JSON under `bench/results/`. */
import type {BenchRow} from './harness';

const fmt = (x: number | null, digits = 2) =>
    x === null ? '-' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(digits);

/** `12.3 (11.9-13.1, 3 reps)` when the suite was repeated, else `12.3`. */
export function medianWithSpread(r: BenchRow): string {
  const reps = r.repetitionMs;
  if (r.medianMs === null || reps === undefined || reps.length < 2) return fmt(r.medianMs);
  return `${fmt(r.medianMs)} (${fmt(Math.min(...reps))}-${fmt(Math.max(...reps))}, ${reps.length} reps)`;
}

/**
 * Markdown table of rows: median ms (with the spread over repetitions), GFLOP/s, GB/s, speed-up against the
 * case's baseline, peak MB (tfjs tensors + SIMD kernels' own memory, the latter also shown on its own).
 */
export function markdownTable(rows: BenchRow[]): string {
  const header = '| op | backend | size | variant | median ms | GFLOP/s | GB/s | speed-up | peak MB | of which kernel MB |\n' +
      '|---|---|---|---|---:|---:|---:|---:|---:|---:|';
  const lines = rows.map((r) => {
    const speed = r.error && r.medianMs === null ? `error: ${r.error}` : r.baseline ? 'baseline' : `${fmt(r.speedup)}x`;
    return `| ${r.op} | ${r.backend} | ${r.size} | ${r.variant} | ${medianWithSpread(r)} | ${fmt(r.gflops)} | ` +
        `${fmt(r.gbps)} | ${speed} | ${fmt(r.peakMB, 1)} | ${r.kernelPeakMB == null ? '-' : fmt(r.kernelPeakMB, 1)} |`;
  });
  return [header, ...lines].join('\n');
}

export interface BenchMeta {
  /** Suite name; the JSON file is `bench/results/<suite>.json`. */
  suite: string;
  /** Machine description (cores, CPU model, GPU adapter); emulated devices say so. */
  machine: string;
  date?: string;
  notes?: string[];
}

/** Writes `<dir>/<suite>.json` (rows + meta) and `<dir>/<suite>.md`; returns the Markdown. Node only. */
export async function writeResults(dir: string, meta: BenchMeta, rows: BenchRow[]): Promise<string> {
  const fs = await import('fs');
  const path = await import('path');
  fs.mkdirSync(dir, {recursive: true});
  const date = meta.date ?? new Date().toISOString();
  fs.writeFileSync(path.join(dir, `${meta.suite}.json`), JSON.stringify({...meta, date, rows}, null, 2) + '\n');
  const md = `### ${meta.suite}\n\n${meta.machine}, ${date.slice(0, 10)}\n\n${markdownTable(rows)}\n` +
      (meta.notes?.length ? '\n' + meta.notes.map((n) => `- ${n}`).join('\n') + '\n' : '');
  fs.writeFileSync(path.join(dir, `${meta.suite}.md`), md);
  return md;
}

/** One line describing this machine for result tables (Node). */
export async function machineDescription(): Promise<string> {
  const os = await import('os');
  const cpus = os.cpus();
  return `${cpus.length} x ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
      `Node ${process.version}`;
}
