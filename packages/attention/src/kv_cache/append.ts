/**
 * KV-cache append paths. tfjs tensors are immutable in the public API, so the in-place paths write into the
 * backend's storage of the preallocated cache tensor directly:
 *  - cpu:  the typed array the cpu backend keeps for the tensor (`backend.data.get(dataId).values`);
 *  - wasm: a view of the tensor's bytes on the wasm heap (`backend.typedArrayFromHeap`);
 *  - webgpu: a WGSL program whose output is the cache tensor itself (append_webgpu.ts).
 * Every other backend (webgl, tensorflow, ...) rebuilds the cache with slice + concat: a full copy per append.
 * Anything sharing the cache tensor's storage (e.g. a `tf.clone` or `reshape` of `KVCache.keys`) sees the writes.
 */
import * as tf from '@tensorflow/tfjs';
import {backendKind, hostTensorValues, tensorOwnerBackend} from '@tfjs-ext/core/internals';
import {isWebGPUBackend} from '@tfjs-ext/core/webgpu';
import {appendWebGPU} from './append_webgpu';

export type AppendPath = 'in-place' | 'reallocate';

/** Host-backend storage of `cache` that can be written in place, or undefined when there is none. */
function hostStorage(backend: tf.KernelBackend, cache: tf.Tensor): Float32Array | undefined {
  // tensorflow's values are a copy out of libtensorflow: writing them would change nothing.
  const kind = backendKind(backend);
  if (kind !== 'wasm' && kind !== 'cpu') return undefined;
  const values = hostTensorValues(backend, cache);
  return values instanceof Float32Array ? values : undefined;
}

/**
 * Writes `x` [B, T, Hkv, D] into `cache` [B, L, Hkv, D] at row b's position `offsets[b]`, `counts[b]` positions
 * of row b. Returns the cache tensor to use from now on (the same one unless the path was 'reallocate', in
 * which case the old one was disposed) and the path taken.
 */
export function appendRows(cache: tf.Tensor4D, x: tf.Tensor4D, offsets: ArrayLike<number>,
                           counts: ArrayLike<number>): {cache: tf.Tensor4D; path: AppendPath} {
  const backend = tf.backend();
  const resident = tensorOwnerBackend(cache.dataId) === backend && tensorOwnerBackend(x.dataId) === backend;
  if (resident && isWebGPUBackend(backend)) {
    appendWebGPU(backend, cache, x, offsets, counts);
    return {cache, path: 'in-place'};
  }
  const storage = resident ? hostStorage(backend, cache) : undefined;
  if (storage !== undefined) {
    const [batch, maxLength, hkv, d] = cache.shape;
    const t = x.shape[1];
    const src = x.dataSync() as Float32Array;  // host backends: no GPU readback (cpu: no copy either)
    const row = hkv * d;
    for (let b = 0; b < batch; b++) {
      const from = b * t * row;
      storage.set(src.subarray(from, from + counts[b] * row), (b * maxLength + offsets[b]) * row);
    }
    return {cache, path: 'in-place'};
  }
  const rebuilt = tf.tidy(() => appendComposite(cache, x, offsets, counts));
  cache.dispose();
  return {cache: tf.keep(rebuilt), path: 'reallocate'};
}

/** The composite append: each batch row rebuilt as [old prefix, new rows, old suffix]. */
export function appendComposite(cache: tf.Tensor4D, x: tf.Tensor4D, offsets: ArrayLike<number>,
                         counts: ArrayLike<number>): tf.Tensor4D {
  const [batch, maxLength, hkv, d] = cache.shape;
  const rows = Array.from({length: batch}, (_, b) => {
    const off = offsets[b], n = counts[b];
    if (n === 0) return tf.slice(cache, [b, 0, 0, 0], [1, maxLength, hkv, d]);
    const parts = [
      tf.slice(cache, [b, 0, 0, 0], [1, off, hkv, d]),
      tf.slice(x, [b, 0, 0, 0], [1, n, hkv, d]),
      tf.slice(cache, [b, off + n, 0, 0], [1, maxLength - off - n, hkv, d]),
    ].filter((p) => p.shape[1] > 0);
    return parts.length === 1 ? parts[0] : tf.concat(parts, 1);
  });
  return (rows.length === 1 ? rows[0] : tf.concat(rows, 0)) as tf.Tensor4D;
}
