/**
 * `ssd`: argument checks, defaults, dispatch to the backend's kernel or the chunked composite elsewhere.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertDtype, assertKnownKeys, assertPositiveInt, assertRank, defineOp,
        shapeString} from '@tfjs-ext/core';
import type {KernelFunc} from '@tfjs-ext/core';
import {ssdComposite} from './composite';
import {SSD, SSD_GRAD, SSDAttrs} from './contract';
import {ssdGradient} from './grad';
import {ssdBackwardHostKernels, ssdForwardHostKernels, ssdScanHostKernels} from './host_impl';
import {SSD_SCAN} from './scan_contract';
import {ssdForwardWebGPU, ssdScanWebGPU} from './webgpu';

export {SSD, SSD_GRAD};

/** Options of {@link ssd}. */
export interface SSDOptions {
  /** Chunk length Q of the chunked algorithm (default 64). Any sequence length works with any chunk. */
  chunkSize?: number;
  /** Skip connection `[H]`: `y += D[h] x`. Default none (zero). */
  D?: tf.Tensor1D;
  /** State before the first step `[batch, H, P, N]`. Default zeros. */
  initialState?: tf.Tensor4D;
}

/** What {@link ssd} returns. */
export interface SSDResult {
  /** `[batch, L, H, P]` */
  y: tf.Tensor4D;
  /** The state after the last step, `[batch, H, P, N]`. */
  finalState: tf.Tensor4D;
}

type SSDInputs = {x: tf.Tensor4D; dt: tf.Tensor3D; A: tf.Tensor1D; B: tf.Tensor4D; C: tf.Tensor4D;
                  D: tf.Tensor1D; initialState: tf.Tensor4D};

function register(kernelName: string, kernels: Record<string, KernelFunc | undefined>): void {
  for (const [backendName, kernelFunc] of Object.entries(kernels)) {
    if (kernelFunc !== undefined && tf.getKernel(kernelName, backendName) === undefined) {
      tf.registerKernel({kernelName, backendName, kernelFunc});
    }
  }
}
// The scan primitive (webgpu's backward is composed of scans; see grad.ts); the forward and backward kernels are
// registered by defineOp below.
register(SSD_SCAN, {...ssdScanHostKernels, webgpu: ssdScanWebGPU});

/**
 * Kernels: cpu and wasm (host kernels: SIMD WebAssembly, plain JS where SIMD is missing), webgpu (WGSL scan programs; backward composed of scans); the composite
 * elsewhere (see `lastDispatch('TfjsExtSSD')`).
 */
export const ssdOp = defineOp<SSDInputs, SSDAttrs>({
  kernelName: SSD,
  kernels: {...ssdForwardHostKernels, webgpu: ssdForwardWebGPU},
  gradient: ssdGradient,
  gradientKernels: {kernelName: SSD_GRAD, kernels: ssdBackwardHostKernels},
  composite: (inputs, {chunkSize}) => ssdComposite(inputs, chunkSize),
});

const OP = 'ssd';

function checkArgs(x: unknown, dt: unknown, A: unknown, B: unknown, C: unknown, options: SSDOptions): void {
  assertRank(x, 4, OP, 'x', '[batch, L, H, P]');
  assertRank(dt, 3, OP, 'dt', '[batch, L, H]');
  assertRank(A, 1, OP, 'A', '[H]');
  assertRank(B, 4, OP, 'B', '[batch, L, G, N]');
  assertRank(C, 4, OP, 'C', '[batch, L, G, N]');
  for (const [name, t] of [['x', x], ['dt', dt], ['A', A], ['B', B], ['C', C]] as const) {
    assertDtype(t, ['float32'], OP, name);
  }
  const [batch, L, H, P] = x.shape;
  assertArg(batch > 0 && L > 0 && H > 0 && P > 0, OP, () => `x must be non-empty, got ${shapeString(x.shape)}`);
  const want = (name: string, t: tf.Tensor, shape: number[], layout: string) => assertArg(
      t.shape.every((s, i) => s === shape[i]), OP, () =>
          `${name} must have shape ${layout} = ${shapeString(shape)} (from x ${shapeString(x.shape)}), ` +
          `got ${shapeString(t.shape)}`);
  want('dt', dt, [batch, L, H], '[batch, L, H]');
  want('A', A, [H], '[H]');
  const [, , G, N] = B.shape;
  assertArg(G > 0 && N > 0, OP, () => `B must be non-empty, got ${shapeString(B.shape)}`);
  want('B', B, [batch, L, G, N], '[batch, L, G, N]');
  want('C', C, [batch, L, G, N], '[batch, L, G, N] (the shape of B)');
  assertArg(H % G === 0, OP, () =>
      `heads H = ${H} (x ${shapeString(x.shape)}) must be a multiple of groups G = ${G} (B ${shapeString(B.shape)})`);
  assertKnownKeys(OP, options, ['chunkSize', 'D', 'initialState']);
  if (options.chunkSize !== undefined) assertPositiveInt(options.chunkSize, OP, 'options.chunkSize');
  if (options.D !== undefined) {
    assertRank(options.D, 1, OP, 'options.D', '[H]');
    assertDtype(options.D, ['float32'], OP, 'options.D');
    want('options.D', options.D, [H], '[H]');
  }
  if (options.initialState !== undefined) {
    assertRank(options.initialState, 4, OP, 'options.initialState', '[batch, H, P, N]');
    assertDtype(options.initialState, ['float32'], OP, 'options.initialState');
    want('options.initialState', options.initialState, [batch, H, P, N], '[batch, H, P, N]');
  }
}

/**
 * The Mamba-2 SSD scan (structured state-space duality), differentiable in `x`, `dt`, `A`, `B`, `C`, `D` and
 * `initialState`. Per batch row and head `h` (using group `g = floor(h / (H / G))`):
 *
 *   `h_t = exp(dt_t A_h) h_{t-1} + dt_t x_t B_t^T` (state P x N),   `y_t = h_t C_t + D_h x_t`.
 *
 * Computed chunk by chunk (intra-chunk "attention" form, chunk states, state passing, inter-chunk output), in
 * O(L * chunkSize) memory; any `L` (padded internally with `dt = 0`, a step that changes nothing).
 *
 * Value policy: `dt` is meant positive (already softplus'd) and `A` negative, but values are **not checked**
 * (a check would need a synchronous read on GPU backends); the recurrence above is computed as written for any
 * finite values. `dt = 0` is a skipped step (decay 1, no input); `A = 0` is no decay (causal linear attention,
 * see `linearAttention`); `dt < 0` or `A > 0` make `exp(dt A) > 1`, a growing state, still equal to the
 * recurrence while it stays within float32 range.
 *
 * @param x `[batch, L, H, P]` float32 inputs per head.
 * @param dt `[batch, L, H]` float32 step sizes.
 * @param A `[H]` float32 decay rates.
 * @param B `[batch, L, G, N]` float32 input projections, `H % G == 0`.
 * @param C `[batch, L, G, N]` float32 output projections.
 * @param options `chunkSize` (default 64), `D` `[H]`, `initialState` `[batch, H, P, N]`.
 * @returns `y` `[batch, L, H, P]` and `finalState` `[batch, H, P, N]`.
 *
 * @example
 * ```ts
 * const x = tf.randomNormal([1, 1000, 8, 64]);               // [batch, L, H, P]
 * const dt = tf.softplus(tf.randomNormal([1, 1000, 8]));      // [batch, L, H]
 * const A = tf.neg(tf.exp(tf.randomUniform([8], 0, 2)));     // [H], negative
 * const B = tf.randomNormal([1, 1000, 1, 64]);               // [batch, L, G, N]
 * const C = tf.randomNormal([1, 1000, 1, 64]);
 * const {y, finalState} = ssd(x, dt, A, B, C, {D: tf.ones([8])});  // [1, 1000, 8, 64], [1, 8, 64, 64]
 * ```
 */
export function ssd(x: tf.Tensor4D, dt: tf.Tensor3D, A: tf.Tensor1D, B: tf.Tensor4D, C: tf.Tensor4D,
                    options: SSDOptions = {}): SSDResult {
  checkArgs(x, dt, A, B, C, options);
  const chunkSize = options.chunkSize ?? 64;
  const [batch, , H, P] = x.shape;
  const N = B.shape[3];
  const [y, finalState] = tf.tidy(() => {
    const D = options.D ?? tf.zeros([H]) as tf.Tensor1D;
    const initialState = options.initialState ?? tf.zeros([batch, H, P, N]) as tf.Tensor4D;
    return ssdOp.run({x, dt, A, B, C, D, initialState}, {chunkSize}) as tf.Tensor[];
  });
  return {y: y as tf.Tensor4D, finalState: finalState as tf.Tensor4D};
}
