/**
 * Fused pieces of the shared MLP for the host backends, where tfjs's broadcasting ops and their gradients
 * dominate a PointNet++ step (on wasm a broadcast multiply of [1, C] x [R, C] and the axis-0 means of batch norm
 * cost several times the 1x1 matmuls):
 *
 * - `batchNormRelu(x [R, C], gamma, beta)`: training-mode batch norm (batch statistics) + ReLU, one kernel for
 *   the forward pass (also returning the batch mean and variance for the running statistics) and one for the
 *   backward pass.
 * - `groupMax(x [B, S, K, C]) -> [B, S, C]`: max over the group axis; its gradient goes to the first maximum.
 *
 * Other backends run compositions of tf ops (differentiated by tfjs).
 */
import * as tf from '@tensorflow/tfjs';
import {defineOp, GradFunc, hostKernels, HostTensor} from '@tfjs-ext/core';

interface BnAttrs {
  epsilon: number;
}

function bnForward({x, gamma, beta}: Record<string, HostTensor>, {epsilon}: BnAttrs) {
  const [rows, c] = x.shape;
  const xv = x.values as Float32Array, g = gamma.values as Float32Array, b = beta.values as Float32Array;
  const mean = new Float64Array(c), sq = new Float64Array(c);
  for (let r = 0, o = 0; r < rows; r++, o += c) {
    for (let j = 0; j < c; j++) {
      const v = xv[o + j];
      mean[j] += v;
      sq[j] += v * v;
    }
  }
  const meanOut = new Float32Array(c), varOut = new Float32Array(c), scale = new Float64Array(c);
  const shift = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    mean[j] /= rows;
    const variance = Math.max(0, sq[j] / rows - mean[j] * mean[j]);
    meanOut[j] = mean[j];
    varOut[j] = variance;
    scale[j] = g[j] / Math.sqrt(variance + epsilon);
    shift[j] = b[j] - mean[j] * scale[j];
  }
  const y = new Float32Array(rows * c);  // [R, C]
  for (let r = 0, o = 0; r < rows; r++, o += c) {
    for (let j = 0; j < c; j++) {
      const z = xv[o + j] * scale[j] + shift[j];
      y[o + j] = z > 0 ? z : 0;
    }
  }
  return [{shape: [rows, c], values: y}, {shape: [c], values: meanOut}, {shape: [c], values: varOut}];
}

function bnBackward({dy, x, y, gamma, mean, variance}: Record<string, HostTensor>, {epsilon}: BnAttrs) {
  const [rows, c] = x.shape;
  const d = dy.values as Float32Array, xv = x.values as Float32Array, yv = y.values as Float32Array;
  const g = gamma.values as Float32Array, m = mean.values as Float32Array, va = variance.values as Float32Array;
  const inv = Float64Array.from({length: c}, (_, j) => 1 / Math.sqrt(va[j] + epsilon));
  const dbeta = new Float64Array(c), dgamma = new Float64Array(c);
  for (let r = 0, o = 0; r < rows; r++, o += c) {
    for (let j = 0; j < c; j++) {
      if (yv[o + j] > 0) {
        const dz = d[o + j];
        dbeta[j] += dz;
        dgamma[j] += dz * (xv[o + j] - m[j]) * inv[j];
      }
    }
  }
  const dx = new Float32Array(rows * c);
  for (let r = 0, o = 0; r < rows; r++, o += c) {
    for (let j = 0; j < c; j++) {
      const dz = yv[o + j] > 0 ? d[o + j] : 0;
      const xhat = (xv[o + j] - m[j]) * inv[j];
      dx[o + j] = g[j] * inv[j] * (dz - (dbeta[j] + xhat * dgamma[j]) / rows);
    }
  }
  return [{shape: [rows, c], values: dx}, {shape: [c], values: Float32Array.from(dgamma)},
          {shape: [c], values: Float32Array.from(dbeta)}];
}

function bnComposite(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): tf.Tensor[] {
  const {mean, variance} = tf.moments(x, 0);
  return [tf.relu(tf.batchNorm(x, mean, variance, beta, gamma, epsilon)), mean, variance];
}

type BnGradInputs = {dy: tf.Tensor; x: tf.Tensor; y: tf.Tensor; gamma: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor};

const bnGradOp = defineOp<BnGradInputs, BnAttrs>({
  kernelName: 'TfjsExtPointNet2BatchNormReluGrad',
  kernels: hostKernels<BnAttrs>(bnBackward),
  composite: ({dy, x, y, gamma, mean, variance}, {epsilon}) => {
    const rows = x.shape[0];
    const inv = tf.rsqrt(tf.add(variance, epsilon));
    const xhat = tf.mul(tf.sub(x, mean), inv);
    const dz = tf.mul(dy, tf.step(y));
    const dbeta = tf.sum(dz, 0), dgamma = tf.sum(tf.mul(dz, xhat), 0);
    const dx = tf.mul(tf.mul(gamma, inv), tf.sub(dz, tf.div(tf.add(dbeta, tf.mul(xhat, dgamma)), rows)));
    return [dx, dgamma, dbeta];
  },
});

const bnGrad: GradFunc = (dys, saved, attrs) => {
  const [x, gamma, , y, mean, variance] = saved;
  const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
  const [dx, dgamma, dbeta] = bnGradOp.run({dy, x, y, gamma, mean, variance}, attrs as unknown as BnAttrs) as tf.Tensor[];
  return {x: () => dx, gamma: () => dgamma, beta: () => dbeta};
};

export const batchNormReluOp = defineOp<{x: tf.Tensor2D; gamma: tf.Tensor1D; beta: tf.Tensor1D}, BnAttrs>({
  kernelName: 'TfjsExtPointNet2BatchNormRelu',
  kernels: hostKernels<BnAttrs>(bnForward),
  gradient: {gradFunc: bnGrad, inputsToSave: ['x', 'gamma', 'beta'], outputsToSave: [true, true, true]},
  composite: ({x, gamma, beta}, {epsilon}) => bnComposite(x, gamma, beta, epsilon),
});

/** Training-mode batch norm + ReLU over rows: `[y [R, C], batchMean [C], batchVariance [C]]`. */
export function batchNormRelu(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): tf.Tensor[] {
  return batchNormReluOp.run({x, gamma, beta}, {epsilon}) as tf.Tensor[];
}

function maxForward({x}: Record<string, HostTensor>) {
  const [b, s, k, c] = x.shape;
  const xv = x.values as Float32Array;
  const out = new Float32Array(b * s * c), arg = new Int32Array(b * s * c);  // [B, S, C]
  for (let g = 0; g < b * s; g++) {
    const o = g * c, base = g * k * c;
    out.set(xv.subarray(base, base + c), o);
    for (let q = 1; q < k; q++) {
      const src = base + q * c;
      for (let j = 0; j < c; j++) {
        if (xv[src + j] > out[o + j]) {
          out[o + j] = xv[src + j];
          arg[o + j] = q;
        }
      }
    }
  }
  return [{shape: [b, s, c], values: out}, {shape: [b, s, c], dtype: 'int32' as const, values: arg}];
}

function maxBackward({dy, arg}: Record<string, HostTensor>, {k}: {k: number}) {
  const [b, s, c] = dy.shape;
  const d = dy.values as Float32Array, a = arg.values as Int32Array;
  const dx = new Float32Array(b * s * k * c);  // [B, S, K, C]
  for (let g = 0; g < b * s; g++) {
    for (let j = 0; j < c; j++) dx[(g * k + a[g * c + j]) * c + j] = d[g * c + j];
  }
  return [{shape: [b, s, k, c], values: dx}];
}

const maxGradOp = defineOp<{dy: tf.Tensor; arg: tf.Tensor}, {k: number}>({
  kernelName: 'TfjsExtPointNet2GroupMaxGrad',
  kernels: hostKernels<{k: number}>(maxBackward),
  composite: ({dy, arg}, {k}) => tf.mul(tf.expandDims(dy, 2),
      tf.cast(tf.equal(tf.expandDims(arg, 2), tf.reshape(tf.range(0, k, 1, 'int32'), [1, 1, k, 1])), 'float32')),
});

export const groupMaxOp = defineOp<{x: tf.Tensor4D}, object>({
  kernelName: 'TfjsExtPointNet2GroupMax',
  kernels: hostKernels<object>(maxForward),
  gradient: {
    inputsToSave: ['x'], outputsToSave: [false, true],
    gradFunc: (dys, saved) => {
      const [x, arg] = saved;
      const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
      return {x: () => maxGradOp.run({dy, arg}, {k: x.shape[2] as number}) as tf.Tensor};
    },
  },
  composite: ({x}) => [tf.max(x, 2), tf.cast(tf.argMax(x, 2), 'int32')],
});

/** Max over the group axis: `[B, S, K, C] -> [B, S, C]` (gradient to the first maximum on host backends). */
export function groupMax(x: tf.Tensor4D): tf.Tensor3D {
  const [out, arg] = groupMaxOp.run({x}, {}) as tf.Tensor[];
  arg.dispose();
  return out as tf.Tensor3D;
}
