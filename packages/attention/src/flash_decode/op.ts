/**
 * `flashDecode`: attention of a few new query rows over a KV cache (flash-decoding, split-KV).
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertDtype, assertKnownKeys, assertRank, defineOp, shapeString} from '@tfjs-ext/core';
import {flashDecodeComposite, type FlashDecodeInputs} from './composite';
import {FLASH_DECODE, type FlashDecodeAttrs, type FlashDecodeOptions} from './contract';
import {flashDecodeHostKernels} from './host';
import {flashDecodeWebGPU} from './webgpu';
// Registers the SIMD WebAssembly host implementation when the runtime supports it (JS stays the fallback).
import '../simd';

const OP = 'flashDecode';
const MAX_WEBGPU_HEAD_DIM = 1024;

/** The dispatcher: host kernels on cpu and wasm, the two-pass WGSL kernel on webgpu, the composite elsewhere. */
export const flashDecodeOp = defineOp<FlashDecodeInputs, FlashDecodeAttrs>({
  kernelName: FLASH_DECODE,
  kernels: {
    ...flashDecodeHostKernels, webgpu: flashDecodeWebGPU,
    // tensorflow: 1.5-4.8x its composite at cache length 512..16384 (bench flash-decode; noisy shared machine)
    tensorflow: flashDecodeHostKernels.cpu,
  },
  composite: flashDecodeComposite,
});

/**
 * Attention of `q` over the first `cacheLengths[b]` positions of a KV cache, causal and bottom-right aligned:
 * query row `i` of batch row `b` sees cache positions `j < cacheLengths[b] - Nq + i + 1` (the new tokens are
 * already in the cache and counted in `cacheLengths`). Equals
 * `flashAttention(q, kCache[:, :len], vCache[:, :len], {causal: true})` per batch row.
 *
 * Flash-decoding: the valid keys are split into `numSplits` chunks computed in parallel (per chunk a partial
 * output and its log-sum-exp), then merged weighted by their LSE. The query heads sharing a kv head (GQA/MQA)
 * are processed together so the cache is read once per kv head.
 *
 * Inference only: no gradient is defined (training uses `flashAttention`).
 *
 * @param q `[batch, Nq, Hq, headDim]` float32; Nq is small (1 for token-by-token decoding).
 * @param kCache `[batch, maxLength, Hkv, headDim]` float32, `Hq % Hkv === 0`.
 * @param vCache same shape as `kCache`.
 * @param cacheLengths valid positions per batch row, `0 <= len <= maxLength`: an int32 `[batch]` tensor or a
 *     plain array (e.g. `KVCache.lengths`; also lets 'auto' size the split to the actual lengths). Tensor
 *     values are checked by the cpu/wasm kernels; the webgpu kernel and the composite clamp them.
 * @param options `scale` (default `1/sqrt(headDim)`), `numSplits` (positive integer or 'auto', the default).
 * @returns `[batch, Nq, Hq, headDim]`.
 *
 * @example
 * ```ts
 * const cache = new KVCache({batch: 1, maxLength: 1024, kvHeads: 2, headDim: 64});
 * cache.append(kNew, vNew);                       // [1, 1, 2, 64] each
 * const y = flashDecode(q, cache.keys, cache.values, cache.lengths);  // q: [1, 1, 8, 64]
 * ```
 */
export function flashDecode(q: tf.Tensor4D, kCache: tf.Tensor4D, vCache: tf.Tensor4D,
                            cacheLengths: tf.Tensor1D | ArrayLike<number>, options: FlashDecodeOptions = {}): tf.Tensor4D {
  assertRank(q, 4, OP, 'q', '[batch, seq, heads, headDim]');
  assertRank(kCache, 4, OP, 'kCache', '[batch, maxLength, kvHeads, headDim]');
  assertRank(vCache, 4, OP, 'vCache', '[batch, maxLength, kvHeads, headDim]');
  for (const [t, name] of [[q, 'q'], [kCache, 'kCache'], [vCache, 'vCache']] as const) {
    assertDtype(t, ['float32'], OP, name);
  }
  const [batch, , hq, d] = q.shape;
  const [kBatch, maxLength, hkv, kd] = kCache.shape;
  assertArg(kBatch === batch && kd === d, OP, () =>
      `kCache must have shape [${batch}, maxLength, kvHeads, ${d}] (q's batch and headDim), got ${shapeString(kCache.shape)}`);
  assertArg(tf.util.arraysEqual(vCache.shape, kCache.shape), OP, () =>
      `vCache must have the shape of kCache ${shapeString(kCache.shape)}, got ${shapeString(vCache.shape)}`);
  assertArg(hkv > 0 && hq % hkv === 0, OP, () =>
      `q's heads (${hq}) must be a multiple of kCache's kvHeads (${hkv}): q ${shapeString(q.shape)}, ` +
      `kCache ${shapeString(kCache.shape)}`);

  assertKnownKeys(OP, options, ['scale', 'numSplits']);
  const scale = options.scale ?? 1 / Math.sqrt(d);
  assertArg(typeof scale === 'number' && Number.isFinite(scale), OP, () => `options.scale must be a finite number, got ${scale}`);
  const splits = options.numSplits ?? 'auto';
  assertArg(splits === 'auto' || (Number.isInteger(splits) && splits >= 1), OP, () =>
      `options.numSplits must be a positive integer or 'auto', got ${String(splits)}`);

  let lengths: tf.Tensor1D;
  let maxValidLength = maxLength;
  if (cacheLengths instanceof tf.Tensor) {
    assertArg(cacheLengths.rank === 1 && cacheLengths.shape[0] === batch, OP, () =>
        `cacheLengths must have shape [${batch}] (batch), got ${shapeString(cacheLengths.shape)}`);
    assertDtype(cacheLengths, ['int32'], OP, 'cacheLengths');
    lengths = cacheLengths;
  } else {
    assertArg(cacheLengths !== null && typeof cacheLengths === 'object' && cacheLengths.length === batch, OP, () =>
        `cacheLengths must be an int32 tensor or an array of shape [${batch}] (batch), got ` +
        `${cacheLengths === null || typeof cacheLengths !== 'object' ? typeof cacheLengths : `length ${cacheLengths.length}`}`);
    for (let b = 0; b < batch; b++) {
      const len = cacheLengths[b];
      assertArg(Number.isInteger(len) && len >= 0 && len <= maxLength, OP, () =>
          `cacheLengths[${b}] = ${len} is out of range: expected an integer 0 <= cacheLengths[b] <= ${maxLength} ` +
          `(maxLength of kCache ${shapeString(kCache.shape)})`);
    }
    maxValidLength = Math.max(0, ...Array.from(cacheLengths));
    lengths = tf.tensor1d(Array.from(cacheLengths), 'int32');
  }
  const attrs: FlashDecodeAttrs = {scale, numSplits: splits === 'auto' ? 0 : splits, maxValidLength};
  const inputs = {q, kCache, vCache, cacheLengths: lengths};
  try {
    // The WGSL kernel keeps a query row of headDim floats in workgroup memory: beyond 1024 use the composite.
    if (d > MAX_WEBGPU_HEAD_DIM && tf.getBackend() === 'webgpu') {
      return flashDecodeOp.runComposite(inputs, attrs) as tf.Tensor4D;
    }
    return flashDecodeOp.run(inputs, attrs) as tf.Tensor4D;
  } finally {
    if (lengths !== cacheLengths) lengths.dispose();
  }
}
