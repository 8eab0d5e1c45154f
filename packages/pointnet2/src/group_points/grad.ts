/**
 * Gradient of grouping in features: a scatter-add of the output gradient back to the N points, as its own op
 * (host kernels on cpu and wasm, a gather-style WGSL program on webgpu, a segment sum elsewhere). The indices get
 * no gradient (int32; never on a differentiable path).
 */
import * as tf from '@tensorflow/tfjs';
import {defineOp, GradFunc} from '@tfjs-ext/core';
import {groupPointsGradComposite} from './composite';
import {GroupGradAttrs, groupPointsGradHostKernels} from './cpu';
import {scatterAddWebGPU} from './webgpu';

export const groupPointsGradOp = defineOp<{dy: tf.Tensor4D; idx: tf.Tensor3D}, GroupGradAttrs>({
  kernelName: 'TfjsExtGroupPointsGrad',
  kernels: {...groupPointsGradHostKernels, webgpu: scatterAddWebGPU('group')},
  composite: ({dy, idx}, {n}) => groupPointsGradComposite(dy, idx, n),
});

export const groupPointsGradFunc: GradFunc = (dy, saved) => {
  const [features, idx] = saved;
  return {
    features: () => groupPointsGradOp.run({dy: dy as tf.Tensor4D, idx: idx as tf.Tensor3D},
                                          {n: features.shape[1] as number}) as tf.Tensor,
  };
};
