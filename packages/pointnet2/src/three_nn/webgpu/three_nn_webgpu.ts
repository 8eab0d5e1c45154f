/**
 * WebGPU program of the 3 nearest neighbours: one invocation per unknown point scans the known points. One output
 * per program (tfjs), so the same scan runs twice: once writing the squared distances, once the indices.
 */
import {flatDispatch, WebGPUProgram} from '@tfjs-ext/core/webgpu';

const WORKGROUP = 64;

export class ThreeNNProgram implements WebGPUProgram {
  variableNames = ['unknown', 'known'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = {x: [0]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  private readonly writeIndices: boolean;

  /** Output `[batch, n, 3]`: squared distances (float32) or indices (int32). */
  constructor(batch: number, n: number, writeIndices: boolean) {
    this.outputShape = [batch, n, 3];
    this.writeIndices = writeIndices;
    this.dispatch = flatDispatch(batch * n, WORKGROUP);
    this.shaderKey = `tfjsExt_threeNN_${writeIndices ? 'idx' : 'dist2'}`;
  }

  getUserCode(): string {
    const write = this.writeIndices ?
        'result[o] = i0; result[o + 1] = i1; result[o + 2] = i2;' :
        'result[o] = d0; result[o + 1] = d1; result[o + 2] = d2;';
    return `
      fn main(index : i32) {
        let n = uniforms.unknownShape.y;
        if (index >= uniforms.unknownShape.x * n) { return; }
        let b = index / n;
        let m = uniforms.knownShape.y;
        let ux = unknown[index * 3];
        let uy = unknown[index * 3 + 1];
        let uz = unknown[index * 3 + 2];
        var d0 = 3.0e38; var d1 = 3.0e38; var d2 = 3.0e38;
        var i0 = 0; var i1 = 0; var i2 = 0;
        for (var j = 0; j < m; j++) {
          let ko = (b * m + j) * 3;
          let dx = known[ko] - ux;
          let dy = known[ko + 1] - uy;
          let dz = known[ko + 2] - uz;
          let d = dx * dx + dy * dy + dz * dz;
          if (d < d0) {
            d2 = d1; i2 = i1; d1 = d0; i1 = i0; d0 = d; i0 = j;
          } else if (d < d1) {
            d2 = d1; i2 = i1; d1 = d; i1 = j;
          } else if (d < d2) {
            d2 = d; i2 = j;
          }
        }
        let o = index * 3;
        ${write}
      }
    `;
  }
}
