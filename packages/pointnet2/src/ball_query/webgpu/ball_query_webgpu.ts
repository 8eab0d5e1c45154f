/**
 * WebGPU program of the ball query: one invocation per centre scans the points in index order and writes its
 * `nsample` slots (hits, then the first hit as padding; the nearest point for an empty ball).
 */
import {flatDispatch, WebGPUProgram} from '@tfjs-ext/core/webgpu';

const WORKGROUP = 64;

export class BallQueryProgram implements WebGPUProgram {
  variableNames = ['xyz', 'newXyz'];
  outputShape: number[];
  shaderKey = 'tfjsExt_ballQuery';
  dispatchLayout = {x: [0]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  uniforms = 'radius2 : f32,';

  /** Output int32 `[batch, s, nsample]`; one invocation per `(batch, s)`. */
  constructor(batch: number, s: number, nsample: number) {
    this.outputShape = [batch, s, nsample];
    this.dispatch = flatDispatch(batch * s, WORKGROUP);
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        let s = uniforms.newXyzShape.y;
        let nsample = uniforms.outShape.z;
        if (index >= uniforms.newXyzShape.x * s) { return; }
        let b = index / s;
        let n = uniforms.xyzShape.y;
        let base = b * n * 3;
        let cx = newXyz[index * 3];
        let cy = newXyz[index * 3 + 1];
        let cz = newXyz[index * 3 + 2];
        let o = index * nsample;
        var count = 0;
        var nearest = 0;
        var best = 3.0e38;
        for (var j = 0; j < n; j++) {
          let dx = xyz[base + j * 3] - cx;
          let dy = xyz[base + j * 3 + 1] - cy;
          let dz = xyz[base + j * 3 + 2] - cz;
          let d = dx * dx + dy * dy + dz * dz;
          if (d < best) { best = d; nearest = j; }
          if (d < uniforms.radius2) {
            if (count == 0) {
              for (var k = 0; k < nsample; k++) { result[o + k] = j; }
            }
            result[o + count] = j;
            count++;
            if (count == nsample) { break; }
          }
        }
        if (count == 0) {
          for (var k = 0; k < nsample; k++) { result[o + k] = nearest; }
        }
      }
    `;
  }
}
