/**
 * Backward pre-pass: `D[b, h, i] = rowsum(dO * O)`, the per-row term of `dS = P * (dP - D)`, minus `dLse`
 * when the lse output has a gradient too (d lse_i / d S_ij = P_ij, so it folds into the same term). One
 * invocation per query row (the pass is O(B*Nq*Hq*D), small against the two attention passes).
 */
import {componentsFor, FlashProgram, ROWS_PER_WORKGROUP} from './common';

export class FlashAttentionRowDotProgram implements FlashProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = {x: [0]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [ROWS_PER_WORKGROUP, 1, 1];
  variableNames: string[];
  variableComponents: number[];
  size = true;
  private readonly headDim: number;
  private readonly components: number;
  private readonly withDLse: boolean;

  /** Shape of `dy` and `output`: `[B, Nq, Hq, D]`; `dLse`: `[B, Hq, Nq]` if given; the result is flat. */
  constructor(yShape: number[], withDLse: boolean) {
    const [batch, nq, hq, d] = yShape;
    this.headDim = d;
    this.components = componentsFor(d);
    this.withDLse = withDLse;
    this.variableNames = withDLse ? ['dy', 'y', 'dLse'] : ['dy', 'y'];
    this.variableComponents = withDLse ? [this.components, this.components, 1] : [this.components, this.components];
    this.outputShape = [batch * hq * nq];
    this.dispatch = [Math.ceil(batch * hq * nq / ROWS_PER_WORKGROUP), 1, 1];
    this.shaderKey = `tfjsExtFlashRowDot_d${d}_c${this.components}_dlse${withDLse}`;
  }

  getUserCode(): string {
    const dv = this.headDim / this.components;
    const dot = this.components === 4 ? 'dot(dy[base + d], y[base + d])' : 'dy[base + d] * y[base + d]';
    return `
  fn main(index : i32) {
    if (index < uniforms.size) {
      let nq = uniforms.dyShape.y;
      let hq = uniforms.dyShape.z;
      let bh = index / nq;                       // index = (b * Hq + h) * Nq + i
      let i = index - bh * nq;
      let b = bh / hq;
      let h = bh - b * hq;
      let base = ((b * nq + i) * hq + h) * ${dv};
      var acc = 0.0;
      for (var d = 0; d < ${dv}; d++) {
        acc += ${dot};
      }
      result[index] = acc${this.withDLse ? ' - dLse[index]' : ''};
    }
  }`;
  }
}
