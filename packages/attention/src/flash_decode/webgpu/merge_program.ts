/**
 * Pass 2 of flash-decoding on WebGPU: merges the per-chunk partials `[B * Hq * Nq, C, D + 1]` (O_c and LSE_c)
 * into the output `[B, Nq, Hq, D]`, one invocation per output element:
 *   M = max_c LSE_c ;  O = sum_c exp(LSE_c - M) O_c / sum_c exp(LSE_c - M)   (= sum_c exp(LSE_c - LSE) O_c)
 * Empty chunks carry the sentinel LSE and weigh 0; a row with no visible key at all outputs 0.
 */
import type {WebGPUProgram} from './program';
import {NEG} from './split_program';

const WORKGROUP = 64;
const NEG_HALF = '-1.0e38';

export class FlashDecodeMergeProgram implements WebGPUProgram {
  variableNames = ['partial'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = {x: [0, 1, 2, 3]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  uniforms = 'numSplits : i32, total : i32,';
  private readonly headDim: number;

  constructor(outputShape: [number, number, number, number]) {
    this.outputShape = outputShape;
    this.headDim = outputShape[3];
    const total = outputShape.reduce((a, b) => a * b, 1);
    this.dispatch = [Math.ceil(total / WORKGROUP), 1, 1];
    this.shaderKey = `tfjsExtFlashDecodeMerge_${this.headDim}`;
  }

  getUserCode(): string {
    const D = this.headDim;
    return `
    fn main(index : i32) {
      if (index >= uniforms.total) { return; }
      let NQ = uniforms.outShape.y;
      let HQ = uniforms.outShape.z;
      let C = uniforms.numSplits;
      let c = index % ${D};
      let h = (index / ${D}) % HQ;
      let i = (index / (${D} * HQ)) % NQ;
      let b = index / (${D} * HQ * NQ);
      let base = ((b * HQ + h) * NQ + i) * C * ${D + 1};
      var m = ${NEG};
      for (var s = 0; s < C; s++) { m = max(m, partial[base + s * ${D + 1} + ${D}]); }
      var o = 0.0;
      if (m > ${NEG_HALF}) {
        var weights = 0.0;
        for (var s = 0; s < C; s++) {
          let lse = partial[base + s * ${D + 1} + ${D}];
          if (lse > ${NEG_HALF}) {
            let w = exp(lse - m);
            weights += w;
            o += w * partial[base + s * ${D + 1} + c];
          }
        }
        o = o / weights;
      }
      result[index] = o;
    }
    `;
  }
}
