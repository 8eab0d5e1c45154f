/**
 * Benchmark harness: a baseline and its candidates measured in the same process on the same inputs, medians
 * over repeated runs after warm-up, ratios to the baseline, GFLOP/s or GB/s, and peak tensor memory.
 */
import * as tf from '@tensorflow/tfjs';

type Output = tf.TensorContainer | void;

/** One way of computing the case (the composite baseline, our kernel, a peer library, ...). */
export interface BenchVariant {
  name: string;
  /** Produces the result; tensors returned are read back (sync point for async backends) and disposed. */
  run: () => Output | Promise<Output>;
  /** Peak bytes of memory outside tfjs tensors (peer libraries), measured by the variant itself. */
  peakBytes?: () => number | undefined;
}

export interface BenchCase {
  /** What is measured, e.g. `flashAttention fwd causal`. */
  op: string;
  /** Size label shown in the table, e.g. `N=1024`. */
  size: string;
  /** Floating-point operations of one run (for GFLOP/s). */
  flops?: number;
  /** Bytes that must be moved by one run (for GB/s). */
  bytes?: number;
  baseline: BenchVariant;
  candidates: BenchVariant[];
}

export interface BenchOptions {
  warmup?: number;
  repeats?: number;
  /** Stop repeating once this much time was spent on a variant (after at least 3 runs). */
  maxMsPerVariant?: number;
}

export interface BenchRow {
  op: string;
  backend: string;
  size: string;
  variant: string;
  baseline: boolean;
  medianMs: number | null;
  minMs: number | null;
  runs: number;
  gflops: number | null;
  gbps: number | null;
  /** Baseline median / this variant's median (> 1: faster than the baseline). */
  speedup: number | null;
  peakMB: number | null;
  error?: string;
}

async function settle(out: Output): Promise<void> {
  const tensors: tf.Tensor[] = [];
  const collect = (c: unknown) => {
    if (c instanceof tf.Tensor) tensors.push(c);
    else if (Array.isArray(c)) c.forEach(collect);
    else if (c !== null && typeof c === 'object') Object.values(c).forEach(collect);
  };
  collect(out);
  // Reading every output is the sync point that makes async backends (webgpu) finish the work.
  await Promise.all(tensors.map((t) => t.data()));
  tf.dispose(tensors);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Times one variant: warm-up, then `repeats` timed runs; peak tensor bytes from one profiled run. */
export async function measureVariant(v: BenchVariant, opts: BenchOptions = {}):
    Promise<{medianMs: number; minMs: number; runs: number; peakBytes: number | undefined}> {
  const {warmup = 2, repeats = 7, maxMsPerVariant = 20000} = opts;
  for (let i = 0; i < warmup; i++) await settle(await v.run());
  const samples: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await settle(await v.run());
    samples.push(performance.now() - start);
    if (samples.length >= 3 && performance.now() - t0 > maxMsPerVariant) break;
  }
  let peakBytes = v.peakBytes?.();
  if (peakBytes === undefined) {
    const before = tf.memory().numBytes;
    let out: Output;
    const info = await tf.profile(async () => {
      out = await v.run();
      await settle(out);
    });
    peakBytes = Math.max(0, info.peakBytes - before);
  }
  return {medianMs: median(samples), minMs: Math.min(...samples), runs: samples.length, peakBytes};
}

/**
 * Runs a case on the active backend: baseline first, then each candidate, all in this process.
 *
 * @example
 * ```ts
 * const rows = await runCase({op: 'matMul', size: 'N=512', flops: 2 * 512 ** 3,
 *   baseline: {name: 'tf.matMul', run: () => tf.matMul(a, b)}, candidates: []});
 * ```
 */
export async function runCase(c: BenchCase, opts: BenchOptions = {}): Promise<BenchRow[]> {
  const backend = tf.getBackend();
  const rows: BenchRow[] = [];
  let baseMs: number | null = null;
  for (const [i, v] of [c.baseline, ...c.candidates].entries()) {
    const row: BenchRow = {op: c.op, backend, size: c.size, variant: v.name, baseline: i === 0, medianMs: null,
                           minMs: null, runs: 0, gflops: null, gbps: null, speedup: null, peakMB: null};
    try {
      const m = await measureVariant(v, opts);
      row.medianMs = m.medianMs;
      row.minMs = m.minMs;
      row.runs = m.runs;
      row.peakMB = m.peakBytes === undefined ? null : m.peakBytes / 2 ** 20;
      if (c.flops !== undefined) row.gflops = c.flops / (m.medianMs * 1e6);
      if (c.bytes !== undefined) row.gbps = c.bytes / (m.medianMs * 1e6);
      if (i === 0) baseMs = m.medianMs;
      if (baseMs !== null) row.speedup = baseMs / m.medianMs;
    } catch (e) {
      row.error = (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 120);
    }
    rows.push(row);
  }
  return rows;
}
