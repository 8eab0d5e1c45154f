/**
 * `flashAttention` / `flashAttentionWithLse`: argument checks, defaults, dispatch to the backend's kernel
 * (cpu, wasm: host kernels; webgpu: shaders) or the blocked composite elsewhere.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertDtype, assertKnownKeys, assertRank, defineOp, registerBackendProbe,
        shapeString} from '@tfjs-ext/core';
import '../simd';  // registers the SIMD WebAssembly host implementation when the runtime supports it
import {flashAttentionComposite} from './composite';
import {FLASH_ATTENTION, FLASH_ATTENTION_GRAD, FlashAttentionOptions} from './contract';
import {flashAttentionGradHostKernel, flashAttentionHostKernel} from './host';
import {flashAttentionGradient, FlashAttentionOpAttrs} from './grad';
import {flashAttentionGradWebGPU, flashAttentionWebGPU} from './webgpu';

const OP = 'flashAttention';

type Inputs = {q: tf.Tensor4D; k: tf.Tensor4D; v: tf.Tensor4D; kvLengths: tf.Tensor1D};

/**
 * The op: kernels per backend, one gradient, the composite elsewhere. The host kernel is registered on wasm
 * too. Measured (flash-attention bench, B=1, H=4, D=64, N=256..4096): the default SIMD implementation runs
 * 10-40x the naive tfjs composite there; the plain-JS fallback (runtimes without SIMD) is between 0.8x and 4x
 * the naive composite (wasm's matMul is fast), above our blocked composite, and keeps memory O(N).
 */
export const flashAttentionOp = defineOp<Inputs, FlashAttentionOpAttrs>({
  kernelName: FLASH_ATTENTION,
  kernels: {
    cpu: flashAttentionHostKernel, wasm: flashAttentionHostKernel, webgpu: flashAttentionWebGPU,
    // tensorflow: beats the blocked composite there (time: every forward N; memory O(N): 4 MB vs 788 MB at N=4096)
    tensorflow: flashAttentionHostKernel,
  },
  gradient: flashAttentionGradient,
  gradientKernels: {
    kernelName: FLASH_ATTENTION_GRAD,
    kernels: {
      cpu: flashAttentionGradHostKernel, wasm: flashAttentionGradHostKernel, webgpu: flashAttentionGradWebGPU,
      tensorflow: flashAttentionGradHostKernel,  // tensorflow: O(N) memory, 2x the blocked composite's speed when causal
    },
  },
  composite: ({q, k, v, kvLengths}, attrs) => flashAttentionComposite(q, k, v, kvLengths, attrs),
});

function checkWindow(window: unknown): [number, number] {
  if (window === undefined) return [-1, -1];
  assertArg(Array.isArray(window) && window.length === 2, OP, () =>
      `options.window must be [left, right] (integers >= -1, -1 = unbounded), got ${JSON.stringify(window)}`);
  const [left, right] = window as unknown[];
  for (const [name, x] of [['left', left], ['right', right]] as const) {
    assertArg(typeof x === 'number' && Number.isInteger(x) && x >= -1, OP, () =>
        `options.window ${name} must be an integer >= -1 (-1 = unbounded), got ${String(x)}`);
  }
  return [left as number, right as number];
}

/** Validates, defaults and runs; returns [output, lse]. */
function run(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, options: FlashAttentionOptions,
             withLse: boolean): [tf.Tensor4D, tf.Tensor3D] {
  const layout = '[batch, seq, heads, headDim]';
  assertRank(q, 4, OP, 'q', layout);
  assertRank(k, 4, OP, 'k', layout);
  assertRank(v, 4, OP, 'v', layout);
  assertDtype(q, ['float32'], OP, 'q');
  assertDtype(k, ['float32'], OP, 'k');
  assertDtype(v, ['float32'], OP, 'v');
  const [batch, nq, hq, d] = q.shape;
  const [, nk, hkv] = k.shape;
  assertArg(k.shape[0] === batch, OP, () =>
      `k batch ${k.shape[0]} must equal q batch ${batch} (q ${shapeString(q.shape)}, k ${shapeString(k.shape)})`);
  assertArg(k.shape[3] === d, OP, () =>
      `k headDim ${k.shape[3]} must equal q headDim ${d} (q ${shapeString(q.shape)}, k ${shapeString(k.shape)})`);
  assertArg(v.shape.every((x, i) => x === k.shape[i]), OP, () =>
      `v must have the shape of k ${shapeString(k.shape)} [batch, seqK, kvHeads, headDim], ` +
      `got ${shapeString(v.shape)}`);
  assertArg(hkv > 0 && hq % hkv === 0, OP, () =>
      `q heads (${hq}) must be a multiple of k/v heads (${hkv}) (MHA, GQA, MQA); q ${shapeString(q.shape)}, ` +
      `k ${shapeString(k.shape)}`);
  assertArg(nq > 0 && nk > 0 && d > 0 && batch > 0, OP, () =>
      `q and k must be non-empty, got q ${shapeString(q.shape)}, k ${shapeString(k.shape)}`);
  assertKnownKeys(withLse ? 'flashAttentionWithLse' : OP, options, ['scale', 'causal', 'window', 'kvLengths']);
  const scale = options.scale ?? 1 / Math.sqrt(d);
  assertArg(typeof scale === 'number' && Number.isFinite(scale), OP, () =>
      `options.scale must be a finite number, got ${String(options.scale)}`);
  const [windowLeft, windowRight] = checkWindow(options.window);
  const causal = options.causal ?? false;
  assertArg(typeof causal === 'boolean', OP, () => `options.causal must be a boolean, got ${String(causal)}`);
  const given = options.kvLengths;
  if (given !== undefined) {
    assertRank(given, 1, OP, 'options.kvLengths', '[batch]');
    assertDtype(given, ['int32'], OP, 'options.kvLengths');
    assertArg(given.shape[0] === batch, OP, () =>
        `options.kvLengths must have shape [batch] = [${batch}], got ${shapeString(given.shape)}`);
  }
  const attrs: FlashAttentionOpAttrs = {scale, causal, windowLeft, windowRight, withLse};
  const [output, lse] = tf.tidy(() => {
    // Values outside [0, Nk] are clamped (no synchronous read, so no range error on GPU backends).
    const kvLengths = given === undefined ? tf.fill([batch], nk, 'int32') as tf.Tensor1D :
        tf.minimum(tf.maximum(given, tf.scalar(0, 'int32')), tf.scalar(nk, 'int32')) as tf.Tensor1D;
    return flashAttentionOp.run({q, k, v, kvLengths}, attrs) as tf.Tensor[];
  });
  return [output as tf.Tensor4D, lse as tf.Tensor3D];
}

/**
 * Fused, memory-efficient attention (FlashAttention-2): `softmax(scale * q k^T + mask) v` without the
 * `[Nq, Nk]` score matrix, differentiable in `q`, `k` and `v` on every backend.
 *
 * Layout `[batch, seq, heads, headDim]`: `q: [B, Nq, Hq, D]`, `k, v: [B, Nk, Hkv, D]` (float32), `Hq % Hkv == 0`
 * (query head `h` reads kv head `floor(h / (Hq / Hkv))`: MHA, GQA, MQA). Masks are bottom-right aligned:
 * `causal` lets query `i` see keys `j <= i + Nk - Nq`; `window: [left, right]` limits that to
 * `[i + off - left, i + off + right]` (-1 = unbounded); `kvLengths` (int32 `[B]`) marks keys `>= kvLengths[b]`
 * as padding and moves the alignment to `kvLengths[b]` (values outside `[0, Nk]` are clamped, not rejected:
 * checking them would need a synchronous read on GPU backends). A query row that sees no key outputs zeros.
 *
 * Kernels: cpu and wasm (host implementation: SIMD WebAssembly when available, else plain JS), webgpu; the
 * composite built from tf ops elsewhere (see `lastDispatch('TfjsExtFlashAttention')`).
 *
 * @example
 * ```ts
 * const q = tf.randomNormal([1, 128, 8, 64]);   // [batch, seq, heads, headDim]
 * const k = tf.randomNormal([1, 128, 2, 64]);   // 2 kv heads: grouped-query attention
 * const v = tf.randomNormal([1, 128, 2, 64]);
 * const y = flashAttention(q, k, v, {causal: true});  // [1, 128, 8, 64]
 * ```
 */
export function flashAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D,
                               options: FlashAttentionOptions = {}): tf.Tensor4D {
  const [output, lse] = run(q, k, v, options, false);
  lse.dispose();
  return output;
}

/**
 * {@link flashAttention} that also returns the log-sum-exp of each query row's scaled scores,
 * `lse[b, h, i] = log(sum_j exp(scale * q_i . k_j))` over visible keys (natural log, `[B, Hq, Nq]`,
 * `-Infinity` for rows that see no key). Both results are differentiable (e.g. for merging attention over
 * key chunks, or a loss on lse).
 *
 * @example
 * ```ts
 * const {output, lse} = flashAttentionWithLse(q, k, v, {window: [256, 0]});
 * ```
 */
export function flashAttentionWithLse(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D,
                                      options: FlashAttentionOptions = {}): {output: tf.Tensor4D; lse: tf.Tensor3D} {
  const [output, lse] = run(q, k, v, options, true);
  return {output, lse};
}

// useBestBackend's probe: causal flashAttention at a small training size, forward and backward.
registerBackendProbe('flashAttention', () => tf.tidy(() => {
  const [q, k, v] = [1, 2, 3].map((seed) => tf.randomNormal([1, 256, 4, 32], 0, 1, 'float32', seed) as tf.Tensor4D);
  return tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf.sum(flashAttention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, {causal: true})))([q, k, v]);
}));
