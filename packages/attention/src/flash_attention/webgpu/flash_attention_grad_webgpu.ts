/**
 * WebGPU kernel of `TfjsExtFlashAttentionGrad` (contract.ts): the D = rowsum(dO * O) pre-pass, the dQ pass
 * (parallel over query blocks) and the dK/dV pass (parallel over key blocks and query heads), each optionally
 * split into ranges of their inner loop, then the sums of the partial results (over ranges, and over the
 * query heads of each kv head for dK/dV).
 */
import type * as tf from '@tensorflow/tfjs';
import type {KernelFunc} from '@tfjs-ext/core';
import type {FlashAttentionAttrs} from '../contract';
import {assertHeadDim, attrUniforms, chooseChunks, chooseSplitD, lengthsAsColumn, sumPartials,
        WebGPUBackendLike} from './common';
import {FlashAttentionDkDvProgram} from './grad_dkdv_program';
import {FlashAttentionDqProgram} from './grad_dq_program';
import {FlashAttentionRowDotProgram} from './grad_rowdot_program';

/**
 * Backward: `[dq [B, Nq, Hq, D], dk [B, Nk, Hkv, D], dv [B, Nk, Hkv, D]]`. Beyond the contract it accepts an
 * optional input `dLse` `[B, Hq, Nq]` (the gradient reaching the lse output), folded into the D term at no
 * extra cost: `dS = P * (dP - (D - dLse))`.
 */
export const flashAttentionGradWebGPU: KernelFunc = ({inputs, backend, attrs}) => {
  const {q, k, v, kvLengths, output, lse, dy} = inputs as Record<string, tf.TensorInfo>;
  const dLse = (inputs as Record<string, tf.TensorInfo | undefined>).dLse;   // optional, beyond the contract
  const flashAttrs = attrs as unknown as FlashAttentionAttrs;
  const gpu = backend as unknown as WebGPUBackendLike;
  const uniforms = attrUniforms(flashAttrs);
  const [batch, nq, hq, d] = q.shape;
  const [, nk, hkv] = k.shape;
  assertHeadDim(d);

  const rowDotInputs = dLse !== undefined ? [dy, output, dLse] : [dy, output];
  const rowDotProgram = new FlashAttentionRowDotProgram(dy.shape, dLse !== undefined);
  const rowDot = gpu.runWebGPUProgram(rowDotProgram, rowDotInputs, 'float32');                  // [B*Hq*Nq]
  const passInputs = [q, k, v, lengthsAsColumn(kvLengths), lse, rowDot, dy];
  const dqSplit = chooseSplitD(batch * nq * hq, d, 3);
  const dqChunks = chooseChunks(batch * nq * hq * dqSplit, nk, batch * nq * hq * d);
  const dqPartials = gpu.runWebGPUProgram(new FlashAttentionDqProgram(q.shape, dqSplit, dqChunks), passInputs,
                                          'float32', uniforms);                                // [C*B*Nq*Hq*D]
  let dq: tf.TensorInfo;
  if (dqChunks === 1) {
    dq = {dataId: dqPartials.dataId, shape: q.shape, dtype: 'float32'} as tf.TensorInfo;        // [B, Nq, Hq, D]
  } else {
    dq = sumPartials(gpu, dqPartials, q.shape, 1, dqChunks, 0, batch * nq * hq * d);
    gpu.disposeData(dqPartials.dataId);
  }

  const dkdvSplit = chooseSplitD(batch * nk * hq, d, 4);
  const dkdvChunks = chooseChunks(batch * nk * hq * dkdvSplit, nq, 2 * batch * nk * hq * d);
  const dkdvPartials = gpu.runWebGPUProgram(new FlashAttentionDkDvProgram(k.shape, hq, dkdvSplit, dkdvChunks),
                                            passInputs, 'float32', uniforms);                  // [C*2*B*Nk*Hq*D]
  gpu.disposeData(rowDot.dataId);
  // Sum over the query heads of each kv head and over the query ranges.
  const perHeadSize = batch * nk * hq * d;
  const dk = sumPartials(gpu, dkdvPartials, k.shape, hq / hkv, dkdvChunks, 0, 2 * perHeadSize);  // [B, Nk, Hkv, D]
  const dv = sumPartials(gpu, dkdvPartials, k.shape, hq / hkv, dkdvChunks, perHeadSize, 2 * perHeadSize);
  gpu.disposeData(dkdvPartials.dataId);
  return [dq, dk, dv];
};
