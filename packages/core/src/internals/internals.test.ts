/**
 * The private tfjs internals tfjs-ext relies on (internals/index.ts), checked on every backend: if a tfjs
 * upgrade renames or changes one, this suite fails and names it.
 */
import * as tf from '@tensorflow/tfjs';
import {describeBackends, expectClose} from '@tfjs-ext/core/testing';
import {expect} from 'chai';
import {backendKind, hostTensorFromValues, hostTensorValues, missingInternals, tensorOwnerBackend, tfjsWasmHeap,
        webgpuInvalidateCpuCopy} from './index';

const EXPECTED_KIND: Record<string, string> = {cpu: 'cpu', wasm: 'wasm', webgpu: 'webgpu', tensorflow: 'tensorflow',
                                               webgl: 'other'};

describeBackends('tfjs internals adapter', ({backend}) => {
  it('finds every internal it relies on, and recognises the backend', () => {
    expect(missingInternals(tf.backend(), backend)).to.deep.equal([]);
    expect(backendKind(tf.backend())).to.equal(EXPECTED_KIND[backend] ?? 'other');
  });

  it('knows which backend holds a tensor', () => {
    const t = tf.tensor1d([1, 2, 3]);
    expect(tensorOwnerBackend(t.dataId)).to.equal(tf.backend());
    t.dispose();
    expect(tensorOwnerBackend(t.dataId)).to.equal(undefined);
  });

  if (['cpu', 'wasm', 'tensorflow'].includes(backend)) {
    it('reads host tensors (cpu, wasm: in place) and creates them from values', async () => {
      const t = tf.tensor2d([1.5, -2, 3, 4.25, 5, 6], [2, 3]);
      const values = hostTensorValues(tf.backend(), t);
      expect(values).to.be.instanceOf(Float32Array);
      expect(Array.from(values!)).to.deep.equal([1.5, -2, 3, 4.25, 5, 6]);
      if (backend === 'cpu') expect(hostTensorValues(tf.backend(), t)).to.equal(values);  // the backend's own array
      if (backend === 'wasm') expect(values!.buffer).to.equal(tfjsWasmHeap()!.memory.buffer);  // a heap view
      const info = hostTensorFromValues(tf.backend(), [3], 'int32', Int32Array.from([7, 8, 9]));
      const made = tf.engine().makeTensorFromTensorInfo(info);
      expect(made.dtype).to.equal('int32');
      expect(Array.from(await made.data())).to.deep.equal([7, 8, 9]);
      tf.dispose([t, made]);
    });
  }

  if (backend === 'wasm') {
    it('reaches the wasm heap allocator', () => {
      const heap = tfjsWasmHeap();
      expect(heap).to.not.equal(null);
      const at = heap!.malloc(256);
      expect(at).to.be.above(0);
      new Uint8Array(heap!.memory.buffer, at, 256).fill(7);
      heap!.free(at);
    });
  } else {
    it('reports no wasm heap where the tfjs wasm backend is not the one running', () => {
      // The wasm backend may be registered (then its heap exists) or not; only a real heap is returned.
      const heap = tfjsWasmHeap();
      if (heap !== null) expect(heap.memory).to.be.instanceOf(WebAssembly.Memory);
    });
  }

  if (backend === 'webgpu') {
    it('drops a stale CPU copy of a webgpu tensor, and reads come from the GPU again', async () => {
      // Large enough that tfjs runs the add on the GPU (small ops are handed to its CPU fallback).
      const want = Float32Array.from({length: 4096}, (_, i) => i + 1);
      const t = tf.tidy(() => tf.add(tf.range(0, 4096), 1));
      expectClose(await t.data(), want, {name: 'before'});
      const entry = (tf.backend() as unknown as {tensorMap: {get(id: object): {values: unknown}}}).tensorMap
                        .get(t.dataId);
      webgpuInvalidateCpuCopy(tf.backend(), t.dataId);
      expect(entry.values).to.equal(null);
      expectClose(await t.data(), want, {name: 'after invalidation'});
      t.dispose();
    });
  }
});
