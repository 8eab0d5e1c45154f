/**
 * Pass 1 of flash-decoding on WebGPU: one workgroup per (chunk of keys, batch row, kv head, group of query
 * rows). The query rows that share the kv head (GQA: Hq / Hkv heads x Nq queries) are processed together, so
 * each K/V row of the chunk is read once per workgroup. Online softmax over key tiles of WORKGROUP keys.
 *
 * Output: with several chunks, partials `[B * Hq * Nq, chunks, D + 1]` (per chunk the normalised output O_c
 * and, at index D, LSE_c; a very negative sentinel for an empty chunk), merged by merge_program.ts. With one
 * chunk (`direct`), the final `[B, Nq, Hq, D]` directly and pass 2 is skipped.
 *
 * Each batch row splits its own valid length evenly (`ceil(len / chunks)` keys per chunk), so ragged lengths
 * keep every chunk busy. No float atomics; every compile-time constant is in `shaderKey`.
 */
import type {WebGPUProgram} from './program';

/** Invocations per workgroup = keys per tile. */
export const DECODE_WORKGROUP = 64;
/** Stand-in for -infinity: WGSL's exp/log of infinities are not guaranteed to behave like JS. */
export const NEG = '-3.0e38';
const NEG_HALF = '-1.0e38';

/**
 * Query rows per workgroup: all rows of the kv head up to 16, fewer for big head dims so the query tile
 * (rows x D floats, <= 8 KiB) and the probability tile (rows x 64 floats) stay well inside 16 KiB.
 */
export function rowsPerWorkgroup(rows: number, headDim: number): number {
  return Math.max(1, Math.min(16, rows, Math.floor(2048 / headDim)));
}

export class FlashDecodeSplitProgram implements WebGPUProgram {
  variableNames = ['q', 'k', 'v', 'lens'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = {x: [0], y: [1]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [DECODE_WORKGROUP, 1, 1];
  uniforms = 'scale : f32, numSplits : i32,';
  /** K is read as vec4 (16-byte loads) when the head dim allows it; q, v and lens as scalars. */
  variableComponents: number[];
  private readonly vec: 1 | 4;
  private readonly headDim: number;
  private readonly rowsPerGroup: number;
  private readonly rowGroups: number;
  private readonly direct: boolean;

  /**
   * @param dims problem sizes; `numSplits` chunks (dispatch x); `direct` when numSplits === 1.
   */
  constructor(dims: {batch: number; nq: number; hq: number; hkv: number; d: number}, numSplits: number) {
    const {batch, nq, hq, hkv, d} = dims;
    const rows = (hq / hkv) * nq;
    this.headDim = d;
    this.rowsPerGroup = rowsPerWorkgroup(rows, d);
    this.rowGroups = Math.ceil(rows / this.rowsPerGroup);
    this.direct = numSplits === 1;
    this.vec = d % 4 === 0 ? 4 : 1;
    this.variableComponents = [1, this.vec, 1, 1];
    this.outputShape = this.direct ? [batch, nq, hq, d] : [batch * hq * nq, numSplits, d + 1];
    this.dispatch = [numSplits, batch * hkv * this.rowGroups, 1];
    this.shaderKey = `tfjsExtFlashDecodeSplit_${d}_${this.rowsPerGroup}_${this.rowGroups}_${this.direct}_${this.vec}`;
  }

  getUserCode(): string {
    const D = this.headDim, RB = this.rowsPerGroup, W = DECODE_WORKGROUP, V = this.vec, DV = D / V;
    const T = V === 4 ? 'vec4<f32>' : 'f32';
    // q . k over the head dim, V floats per step (qTile and k hold V-wide elements).
    const dotLoop = V === 4 ? `
          let kOff = (((b * L + j) * HKV + g) * ${D}) / 4;
          for (var c = 0; c < ${DV}; c++) {
            let kc = k[kOff + c];
            for (var rr = 0; rr < ${RB}; rr++) { s[rr] += dot(qTile[rr * ${DV} + c], kc); }
          }` : `
          let kOff = ((b * L + j) * HKV + g) * ${D};
          for (var c = 0; c < ${D}; c++) {
            let kc = k[kOff + c];
            for (var rr = 0; rr < ${RB}; rr++) { s[rr] += qTile[rr * ${D} + c] * kc; }
          }`;
    const qLoad = (at: string) => V === 4 ?
        `vec4<f32>(q[${at}], q[${at} + 1], q[${at} + 2], q[${at} + 3])` : `q[${at}]`;
    const CPT = Math.ceil(D / W);  // output columns per invocation
    const write = this.direct ? `
          result[((b * NQ + i) * HQ + h) * ${D} + c] = o;` : `
          result[(((b * HQ + h) * NQ + i) * C + chunk) * ${D + 1} + c] = o;`;
    const writeLse = this.direct ? '' : `
      if (tid < ${RB}) {
        let r = rowBase + tid;
        if (r < R) {
          let i = r / G;
          let h = g * G + r % G;
          var lse = ${NEG};
          if (rowSum[tid] > 0.0) { lse = rowMax[tid] + log(rowSum[tid]); }
          result[(((b * HQ + h) * NQ + i) * C + chunk) * ${D + 1} + ${D}] = lse;
        }
      }`;
    return `
    var<workgroup> qTile : array<${T}, ${RB * DV}>;   // scaled query rows of this group
    var<workgroup> pTile : array<f32, ${RB * W}>;   // scores, then probabilities, of the current key tile
    var<workgroup> rowMax : array<f32, ${RB}>;
    var<workgroup> rowSum : array<f32, ${RB}>;
    var<workgroup> rowRescale : array<f32, ${RB}>;
    var<workgroup> keyRange : vec2<i32>;            // [start, end) of this chunk, made uniform for the loop

    fn main() {
      let tid = i32(localId.x);
      let chunk = i32(workgroupId.x);
      let NQ = uniforms.qShape.y;
      let HQ = uniforms.qShape.z;
      let L = uniforms.kShape.y;
      let HKV = uniforms.kShape.z;
      let G = HQ / HKV;
      let R = G * NQ;                                // query rows sharing kv head g: r = i * G + (h - g * G)
      let C = uniforms.numSplits;
      let wy = i32(workgroupId.y);
      let rowBase = (wy % ${this.rowGroups}) * ${RB};
      let g = (wy / ${this.rowGroups}) % HKV;
      let b = wy / (${this.rowGroups} * HKV);
      let len = clamp(lens[b], 0, L);
      let chunkLen = (len + C - 1) / C;
      let start = min(chunk * chunkLen, len);
      let end = min(start + chunkLen, len);
      if (tid == 0) { keyRange = vec2<i32>(start, end); }

      for (var e = tid; e < ${RB * DV}; e += ${W}) {
        let r = rowBase + e / ${DV};
        var x = ${T}(0.0);
        if (r < R) {
          let at = ((b * NQ + r / G) * HQ + g * G + r % G) * ${D} + (e % ${DV}) * ${V};
          x = ${qLoad('at')} * uniforms.scale;
        }
        qTile[e] = x;
      }
      if (tid < ${RB}) {
        rowMax[tid] = ${NEG};
        rowSum[tid] = 0.0;
      }
      var acc : array<f32, ${RB * CPT}>;
      for (var x = 0; x < ${RB * CPT}; x++) { acc[x] = 0.0; }
      workgroupBarrier();

      // workgroupId is not provably uniform to WGSL (tfjs copies it into a private variable), so the loop
      // bounds, which guard barriers, go through workgroupUniformLoad.
      let range = workgroupUniformLoad(&keyRange);
      for (var tile = range.x; tile < range.y; tile += ${W}) {
        // Scores: invocation tid takes key j = tile + tid against every query row of the group.
        let j = tile + tid;
        var s : array<f32, ${RB}>;
        for (var rr = 0; rr < ${RB}; rr++) { s[rr] = 0.0; }
        if (j < end) {${dotLoop}
        }
        for (var rr = 0; rr < ${RB}; rr++) {
          let r = rowBase + rr;
          // Causal, bottom-right aligned: query i sees keys j < len - NQ + i + 1.
          let visible = j < end && r < R && j < len - NQ + r / G + 1;
          pTile[rr * ${W} + tid] = select(${NEG}, s[rr], visible);
        }
        workgroupBarrier();

        // Online softmax, one invocation per query row.
        if (tid < ${RB}) {
          let mOld = rowMax[tid];
          var mNew = mOld;
          for (var x = 0; x < ${W}; x++) { mNew = max(mNew, pTile[tid * ${W} + x]); }
          var sum = 0.0;
          for (var x = 0; x < ${W}; x++) {
            let sv = pTile[tid * ${W} + x];
            var p = 0.0;
            if (sv > ${NEG_HALF}) { p = exp(sv - mNew); }
            pTile[tid * ${W} + x] = p;
            sum += p;
          }
          var alpha = 0.0;
          if (mOld > ${NEG_HALF}) { alpha = exp(mOld - mNew); }
          rowRescale[tid] = alpha;
          rowSum[tid] = rowSum[tid] * alpha + sum;
          rowMax[tid] = mNew;
        }
        workgroupBarrier();

        // acc = alpha * acc + P V: invocation tid owns output columns tid, tid + ${W}, ...
        let n = min(${W}, end - tile);
        for (var x = 0; x < ${CPT}; x++) {
          let c = tid + x * ${W};
          if (c < ${D}) {
            for (var rr = 0; rr < ${RB}; rr++) { acc[rr * ${CPT} + x] *= rowRescale[rr]; }
            for (var jj = 0; jj < n; jj++) {
              let vc = v[((b * L + tile + jj) * HKV + g) * ${D} + c];
              for (var rr = 0; rr < ${RB}; rr++) {
                // selected, not multiplied by p = 0: a masked (future) value may be NaN or Inf
                let visible = tile + jj < len - NQ + (rowBase + rr) / G + 1;
                acc[rr * ${CPT} + x] += select(0.0, pTile[rr * ${W} + jj] * vc, visible);
              }
            }
          }
        }
        workgroupBarrier();
      }

      for (var x = 0; x < ${CPT}; x++) {
        let c = tid + x * ${W};
        if (c >= ${D}) { break; }
        for (var rr = 0; rr < ${RB}; rr++) {
          let r = rowBase + rr;
          if (r < R) {
            let i = r / G;
            let h = g * G + r % G;
            let l = rowSum[rr];
            var o = 0.0;
            if (l > 0.0) { o = acc[rr * ${CPT} + x] / l; }${write}
          }
        }
      }${writeLse}
    }
    `;
  }
}
