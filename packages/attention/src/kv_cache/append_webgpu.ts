/**
 * In-place KV-cache append on webgpu: a program whose output is the existing cache tensor (passed as
 * runWebGPUProgram's `output`), so only the new positions are written and nothing is reallocated.
 */
import * as tf from '@tensorflow/tfjs';
import {webgpuInvalidateCpuCopy} from '@tfjs-ext/core/internals';
import {runProgram} from '@tfjs-ext/core/webgpu';
import type {WebGPUBackendLike, WebGPUProgram} from '@tfjs-ext/core/webgpu';

const WORKGROUP = 64;

/** result[b, offset[b] + t] = x[b, t] for t < count[b]; `rows` holds (offset, count) per batch row. */
export class KVCacheAppendProgram implements WebGPUProgram {
  variableNames = ['x', 'rows'];
  outputShape: number[];
  shaderKey = 'tfjsExtKVCacheAppend';
  dispatchLayout = {x: [0]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  uniforms = 'total : i32,';

  constructor(cacheShape: number[], newElements: number) {
    this.outputShape = cacheShape;
    this.dispatch = [Math.ceil(newElements / WORKGROUP), 1, 1];
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index >= uniforms.total) { return; }
        let rowSize = uniforms.xShape.z * uniforms.xShape.w;  // kvHeads * headDim
        let b = index / (uniforms.xShape.y * rowSize);
        let rem = index - b * uniforms.xShape.y * rowSize;
        let t = rem / rowSize;
        let e = rem - t * rowSize;
        if (t < rows[2 * b + 1]) {
          result[(b * uniforms.outShape.y + rows[2 * b] + t) * rowSize + e] = x[index];
        }
      }
    `;
  }
}

/** Writes `x` [B, T, Hkv, D] into `cache` [B, L, Hkv, D] at per-row offsets, in place. */
export function appendWebGPU(backend: WebGPUBackendLike, cache: tf.Tensor, x: tf.Tensor, offsets: ArrayLike<number>,
                             counts: ArrayLike<number>): void {
  const rowsData = new Int32Array(2 * offsets.length);
  for (let b = 0; b < offsets.length; b++) {
    rowsData[2 * b] = offsets[b];
    rowsData[2 * b + 1] = counts[b];
  }
  const rows = backend.makeTensorInfo([rowsData.length], 'int32', rowsData);
  try {
    const program = new KVCacheAppendProgram(cache.shape, x.size);
    runProgram(backend, program, [x, rows], {uniforms: [{type: 'int32', data: [x.size]}], output: cache});
  } finally {
    backend.disposeData(rows.dataId);
  }
  // A read of the cache may have left a CPU copy of its values; it is stale now.
  webgpuInvalidateCpuCopy(backend, cache.dataId);
}
