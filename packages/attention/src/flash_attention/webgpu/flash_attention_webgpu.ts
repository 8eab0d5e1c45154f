/**
 * WebGPU kernel of `TfjsExtFlashAttention` (contract.ts): one attention program, then two copies out of its
 * packed buffer, or, split-KV, two merge programs.
 */
import type * as tf from '@tensorflow/tfjs';
import type {KernelFunc} from '@tfjs-ext/core';
import type {FlashAttentionAttrs} from '../contract';
import {assertHeadDim, attrUniforms, chooseChunks, chooseSplitD, copyRange, lengthsAsColumn, ProgramUniform,
        WebGPUBackendLike} from './common';
import {ForwardMergeProgram} from './forward_merge_program';
import {FlashAttentionForwardProgram} from './forward_program';

/** Forward: `[output [B, Nq, Hq, D], lse [B, Hq, Nq]]`. */
export const flashAttentionWebGPU: KernelFunc = ({inputs, backend, attrs}) => {
  const {q, k, v, kvLengths} = inputs as {q: tf.TensorInfo; k: tf.TensorInfo; v: tf.TensorInfo;
                                           kvLengths: tf.TensorInfo};
  const flashAttrs = attrs as unknown as FlashAttentionAttrs;
  const gpu = backend as unknown as WebGPUBackendLike;
  const [batch, nq, hq, d] = q.shape;
  assertHeadDim(d);

  const split = chooseSplitD(batch * nq * hq, d, 2);
  const chunks = chooseChunks(batch * nq * hq * split, k.shape[1], batch * nq * hq * (d + 1));
  const program = new FlashAttentionForwardProgram(q.shape, split, chunks);
  // [chunks * B*Nq*Hq*D | chunks * B*Hq*Nq]: the (partial) outputs, then the (partial) lse
  const packed = gpu.runWebGPUProgram(program, [q, k, v, lengthsAsColumn(kvLengths)], 'float32',
                                      attrUniforms(flashAttrs));
  let output: tf.TensorInfo, lse: tf.TensorInfo;
  if (chunks === 1) {
    output = copyRange(gpu, packed, 0, q.shape);                                 // [B, Nq, Hq, D]
    lse = copyRange(gpu, packed, batch * nq * hq * d, [batch, hq, nq]);           // [B, Hq, Nq]
  } else {
    const sizes: ProgramUniform[] = [{type: 'int32', data: [nq]}, {type: 'int32', data: [hq]},
                                     {type: 'int32', data: [batch]}];
    const merge = (result: 'output' | 'lse', shape: number[]) => {
      const flat = gpu.runWebGPUProgram(new ForwardMergeProgram(q.shape, chunks, result), [packed], 'float32',
                                        sizes);
      return {dataId: flat.dataId, shape, dtype: 'float32'} as tf.TensorInfo;   // same data, result's shape
    };
    output = merge('output', q.shape);
    lse = merge('lse', [batch, hq, nq]);
  }
  gpu.disposeData(packed.dataId);
  return [output, lse];
};
