/** WebGPU kernel of the ball query. */
import * as tf from '@tensorflow/tfjs';
import type {KernelFunc} from '@tfjs-ext/core';
import {runProgram} from '@tfjs-ext/core/webgpu';
import type {BallQueryAttrs} from '../cpu';
import {BallQueryProgram} from './ball_query_webgpu';

export const ballQueryWebGPU: KernelFunc = ({inputs, backend, attrs}) => {
  const xyz = inputs.xyz as tf.TensorInfo, newXyz = inputs.newXyz as tf.TensorInfo;
  const {radius, nsample} = attrs as unknown as BallQueryAttrs;
  const program = new BallQueryProgram(newXyz.shape[0], newXyz.shape[1], nsample);
  return runProgram(backend, program, [xyz, newXyz],
                    {dtype: 'int32', uniforms: [{type: 'float32', data: [radius * radius]}]});
};
