/**
 * Merge of split-KV forward partials (flash-decoding): with the chunks' normalised outputs `O_c` and
 * log-sum-exps `lse_c` (-3e38 for a chunk with no visible key), `LSE = M + log sum_c exp(lse_c - M)` with
 * `M = max_c lse_c`, and `O = sum_c exp(lse_c - LSE) O_c`. A row no chunk saw gets output 0 and lse -Infinity.
 *
 * One program per result (tfjs programs have one output): `output` writes O (one invocation per float, each
 * recomputing its row's weights from `chunks` lse values: a few cached reads), `lse` writes LSE.
 */
import {FlashProgram, ROWS_PER_WORKGROUP} from './common';

export class ForwardMergeProgram implements FlashProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = {x: [0]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [ROWS_PER_WORKGROUP, 1, 1];
  variableNames = ['partials'];
  variableComponents = [1];
  uniforms = 'nq : i32, hq : i32, batch : i32,';
  size = true;
  private readonly result: 'output' | 'lse';
  private readonly headDim: number;
  private readonly chunks: number;

  /** `qShape: [B, Nq, Hq, D]`; the result is flat: `[B*Nq*Hq*D]` (output) or `[B*Hq*Nq]` (lse). */
  constructor(qShape: number[], chunks: number, result: 'output' | 'lse') {
    const [batch, nq, hq, d] = qShape;
    this.result = result;
    this.headDim = d;
    this.chunks = chunks;
    const size = result === 'output' ? batch * nq * hq * d : batch * hq * nq;
    this.outputShape = [size];
    this.dispatch = [Math.ceil(size / ROWS_PER_WORKGROUP), 1, 1];
    this.shaderKey = `tfjsExtFlashFwdMerge_${result}_d${d}_chunks${chunks}`;
  }

  getUserCode(): string {
    const lseIndex = this.result === 'output' ?
        `      // index = ((b * Nq + i) * Hq + h) * D + d
      let row = index / HEAD_DIM;
      let h = row % uniforms.hq;
      let bi = row / uniforms.hq;
      let lseIndex = ((bi / uniforms.nq) * uniforms.hq + h) * uniforms.nq + bi % uniforms.nq;` :
        `      let lseIndex = index;                    // (b * Hq + h) * Nq + i`;
    const merged = this.result === 'output' ? `
        var o = 0.0;
        for (var c = 0; c < CHUNKS; c++) {
          o += exp(partials[lseBase + c * rowsPerChunk + lseIndex] - lse) * partials[c * outPerChunk + index];
        }
        result[index] = o;` : `
        result[index] = lse;`;
    return `
  const CHUNKS = ${this.chunks};
  const HEAD_DIM = ${this.headDim};
  fn main(index : i32) {
    if (index < uniforms.size) {
${lseIndex}
      let rowsPerChunk = uniforms.batch * uniforms.hq * uniforms.nq;
      let outPerChunk = rowsPerChunk * HEAD_DIM;
      let lseBase = CHUNKS * outPerChunk;
      var m = -3.0e38;
      for (var c = 0; c < CHUNKS; c++) {
        m = max(m, partials[lseBase + c * rowsPerChunk + lseIndex]);
      }
      if (m < -1.0e38) {                           // no chunk saw a key
        result[index] = ${this.result === 'output' ? '0.0' : '-uniforms.INFINITY'};
      } else {
        var sum = 0.0;
        for (var c = 0; c < CHUNKS; c++) {
          sum += exp(partials[lseBase + c * rowsPerChunk + lseIndex] - m);
        }
        let lse = m + log(sum);${merged}
      }
    }
  }`;
  }
}
