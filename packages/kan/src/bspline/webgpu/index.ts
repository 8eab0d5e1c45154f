/** WebGPU kernels of the B-spline basis and its x-derivative. */
import * as tf from '@tensorflow/tfjs';
import type {KernelFunc} from '@tfjs-ext/core';
import {runProgram} from '@tfjs-ext/core/webgpu';
import type {BasisAttrs} from '../host';
import {BSplineBasisProgram} from './bspline_basis_webgpu';

function webgpuKernel(derivative: boolean): KernelFunc {
  return ({inputs, backend, attrs}) => {
    const x = inputs.x as tf.TensorInfo, grid = inputs.grid as tf.TensorInfo;
    const {order} = attrs as unknown as BasisAttrs;
    const outShape = [x.shape[0], x.shape[1], grid.shape[1] - 1 - order];
    // A fresh program per call: runWebGPUProgram rewrites its shaderKey.
    const program = new BSplineBasisProgram(outShape, order, derivative);
    return runProgram(backend, program, [x, grid]);
  };
}

export const bsplineBasisWebGPU = webgpuKernel(false);
export const bsplineBasisDerivativeWebGPU = webgpuKernel(true);
