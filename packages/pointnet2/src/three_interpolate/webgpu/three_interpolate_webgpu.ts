/** WebGPU program of 3-NN interpolation: one invocation per output element `(b, i, c)`. */
import {ElementwiseProgram} from '@tfjs-ext/core/webgpu';

export class ThreeInterpolateProgram extends ElementwiseProgram {
  variableNames = ['features', 'idx', 'weight'];

  /** Output `[B, n, C]`. */
  constructor(outputShape: number[]) {
    super(outputShape, 'threeInterpolate');
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let c = uniforms.featuresShape.z;
          let m = uniforms.featuresShape.y;
          let row = index / c;
          let ch = index % c;
          let b = row / uniforms.idxShape.y;
          let r = row * 3;
          let base = b * m;
          result[index] = weight[r] * features[(base + idx[r]) * c + ch] +
                          weight[r + 1] * features[(base + idx[r + 1]) * c + ch] +
                          weight[r + 2] * features[(base + idx[r + 2]) * c + ch];
        }
      }
    `;
  }
}
