/**
 * WebGPU program of the B-spline basis (or its x-derivative): one invocation per output element
 * `(b, i, m)` runs the Cox-de Boor triangle over the `order + 1` order-0 indicators that B_m depends on.
 */
import type {WebGPUProgram} from '@tfjs-ext/core/webgpu';

const WORKGROUP = 64;

export class BSplineBasisProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: {x: number[]};
  dispatch: [number, number, number];
  variableNames = ['x', 'grid'];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  size = true;
  private readonly order: number;
  private readonly derivative: boolean;

  /** outputShape `[batch, nIn, nBasis]`. */
  constructor(outputShape: number[], order: number, derivative: boolean) {
    this.outputShape = outputShape;
    this.order = order;
    this.derivative = derivative;
    this.dispatchLayout = {x: [0, 1, 2]};
    const size = outputShape.reduce((a, b) => a * b, 1);
    this.dispatch = [Math.ceil(size / WORKGROUP), 1, 1];
    this.shaderKey = `tfjsExtBSplineBasis_${order}_${derivative ? 'd' : 'b'}`;
  }

  getUserCode(): string {
    const k = this.order;
    // The derivative needs order k-1 bases m and m+1: the triangle stops one level early with two survivors.
    const levels = this.derivative ? k - 1 : k;
    const finish = this.derivative ?
        `let t = gOff + m;
         value = f32(${k}) * (b[0] / (grid[t + ${k}] - grid[t]) - b[1] / (grid[t + ${k + 1}] - grid[t + 1]));` :
        'value = b[0];';
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let nBasis = uniforms.outShape.z;
          let nIn = uniforms.xShape.y;
          let nKnots = uniforms.gridShape.y;
          let m = index % nBasis;
          let bi = index / nBasis;
          let i = bi % nIn;
          let xv = x[bi];
          let gOff = i * nKnots;
          var b : array<f32, ${k + 1}>;
          for (var j = 0; j <= ${k}; j++) {
            let lo = grid[gOff + m + j];
            let hi = grid[gOff + m + j + 1];
            b[j] = select(0.0, 1.0, xv >= lo && xv < hi);
          }
          for (var p = 1; p <= ${levels}; p++) {
            for (var j = 0; j <= ${k} - p; j++) {
              let t = gOff + m + j;
              let tm = grid[t];
              let tm1 = grid[t + 1];
              let tmp = grid[t + p];
              let tmp1 = grid[t + p + 1];
              b[j] = (xv - tm) / (tmp - tm) * b[j] + (tmp1 - xv) / (tmp1 - tm1) * b[j + 1];
            }
          }
          var value = 0.0;
          ${finish}
          setOutputAtIndex(index, value);
        }
      }
    `;
  }
}
