/**
 * WebGPU program of the scatter-adds in the gradients of grouping and of 3-NN interpolation, without float
 * atomics (WGSL has none): gather-style, one invocation per target point `(b, m)` scans its batch's index rows
 * and accumulates, in index order, the gradient rows that point to it (deterministic; O(B * M * R) index reads).
 *
 * - `group`: `out[b, m, :] = sum_{r: idx[b, r] == m} dy[b, r, :]`, dy `[B, S, K, C]`, idx `[B, S, K]` (R = S*K).
 * - `interpolate`: `out[b, m, :] = sum_{(i, j): idx[b, i, j] == m} weight[b, i, j] * dy[b, i, :]`, dy `[B, n, C]`,
 *   idx and weight `[B, n, 3]` (R = 3n).
 */
import {flatDispatch, WebGPUProgram} from '@tfjs-ext/core/webgpu';

const WORKGROUP = 64;

export type ScatterMode = 'group' | 'interpolate';

export class ScatterAddProgram implements WebGPUProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = {x: [0]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  private readonly mode: ScatterMode;

  /** Output `[batch, m, c]`; one invocation per `(batch, m)`. */
  constructor(mode: ScatterMode, batch: number, m: number, c: number) {
    this.mode = mode;
    this.variableNames = mode === 'group' ? ['dy', 'idx'] : ['dy', 'idx', 'weight'];
    this.outputShape = [batch, m, c];
    this.dispatch = flatDispatch(batch * m, WORKGROUP);
    this.shaderKey = `tfjsExt_scatterAdd_${mode}`;
  }

  getUserCode(): string {
    const group = this.mode === 'group';
    const rows = group ? 'uniforms.idxShape.y * uniforms.idxShape.z' : 'uniforms.idxShape.y * 3';
    const accumulate = group ?
        `let src = (b * rows + r) * c;
         for (var ch = 0; ch < c; ch++) { result[o + ch] = result[o + ch] + dy[src + ch]; }` :
        `let w = weight[b * rows + r];
         let src = (b * uniforms.idxShape.y + r / 3) * c;
         for (var ch = 0; ch < c; ch++) { result[o + ch] = result[o + ch] + w * dy[src + ch]; }`;
    return `
      fn main(index : i32) {
        let m = uniforms.outShape.y;
        let c = uniforms.outShape.z;
        if (index >= uniforms.outShape.x * m) { return; }
        let b = index / m;
        let tgt = index % m;
        let rows = ${rows};
        let o = index * c;
        for (var ch = 0; ch < c; ch++) { result[o + ch] = 0.0; }
        for (var r = 0; r < rows; r++) {
          if (idx[b * rows + r] == tgt) {
            ${accumulate}
          }
        }
      }
    `;
  }
}
