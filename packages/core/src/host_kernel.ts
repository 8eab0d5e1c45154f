/**
 * Kernels written once in plain JS over typed arrays, registered for the backends whose tensors live in host
 * memory (`cpu`, and `wasm`, whose heap is host memory too), and, op by op where measured to win, for
 * `tensorflow` (tfjs-node: libtensorflow's tensors live in host memory, behind its C API).
 *
 * On `cpu` inputs are read and outputs adopted without a copy. On `wasm` inputs are zero-copy views of the heap
 * and each output costs one copy into the heap (O(output) against the kernel's work). On `tensorflow` each input
 * costs one copy out of libtensorflow (`readSync`) and outputs are adopted as JS values (libtensorflow copies
 * them in when a TF op first uses them).
 */
import * as tf from '@tensorflow/tfjs';
import {backendKind, hostTensorFromValues, hostTensorValues} from './internals';
import type {KernelFunc} from './kernel';

type TypedArray = Float32Array | Int32Array | Uint8Array;

/** A tensor as a host kernel sees it: shape, dtype and its values (read-only; never mutate). */
export interface HostTensor {
  shape: number[];
  dtype: tf.DataType;
  values: TypedArray;
}

/** An output a host kernel returns. `dtype` defaults to float32. */
export interface HostOutput {
  shape: number[];
  dtype?: 'float32' | 'int32';
  values: Float32Array | Int32Array;
}

/**
 * An output the kernel writes into the tensor's own storage instead of returning values: on `wasm` straight into
 * the heap (no copy of a large output, no fresh pages), elsewhere into a new zero-filled array that is adopted.
 * `write` gets the inputs again: on `wasm` allocating the outputs may grow the heap, which detaches the views
 * the kernel saw first. Writes run in output order, after every output is allocated. `write` must set every
 * element: the wasm heap block is not cleared.
 */
export interface HostOutputWriter {
  shape: number[];
  dtype?: 'float32' | 'int32';
  write: (out: Float32Array | Int32Array, inputs: Record<string, HostTensor>) => void;
}

/**
 * The backends whose tensors are host memory read for free: `hostKernels` registers for these, and ops may read
 * tensors synchronously there. `hostKernel` also works on `tensorflow` (one copy per input), registered per op.
 */
export const HOST_BACKENDS = ['cpu', 'wasm'] as const;

/**
 * A new output tensor to write into: on wasm allocated on the heap (`values` left out: read the view after every
 * allocation), elsewhere a zero-filled array adopted by the backend (`values` is that array).
 */
function newHostTensor(backend: unknown, shape: number[], dtype: 'float32' | 'int32'):
    {info: tf.TensorInfo; values?: Float32Array | Int32Array} {
  if (backendKind(backend) === 'wasm') return {info: hostTensorFromValues(backend, shape, dtype, null)};
  const size = shape.reduce((a, b) => a * b, 1);
  const values = dtype === 'int32' ? new Int32Array(size) : new Float32Array(size);
  return {info: hostTensorFromValues(backend, shape, dtype, values), values};
}

function readInput(backend: unknown, info: tf.TensorInfo): HostTensor {
  const values = hostTensorValues(backend, info);
  if (values === undefined) throw new Error(`hostKernel: unsupported input storage for dtype ${info.dtype}`);
  return {shape: info.shape, dtype: info.dtype, values};
}

/**
 * Wraps a JS kernel over typed arrays as a tfjs kernel function for `cpu`, `wasm` and `tensorflow`.
 *
 * @example
 * ```ts
 * const kernels = hostKernels<{scale: number}>(({x}, {scale}) =>
 *     [{shape: x.shape, values: (x.values as Float32Array).map((v) => v * scale)}]);
 * defineOp({kernelName: 'TfjsExtScale', kernels, composite: ({x}, {scale}) => tf.mul(x, scale)});
 * ```
 */
export function hostKernel<A extends object>(
    impl: (inputs: Record<string, HostTensor>, attrs: A) => Array<HostOutput | HostOutputWriter>): KernelFunc {
  return ({inputs, backend, attrs}) => {
    const read = () => {
      const hostInputs: Record<string, HostTensor> = {};
      for (const [name, info] of Object.entries(inputs)) {
        if (info !== undefined) hostInputs[name] = readInput(backend, info as tf.TensorInfo);
      }
      return hostInputs;
    };
    const outputs = impl(read(), attrs as unknown as A);
    const writers: Array<{info: tf.TensorInfo; write: HostOutputWriter['write']; values?: Float32Array | Int32Array}> = [];
    const infos = outputs.map((o) => {
      const dtype = o.dtype ?? 'float32';
      if ('values' in o) return hostTensorFromValues(backend, o.shape, dtype, o.values);
      const w = newHostTensor(backend, o.shape, dtype);
      writers.push({...w, write: o.write});
      return w.info;
    });
    if (writers.length > 0) {
      const fresh = read();  // views taken after every allocation (a heap growth detaches the earlier ones)
      for (const w of writers) w.write(w.values ?? hostTensorValues(backend, w.info) as Float32Array | Int32Array, fresh);
    }
    return infos.length === 1 ? infos[0] : infos;
  };
}

/** The same host kernel registered for every host backend: `{cpu: k, wasm: k}`. */
export function hostKernels<A extends object>(
    impl: (inputs: Record<string, HostTensor>, attrs: A) => Array<HostOutput | HostOutputWriter>):
    Record<string, KernelFunc> {
  const k = hostKernel(impl);
  return Object.fromEntries(HOST_BACKENDS.map((b) => [b, k]));
}
