/**
 * Gradient of the basis in x: dL/dx[b, i] = sum_m dy[b, i, m] * dB_m/dx(x[b, i]). The derivative is its own op
 * (kernels on cpu, wasm, webgpu; composite elsewhere). The grid is a constant of the layer: zero gradient.
 */
import * as tf from '@tensorflow/tfjs';
import {defineOp, GradFunc} from '@tfjs-ext/core';
import {bsplineBasisDerivativeComposite} from './composite';
import {BasisAttrs, bsplineBasisDerivativeHostKernels} from './host';
import {bsplineBasisDerivativeWebGPU} from './webgpu';

type BasisInputs = {x: tf.Tensor2D; grid: tf.Tensor2D};

/** dB/dx `[batch, nIn, nBasis]` (first order only: it registers no gradient of its own). */
export const bsplineBasisDerivativeOp = defineOp<BasisInputs, BasisAttrs>({
  kernelName: 'TfjsExtBSplineBasisDerivative',
  kernels: {
    ...bsplineBasisDerivativeHostKernels, webgpu: bsplineBasisDerivativeWebGPU,
    tensorflow: bsplineBasisDerivativeHostKernels.cpu,  // tensorflow: the backward of the forward's row (bench kan)
  },
  composite: ({x, grid}, {order}) => bsplineBasisDerivativeComposite(x, grid, order),
});

export const bsplineBasisGradFunc: GradFunc = (dy, saved, attrs) => {
  const [x, grid] = saved;
  const {order} = attrs as unknown as BasisAttrs;
  return {
    x: () => {
      const d = bsplineBasisDerivativeOp.run({x: x as tf.Tensor2D, grid: grid as tf.Tensor2D}, {order}) as tf.Tensor;
      return tf.sum(tf.mul(dy as tf.Tensor, d), 2);
    },
    grid: () => tf.zerosLike(grid),
  };
};
