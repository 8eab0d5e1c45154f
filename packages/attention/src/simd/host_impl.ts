/**
 * `HostFlashImpl` 'simd-wasm': the flash-attention forward and backward of csrc/ through `callKernel` (tensors
 * read in place on the tfjs wasm heap, else copied into the module's memory). The head dimension is padded to
 * a multiple of 4 (one f32x4) with zeros when needed.
 */
import {FlashAttentionAttrs, FlashDims, HostFlashImpl} from '../flash_attention/contract';
import {callKernel} from './module';

export function simdForward(q: Float32Array, k: Float32Array, v: Float32Array, kvLengths: Int32Array,
                            dims: FlashDims, attrs: FlashAttentionAttrs): {output: Float32Array; lse: Float32Array} {
  const {batch, nq, nk, hq, hkv, d} = dims;
  const dp = (d + 3) & ~3;
  const qVectors = batch * nq * hq, lseLen = batch * hq * nq;
  const [output, m, l] = callKernel(
      [{data: q, width: d, padded: dp}, {data: k, width: d, padded: dp}, {data: v, width: d, padded: dp},
       {data: kvLengths}],
      [{vectors: qVectors, width: d, padded: dp}, {vectors: lseLen, width: 1, padded: 1},
       {vectors: lseLen, width: 1, padded: 1}],
      (x) => x.flash_forward_scratch(nk, dp),
      (x, [qAt, kAt, vAt, lensAt], [outAt, mAt, lAt], scratch) => x.flash_forward(
          qAt, kAt, vAt, lensAt, outAt, mAt, lAt, batch, nq, nk, hq, hkv, dp, attrs.scale, attrs.causal ? 1 : 0,
          attrs.windowLeft, attrs.windowRight, scratch));
  // lse = ln(sum exp(s)) from the base-2 running max m and the sum l = sum 2^(s2 - m).
  const lse = new Float32Array(lseLen);
  for (let i = 0; i < lseLen; i++) lse[i] = l[i] > 0 ? m[i] * Math.LN2 + Math.log(l[i]) : -Infinity;
  return {output, lse};
}

export function simdBackward(q: Float32Array, k: Float32Array, v: Float32Array, kvLengths: Int32Array,
                             output: Float32Array, lse: Float32Array, dy: Float32Array, dims: FlashDims,
                             attrs: FlashAttentionAttrs): {dq: Float32Array; dk: Float32Array; dv: Float32Array} {
  const {batch, nq, nk, hq, hkv, d} = dims;
  const dp = (d + 3) & ~3;
  const qVectors = batch * nq * hq, kVectors = batch * nk * hkv;
  const [dq, dk, dv] = callKernel(
      [{data: q, width: d, padded: dp}, {data: k, width: d, padded: dp}, {data: v, width: d, padded: dp},
       {data: kvLengths}, {data: output, width: d, padded: dp}, {data: lse}, {data: dy, width: d, padded: dp}],
      [{vectors: qVectors, width: d, padded: dp}, {vectors: kVectors, width: d, padded: dp},
       {vectors: kVectors, width: d, padded: dp}],
      (x) => x.flash_backward_scratch(nq, nk, dp, hq / hkv),
      (x, [qAt, kAt, vAt, lensAt, oAt, lseAt, dyAt], [dqAt, dkAt, dvAt], scratch) => x.flash_backward(
          qAt, kAt, vAt, lensAt, oAt, lseAt, dyAt, dqAt, dkAt, dvAt, batch, nq, nk, hq, hkv, dp, attrs.scale,
          attrs.causal ? 1 : 0, attrs.windowLeft, attrs.windowRight, scratch));
  return {dq, dk, dv};
}

/** 2^x of the kernels' exp2 (f32x4 polynomial) for every x: the test hook for its error bound. */
export function simdExp2(x: Float32Array): Float32Array {
  const n = (x.length + 3) & ~3;
  const padded = new Float32Array(n);
  padded.set(x);
  const [y] = callKernel([{data: padded}], [{vectors: n, width: 1, padded: 1}], () => 0,
                         (m, [xAt], [yAt]) => m.exp2_array(xAt, yAt, n));
  return y.subarray(0, x.length);
}

export const simdHostFlashImpl: HostFlashImpl = {name: 'simd-wasm', forward: simdForward, backward: simdBackward};
