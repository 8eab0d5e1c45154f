/**
 * `useBestBackend`: the backend that runs the fused ops fastest here, chosen by timing them, not from a fixed
 * order. Which backend wins depends on the machine and the sizes: on a 2-core CPU, tfjs-node's multi-threaded
 * libtensorflow beats WebAssembly on large matMuls, while our one-thread SIMD host kernels win at small sizes;
 * a real GPU beats both at large sizes and loses at tiny ones. So each package registers a short probe of its
 * fused ops (a few milliseconds at small sizes, forward and backward), and `useBestBackend` times every probe on
 * every available backend and keeps the fastest in total.
 */
import * as tf from '@tensorflow/tfjs';
import {BackendName, BackendStatus, initBackend, isNode} from './index';

/** A short workload of fused ops; returned tensors are read back (the sync point) and disposed. */
export type BackendProbe = () => tf.TensorContainer;

const probes = new Map<string, BackendProbe>();

/**
 * Registers a probe of a package's fused ops for {@link useBestBackend} (packages call it once on import).
 * Keep it short (milliseconds on a CPU backend) and representative: forward and backward, typical small sizes.
 *
 * @example
 * ```ts
 * registerBackendProbe('flashAttention', () => tf.grads((q) => tf.sum(flashAttention(q, k, v)))([q]));
 * ```
 */
export function registerBackendProbe(name: string, probe: BackendProbe): void {
  probes.set(name, probe);
}

/** A generic probe when no package registered one: a small attention-like block, forward and backward. */
const defaultProbe: BackendProbe = () => {
  const x = tf.randomNormal([128, 64], 0, 1, 'float32', 1);
  const w = tf.randomNormal([64, 64], 0, 0.1, 'float32', 2);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
    const h = tf.matMul(a, b);                                     // [128, 64]
    return tf.sum(tf.matMul(tf.softmax(tf.matMul(h, h, false, true)), h));  // [128, 128] scores
  })([x, w]);
  tf.dispose([x, w]);
  return grads;
};

export interface UseBestBackendOptions {
  /** Backends to consider (default: every known one of this runtime). */
  candidates?: BackendName[];
  /** The workload to time instead of the registered probes (e.g. one training step of your model). */
  probe?: BackendProbe;
  /** Timed runs per probe after one warm-up run (default 3; the median counts). */
  repeats?: number;
  /** Also time software-emulated WebGPU (SwiftShader; default false: it is never the fastest, and slow to time). */
  includeEmulated?: boolean;
}

/** What {@link useBestBackend} measured: median ms of the probes per backend (the chosen one is the lowest). */
export interface BestBackendStatus extends BackendStatus {
  probeMs: Partial<Record<BackendName, number>>;
  /** The probes timed (their names). */
  probes: string[];
}

async function settle(out: tf.TensorContainer): Promise<void> {
  const tensors: tf.Tensor[] = [];
  const collect = (c: unknown) => {
    if (c instanceof tf.Tensor) tensors.push(c);
    else if (Array.isArray(c)) c.forEach(collect);
    else if (c !== null && typeof c === 'object') Object.values(c).forEach(collect);
  };
  collect(out);
  await Promise.all(tensors.map((t) => t.data()));
  tf.dispose(tensors);
}

async function timeProbe(probe: BackendProbe, repeats: number): Promise<number> {
  await settle(probe());  // warm-up: shader compilation, kernel caches, lazy initialisation
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await settle(probe());
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

/**
 * Times the fused ops' probes on every available backend and activates the fastest. In Node the candidates are
 * cpu, wasm, webgpu (a real GPU only, unless `includeEmulated`) and tensorflow (tfjs-node, when installed); in
 * browsers webgpu, webgl, wasm and cpu. A backend whose probe throws is left out. Costs a few seconds (2-5 s on
 * a 2-core CPU, most of it the slowest backend).
 *
 * @example
 * ```ts
 * import '@tfjs-ext/attention';  // registers its probe
 * const best = await useBestBackend();
 * console.log(`using ${best.name}`, best.probeMs);  // e.g. using tensorflow {cpu: 41.2, wasm: 6.1, tensorflow: 3.4}
 * ```
 */
export async function useBestBackend(options: UseBestBackendOptions = {}): Promise<BestBackendStatus> {
  const {repeats = 3, includeEmulated = false} = options;
  const candidates = options.candidates ??
      (isNode ? ['cpu', 'wasm', 'webgpu', 'tensorflow'] : ['webgpu', 'webgl', 'wasm', 'cpu']) as BackendName[];
  const selected: Array<[string, BackendProbe]> = options.probe !== undefined ? [['probe', options.probe]] :
      probes.size > 0 ? [...probes] : [['default (matMul + softmax)', defaultProbe]];
  const probeMs: Partial<Record<BackendName, number>> = {};
  let best: BackendStatus | undefined;
  let bestMs = Infinity;
  for (const name of candidates) {
    const status = await initBackend(name);
    if (!status.available || (status.emulated && !includeEmulated)) continue;
    let total = 0;
    try {
      for (const [, probe] of selected) total += await timeProbe(probe, repeats);
    } catch {
      continue;  // a backend that cannot run the fused ops is not a candidate
    }
    probeMs[name] = total;
    if (total < bestMs) [best, bestMs] = [status, total];
  }
  const chosen = best ?? await initBackend('cpu');
  await initBackend(chosen.name);
  return {...chosen, probeMs, probes: selected.map(([n]) => n)};
}
