/**
 * The gradient of the forward kernel, registered once for every backend. It runs the backward kernel
 * `TfjsExtFlashAttentionGrad` of the active backend (host kernels on cpu/wasm, shaders on webgpu), or the
 * blocked composite backward where a backend has a forward kernel but no backward kernel.
 *
 * The forward kernel has two outputs, so the gradient receives [dOutput, dLse]. The lse term,
 * dS_lse = P * dLse (row-wise), folds into the D term (dS = P * (dP - (D - dLse))). Backward kernels that take the
 * optional input `dLse` (webgpu) get it directly; for the others (the host implementations) it is added from
 * two more kernel calls that only the contract's kernels are needed for:
 *   dQ_lse = scale * dLse_i * (P K)_i          (P K = the forward kernel with v := k)
 *   dK_lse = scale * P^T (dLse * Q)            (= the dv output of the backward kernel with dy := dLse * q)
 * It runs only when lse can carry a gradient: on host backends when dLse has a non-zero entry (a free read),
 * elsewhere when the call came through `flashAttentionWithLse` (attribute `withLse`).
 */
import * as tf from '@tensorflow/tfjs';
import {hasKernel, HOST_BACKENDS} from '@tfjs-ext/core';
import type {GradFunc} from '@tfjs-ext/core';
import {flashAttentionBackwardComposite} from './composite';
import {FLASH_ATTENTION, FLASH_ATTENTION_GRAD, FlashAttentionAttrs} from './contract';

/** Attributes the op passes to the kernels: the contract's plus whether lse is returned to the caller. */
export interface FlashAttentionOpAttrs extends FlashAttentionAttrs {
  withLse: boolean;
}

const kernelAttrs = (a: FlashAttentionOpAttrs): FlashAttentionAttrs =>
    ({scale: a.scale, causal: a.causal, windowLeft: a.windowLeft, windowRight: a.windowRight});

/** Backends whose backward kernel accepts the optional `dLse` input. */
const BACKWARD_TAKES_DLSE = ['webgpu'];

/** dq, dk, dv from the backend's backward kernel (null where it has none: the composite backward is used). */
function backwardKernel(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, kvLengths: tf.Tensor, output: tf.Tensor,
                        lse: tf.Tensor, dy: tf.Tensor, attrs: FlashAttentionAttrs,
                        dLse: tf.Tensor | null = null): tf.Tensor[] | null {
  if (!hasKernel(FLASH_ATTENTION_GRAD)) return null;
  const inputs: tf.NamedTensorMap = {q, k, v, kvLengths, output, lse, dy};
  if (dLse !== null) inputs.dLse = dLse;
  return tf.engine().runKernel(FLASH_ATTENTION_GRAD, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
}

/** Whether the lse gradient can be non-zero (reads dLse only where a read is synchronous and free). */
function lseGradientNeeded(dLse: tf.Tensor | undefined, attrs: FlashAttentionOpAttrs): boolean {
  if (dLse === undefined) return false;
  if ((HOST_BACKENDS as readonly string[]).includes(tf.getBackend())) {
    return (dLse.dataSync() as Float32Array).some((x) => x !== 0);
  }
  return attrs.withLse;
}

/** The shared gradient function of FLASH_ATTENTION (saved: q, k, v, kvLengths, output, lse). */
export const flashAttentionGradFunc: GradFunc = (dys, saved, attrs) => {
  const [dy, dLse] = dys as tf.Tensor[];
  const [q, k, v, kvLengths, output, lse] = saved;
  const opAttrs = attrs as unknown as FlashAttentionOpAttrs;
  const kAttrs = kernelAttrs(opAttrs);
  const withLse = lseGradientNeeded(dLse, opAttrs);
  const grads = tf.tidy(() => {
    const kernelTakesDLse = withLse && BACKWARD_TAKES_DLSE.includes(tf.getBackend());
    const viaKernel = backwardKernel(q, k, v, kvLengths, output, lse, dy, kAttrs, kernelTakesDLse ? dLse : null);
    if (viaKernel === null) {
      return flashAttentionBackwardComposite(q, k, v, kvLengths, output, lse, dy, withLse ? dLse : null, kAttrs);
    }
    let [dq, dk, dv] = viaKernel;
    if (withLse && !kernelTakesDLse) {
      const dLseRows = tf.expandDims(tf.transpose(dLse, [0, 2, 1]), 3);   // [B, Nq, Hq, 1]
      const [pk, lseAgain] = tf.engine().runKernel(FLASH_ATTENTION, {q, k, v: k, kvLengths},
          kAttrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      lseAgain.dispose();
      dq = tf.add(dq, tf.mul(tf.mul(pk, dLseRows), kAttrs.scale));
      const fromLse = backwardKernel(q, k, k, kvLengths, output, lse, tf.mul(q, dLseRows), kAttrs)!;
      dk = tf.add(dk, tf.mul(fromLse[2], kAttrs.scale));
    }
    return [dq, dk, dv];
  });
  const [dq, dk, dv] = grads;
  return {q: () => dq, k: () => dk, v: () => dv};
};

/** Gradient config for defineOp: inputs and both outputs are saved. */
export const flashAttentionGradient = {
  gradFunc: flashAttentionGradFunc,
  inputsToSave: ['q', 'k', 'v', 'kvLengths'],
  outputsToSave: [true, true],
};

export {FLASH_ATTENTION};
