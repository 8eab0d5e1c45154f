/**
 * Benchmarks of a kernel on a backend it is not registered for (to decide whether to register it there, and
 * to keep showing why not): the kernels are registered only while `fn` runs.
 */
import * as tf from '@tensorflow/tfjs';
import type {KernelFunc} from '../kernel';

/** A kernel to register for the duration of a call. */
export interface TemporaryKernel {
  kernelName: string;
  backendName: string;
  kernelFunc: KernelFunc;
}

/**
 * Runs `fn` with `kernels` registered; those that were not registered before are unregistered afterwards
 * (already registered ones stay as they are). Synchronous `fn` only: tensors it returns are already computed.
 *
 * @example
 * ```ts
 * const y = withKernelsRegistered([{kernelName: 'TfjsExtBSplineBasis', backendName: 'tensorflow',
 *                                   kernelFunc: bsplineBasisHostKernels.cpu}], () => bsplineBasis(x, grid, 3));
 * ```
 */
export function withKernelsRegistered<T>(kernels: TemporaryKernel[], fn: () => T): T {
  const added = kernels.filter((k) => tf.getKernel(k.kernelName, k.backendName) === undefined);
  for (const k of added) tf.registerKernel(k);
  try {
    return fn();
  } finally {
    for (const k of added) tf.unregisterKernel(k.kernelName, k.backendName);
  }
}
