/**
 * The gradient of the forward kernel, registered once for every backend: it runs the backward kernel
 * `TfjsExtSSDGrad` of the active backend. A forward kernel is registered only where a backward kernel is too
 * (backends with neither run the composite, which tfjs's autograd differentiates).
 */
import * as tf from '@tensorflow/tfjs';
import {hasKernel} from '@tfjs-ext/core';
import type {GradFunc} from '@tfjs-ext/core';
import {SSD_GRAD} from './contract';

const INPUTS = ['x', 'dt', 'A', 'B', 'C', 'D', 'initialState'] as const;

/** The shared gradient function of SSD (saved: the seven inputs; cotangents [dy, dFinalState]). */
export const ssdGradFunc: GradFunc = (dys, saved, attrs) => {
  const [dy, dFinalState] = dys as tf.Tensor[];
  const [x, dt, A, B, C, D, initialState] = saved;
  if (!hasKernel(SSD_GRAD)) {
    throw new Error(`ssd: backend '${tf.getBackend()}' has a forward SSD kernel but no backward kernel ${SSD_GRAD}`);
  }
  const grads = tf.engine().runKernel(SSD_GRAD, {x, dt, A, B, C, D, initialState, dy, dFinalState},
                                      attrs as tf.NamedAttrMap) as tf.Tensor[];
  return Object.fromEntries(INPUTS.map((name, i) => [name, () => grads[i]]));
};

export const ssdGradient = {gradFunc: ssdGradFunc, inputsToSave: [...INPUTS]};
