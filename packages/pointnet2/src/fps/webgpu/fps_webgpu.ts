/**
 * WebGPU program of farthest point sampling: one workgroup of 256 invocations per batch item. Each invocation
 * keeps the running minima of its strided share of the points in private memory; every step is a workgroup
 * argmax reduction (lowest index on ties) followed by a barrier, so the whole sampling is one dispatch.
 */
import type {WebGPUProgram} from '@tfjs-ext/core/webgpu';

export const FPS_WORKGROUP = 256;

export class FarthestPointSampleProgram implements WebGPUProgram {
  variableNames = ['xyz'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: {x: number[]; y: number[]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [FPS_WORKGROUP, 1, 1];
  /** Points per invocation (baked in: the size of the private minima array). */
  private readonly perThread: number;

  /** `batch`, `n` points, `npoint` chosen: output int32 `[batch, npoint]`. */
  constructor(batch: number, n: number, npoint: number) {
    this.outputShape = [batch, npoint];
    this.perThread = Math.ceil(n / FPS_WORKGROUP);
    // A y layout keeps tfjs from calling main(index): this program addresses by workgroup and local index.
    this.dispatchLayout = {x: [0], y: [1]};
    this.dispatch = [batch, 1, 1];
    this.shaderKey = `tfjsExt_fps_${this.perThread}`;
  }

  getUserCode(): string {
    const wg = FPS_WORKGROUP;
    return `
      var<workgroup> bestDist : array<f32, ${wg}>;
      var<workgroup> bestIdx : array<i32, ${wg}>;

      fn main() {
        let b = i32(workgroupId.x);
        let tid = i32(localIndex);
        let n = uniforms.xyzShape.y;
        let npoint = uniforms.outShape.y;
        let base = b * n * 3;
        var minDist : array<f32, ${this.perThread}>;
        for (var k = 0; k < ${this.perThread}; k++) { minDist[k] = 3.0e38; }
        var far = 0;
        if (tid == 0) { result[b * npoint] = 0; }
        for (var i = 1; i < npoint; i++) {
          let cx = xyz[base + far * 3];
          let cy = xyz[base + far * 3 + 1];
          let cz = xyz[base + far * 3 + 2];
          var myBest = -1.0;
          var myIdx = 0;
          for (var k = 0; k < ${this.perThread}; k++) {
            let j = tid + k * ${wg};
            if (j < n) {
              let dx = xyz[base + j * 3] - cx;
              let dy = xyz[base + j * 3 + 1] - cy;
              let dz = xyz[base + j * 3 + 2] - cz;
              let d = min(dx * dx + dy * dy + dz * dz, minDist[k]);
              minDist[k] = d;
              if (d > myBest) { myBest = d; myIdx = j; }
            }
          }
          bestDist[tid] = myBest;
          bestIdx[tid] = myIdx;
          workgroupBarrier();
          for (var stride = ${wg / 2}; stride > 0; stride = stride / 2) {
            if (tid < stride) {
              let od = bestDist[tid + stride];
              let oi = bestIdx[tid + stride];
              let md = bestDist[tid];
              if (od > md || (od == md && oi < bestIdx[tid])) {
                bestDist[tid] = od;
                bestIdx[tid] = oi;
              }
            }
            workgroupBarrier();
          }
          far = bestIdx[0];
          if (tid == 0) { result[b * npoint + i] = far; }
          workgroupBarrier();
        }
      }
    `;
  }
}
