/** WebGPU program of grouping: one invocation per output element `(b, s, k, c)` copies one feature value. */
import {ElementwiseProgram} from '@tfjs-ext/core/webgpu';

export class GroupPointsProgram extends ElementwiseProgram {
  variableNames = ['features', 'idx'];

  /** Output `[B, S, K, C]`. */
  constructor(outputShape: number[]) {
    super(outputShape, 'groupPoints');
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let c = uniforms.featuresShape.z;
          let n = uniforms.featuresShape.y;
          let row = index / c;
          let rowsPerBatch = uniforms.idxShape.y * uniforms.idxShape.z;
          let b = row / rowsPerBatch;
          let j = idx[row];
          result[index] = features[(b * n + j) * c + index % c];
        }
      }
    `;
  }
}
