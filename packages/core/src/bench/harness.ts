/**
 * Benchmark harness: a baseline and its candidates measured in the same process on the same inputs, medians
 * over repeated runs after warm-up, ratios to the baseline, GFLOP/s or GB/s, and peak memory (tfjs tensors plus
 * the SIMD modules' own linear memory).
 *
 * Fairness rule (TFJS-TRAPS.md): the timed region holds the variant's own work and the same O(1)-per-output sync
 * for everyone: each returned tensor is read back once (`data()`: the sync point of async backends) and disposed;
 * typed arrays a peer returns are already host memory and are not touched. Nothing walks an output element by
 * element inside a timed region.
 */
import * as tf from '@tensorflow/tfjs';
import {resetSimdPeaks, simdMemoryInfo} from '../simd';

type Output = tf.TensorContainer | void;

/** One way of computing the case (the composite baseline, our kernel, a peer library, ...). */
export interface BenchVariant {
  name: string;
  /**
   * Produces the result: tensors, typed arrays, or small arrays / plain objects of them. Tensors are read back
   * (sync point for async backends) and disposed; typed arrays are left alone (a peer's outputs).
   */
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
  /** Peak MB during one run: tfjs tensors plus `kernelPeakMB` (a peer's own `peakBytes` when it reports one). */
  peakMB: number | null;
  /** Of `peakMB`, the SIMD modules' own linear memory (own memory or the call's block on the tfjs heap). */
  kernelPeakMB?: number | null;
  /**
   * When the runner repeated the suite (`npm run bench -- --repeat=K`): this variant's median in each repetition;
   * `medianMs` is their median and `speedup` the median of the per-repetition ratios. Absent: one repetition.
   */
  repetitionMs?: number[];
  error?: string;
}

/** Containers larger than this are refused: walking them would be per-element work inside the timed region. */
const MAX_CONTAINER_ENTRIES = 64;

/**
 * The tensors in a variant's output. Typed arrays and other non-plain objects are leaves (never walked); arrays
 * and plain objects are walked, and refused when they hold more than 64 entries (return a typed array instead).
 */
export function outputTensors(out: unknown): tf.Tensor[] {
  const tensors: tf.Tensor[] = [];
  const collect = (c: unknown) => {
    if (c instanceof tf.Tensor) {
      tensors.push(c);
      return;
    }
    if (c === null || typeof c !== 'object') return;
    const proto = Object.getPrototypeOf(c);
    const entries = Array.isArray(c) ? c : proto === Object.prototype || proto === null ? Object.values(c) : null;
    if (entries === null) return;  // typed arrays, ArrayBuffers, peer objects: host data, nothing to wait for
    if (entries.length > MAX_CONTAINER_ENTRIES) {
      throw new Error(`bench: a variant returned a container of ${entries.length} entries; return tensors or typed ` +
                      'arrays (walking it would be per-element work inside the timed region)');
    }
    entries.forEach(collect);
  };
  collect(out);
  return tensors;
}

async function settle(out: Output): Promise<void> {
  const tensors = outputTensors(out);
  // Reading every output tensor once is the sync point that makes async backends (webgpu) finish the work.
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
    Promise<{medianMs: number; minMs: number; runs: number; peakBytes: number | undefined;
             kernelPeakBytes: number | undefined}> {
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
  let kernelPeakBytes: number | undefined;
  if (peakBytes === undefined) {
    const before = tf.memory().numBytes;
    let out: Output;
    resetSimdPeaks();
    const info = await tf.profile(async () => {
      out = await v.run();
      await settle(out);
    });
    kernelPeakBytes = simdMemoryInfo().peakBytes;
    peakBytes = Math.max(0, info.peakBytes - before) + kernelPeakBytes;
  }
  return {medianMs: median(samples), minMs: Math.min(...samples), runs: samples.length, peakBytes, kernelPeakBytes};
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
      row.kernelPeakMB = m.kernelPeakBytes === undefined ? null : m.kernelPeakBytes / 2 ** 20;
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

/**
 * Merges the rows of K repetitions of a suite (same cases, same order of variants): per row, the median of the
 * repetitions' medians (`repetitionMs` keeps each), the median of their per-repetition ratios to the baseline
 * (each measured in one run), the largest peak. A row failed in every repetition keeps its error.
 */
export function mergeRepetitions(repetitions: BenchRow[][]): BenchRow[] {
  if (repetitions.length === 1) return repetitions[0];
  const key = (r: BenchRow) => `${r.op}\u0000${r.backend}\u0000${r.size}\u0000${r.variant}`;
  const groups = new Map<string, BenchRow[]>();
  for (const rows of repetitions) {
    for (const r of rows) {
      const g = groups.get(key(r));
      if (g === undefined) groups.set(key(r), [r]);
      else g.push(r);
    }
  }
  return [...groups.values()].map((g) => {
    const ok = g.filter((r) => r.medianMs !== null);
    if (ok.length === 0) return {...g[0]};
    const medianMs = median(ok.map((r) => r.medianMs!));
    const scale = (x: number | null, r: BenchRow) => x === null ? null : x * r.medianMs! / medianMs;
    const speedups = ok.filter((r) => r.speedup !== null).map((r) => r.speedup!);
    const peaks = ok.filter((r) => r.peakMB !== null).map((r) => r.peakMB!);
    const kernelPeaks = ok.filter((r) => r.kernelPeakMB != null).map((r) => r.kernelPeakMB!);
    const row: BenchRow = {
      ...ok[0], medianMs, minMs: Math.min(...ok.map((r) => r.minMs ?? Infinity)),
      runs: ok.reduce((n, r) => n + r.runs, 0), gflops: scale(ok[0].gflops, ok[0]), gbps: scale(ok[0].gbps, ok[0]),
      speedup: speedups.length > 0 ? median(speedups) : null, peakMB: peaks.length > 0 ? Math.max(...peaks) : null,
      kernelPeakMB: kernelPeaks.length > 0 ? Math.max(...kernelPeaks) : ok[0].kernelPeakMB,
      repetitionMs: ok.map((r) => r.medianMs!),
    };
    delete row.error;
    if (ok.length < g.length) row.error = `failed in ${g.length - ok.length} of ${g.length} repetitions`;
    return row;
  });
}
