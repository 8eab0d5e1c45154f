/**
 * The gradient of the forward kernel, registered once for every backend. It runs the backend's backward kernel
 * `TfjsExtSSDGrad` (cpu, wasm: host kernels) or, where the backend has only the scan kernel `TfjsExtSSDScan`
 * (webgpu), the backward composed of four scans (grad_scan.ts). Backends with no SSD kernel run the composite,
 * which tfjs's autograd differentiates.
 */
import * as tf from '@tensorflow/tfjs';
import {hasKernel, withScope} from '@tfjs-ext/core';
import type {GradFunc} from '@tfjs-ext/core';
import {SSD_GRAD} from './contract';
import {ssdBackwardByScans} from './grad_scan';
import {SSD_SCAN} from './scan_contract';

const INPUTS = ['x', 'dt', 'A', 'B', 'C', 'D', 'initialState'] as const;

let forceScans = 0;

/**
 * Runs `fn` with the scan-composed backward even where a backward kernel exists (tests check that path on the
 * host backends too). Works for async `fn` (the scope closes when its promise settles).
 */
export function withScanBackward<R>(fn: () => R): R {
  return withScope(() => { forceScans++; }, () => { forceScans--; }, fn);
}

/** The shared gradient function of SSD (saved: the seven inputs and both outputs; cotangents [dy, dFinalState]). */
export const ssdGradFunc: GradFunc = (dys, saved, attrs) => {
  const [dy, dFinalState] = dys as tf.Tensor[];
  const [x, dt, A, B, C, D, initialState, y, finalState] = saved;
  let grads: tf.Tensor[];
  if (hasKernel(SSD_GRAD) && forceScans === 0) {
    grads = tf.engine().runKernel(SSD_GRAD, {x, dt, A, B, C, D, initialState, dy, dFinalState},
                                  attrs as tf.NamedAttrMap) as tf.Tensor[];
  } else if (hasKernel(SSD_SCAN)) {
    grads = ssdBackwardByScans(x, dt, A, B, C, D, initialState, y, finalState, dy, dFinalState);
  } else {
    throw new Error(`ssd: backend '${tf.getBackend()}' has a forward SSD kernel but neither ${SSD_GRAD} nor ` +
                    `${SSD_SCAN}`);
  }
  return Object.fromEntries(INPUTS.map((name, i) => [name, () => grads[i]]));
};

export const ssdGradient = {gradFunc: ssdGradFunc, inputsToSave: [...INPUTS], outputsToSave: [true, true]};
