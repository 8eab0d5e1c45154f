/**
 * Backward, dQ pass: parallel over query blocks, like the forward pass. `split` invocations share a query row,
 * each owning an interleaved slice of the head dim (scaled q, dO and the dQ accumulator slices in registers);
 * K/V tiles are staged in workgroup memory and partial dots exchanged there when split > 1. P is recomputed
 * exactly normalised from the saved lse: `P = exp(S - lse)`, `dS = P * (dO . V - D)`, `dQ = scale * dS K`.
 * Summing over key blocks inside one invocation avoids float atomics (WGSL has none); with `chunks > 1` the
 * keys are split into ranges handled by separate workgroups whose partial dQ buffers PartialSumProgram adds.
 */
import {ATTR_UNIFORMS, commonSnippet, componentsFor, FlashProgram, keyTileRows, ROWS_PER_WORKGROUP, storeVec,
        vecType} from './common';

export class FlashAttentionDqProgram implements FlashProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = {x: [0], y: [1], z: [2]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [ROWS_PER_WORKGROUP, 1, 1];
  variableNames = ['q', 'k', 'v', 'kvLengths', 'lse', 'rowDot', 'dy'];
  variableComponents: number[];
  uniforms = ATTR_UNIFORMS;
  private readonly headDim: number;
  private readonly components: number;
  private readonly keyTile: number;
  private readonly split: number;
  private readonly chunks: number;

  /**
   * `q: [B, Nq, Hq, D]`, `split` invocations per row, `chunks` key ranges; the result is the (partial) dq,
   * flat `[chunks * B*Nq*Hq*D]` (a rank-1 output keeps tfjs's pipeline key independent of which input dims
   * happen to be 1: fewer recompiles).
   */
  constructor(qShape: number[], split: number, chunks: number) {
    const [batch, nq, hq, d] = qShape;
    this.headDim = d;
    this.components = componentsFor(d);
    this.split = split;
    this.chunks = chunks;
    // split > 1: two partial dots (q.k, dO.v) per invocation and key of the tile in workgroup memory.
    this.keyTile = keyTileRows(d, split > 1 ? 8 * ROWS_PER_WORKGROUP : 0);
    const c = this.components;
    this.variableComponents = [c, c, c, 1, 1, 1, c];
    this.outputShape = [chunks * batch * nq * hq * d];
    this.dispatch = [Math.ceil(nq / (ROWS_PER_WORKGROUP / split)), hq, batch * chunks];
    this.shaderKey = `tfjsExtFlashDq_d${d}_c${c}_bc${this.keyTile}_split${split}_chunks${chunks}`;
  }

  getUserCode(): string {
    const c = this.components;
    const vec = vecType(c);
    const split = this.split;
    const dv = this.headDim / c;
    const partialDots = `
          var s = 0.0;
          var dp = 0.0;
          for (var t = 0; t < DVP; t++) {
            s += dotV(qPart[t], kTile[cc * DV + part + t * SPLIT]);
            dp += dotV(dyPart[t], vTile[cc * DV + part + t * SPLIT]);
          }`;
    return `
  const THREADS = ${ROWS_PER_WORKGROUP};
  const SPLIT = ${split};
  const BR = ${ROWS_PER_WORKGROUP / split};
  const BC = ${this.keyTile};
  const DV = ${dv};
  const DVP = ${dv / split};
  const CHUNKS = ${this.chunks};
  var<workgroup> kTile : array<${vec}, ${this.keyTile * dv}>;
  var<workgroup> vTile : array<${vec}, ${this.keyTile * dv}>;
  var<workgroup> blockKeys : vec2<i32>;
  ${split > 1 ? `
  // [BC, BR, SPLIT]: the invocations of a warp read distinct banks
  var<workgroup> partS : array<f32, ${ROWS_PER_WORKGROUP * this.keyTile}>;
  var<workgroup> partDp : array<f32, ${ROWS_PER_WORKGROUP * this.keyTile}>;
  fn sumParts(at : i32) -> vec2<f32> {
    var total = vec2<f32>(0.0);
    for (var pp = 0; pp < SPLIT; pp++) {
      total += vec2<f32>(partS[at * SPLIT + pp], partDp[at * SPLIT + pp]);
    }
    return total;
  }` : ''}
  ${commonSnippet(c)}

  fn main() {
    let b = i32(workgroupId.z) / CHUNKS;
    let chunk = i32(workgroupId.z) - b * CHUNKS;
    let h = i32(workgroupId.y);
    let row0 = i32(workgroupId.x) * BR;
    let tid = i32(localIndex);
    let row = tid / SPLIT;
    let part = tid - row * SPLIT;
    let nq = uniforms.qShape.y;
    let hq = uniforms.qShape.z;
    let nk = uniforms.kShape.y;
    let hkv = uniforms.kShape.z;
    let g = h / (hq / hkv);
    let kvLen = clamp(kvLengths[b], 0, nk);
    let i = row0 + row;
    let rowActive = i < nq;
    let range = visibleRange(min(i, nq - 1), nq, kvLen);
    if (tid == 0) {
      let chunkLen = ((nk + CHUNKS * BC - 1) / (CHUNKS * BC)) * BC;    // a whole number of tiles
      let lo = max(visibleRange(row0, nq, kvLen).x, chunk * chunkLen);
      let hi = min(visibleRange(min(row0 + BR, nq) - 1, nq, kvLen).y, (chunk + 1) * chunkLen);
      blockKeys = vec2<i32>(lo, hi);
    }
    let blockRange = workgroupUniformLoad(&blockKeys);

    var qPart : array<${vec}, DVP>;
    var dyPart : array<${vec}, DVP>;
    var dq : array<${vec}, DVP>;
    var rowLse = 0.0;
    var rowD = 0.0;
    let rowBase = ((b * nq + i) * hq + h) * DV;
    if (rowActive) {
      for (var t = 0; t < DVP; t++) {
        qPart[t] = q[rowBase + part + t * SPLIT] * uniforms.scale;
        dyPart[t] = dy[rowBase + part + t * SPLIT];
      }
      // A row that sees no key has lse = -inf and no visible pair: keep infinities out of the arithmetic.
      rowLse = select(0.0, lse[(b * hq + h) * nq + i], range.x < range.y);
      rowD = rowDot[(b * hq + h) * nq + i];
    }

    let kvBase = (b * nk * hkv + g) * DV;
    let kvStride = hkv * DV;
    for (var t0 = (blockRange.x / BC) * BC; t0 < blockRange.y; t0 += BC) {
      for (var e = tid; e < BC * DV; e += THREADS) {
        let r = e / DV;
        let j = t0 + r;
        if (j < kvLen) {
          let src = kvBase + j * kvStride + (e - r * DV);
          kTile[e] = k[src];
          vTile[e] = v[src];
        } else {
          kTile[e] = ${vec}(0.0);
          vTile[e] = ${vec}(0.0);
        }
      }
      workgroupBarrier();
      let tileVisible = rowActive && t0 < range.y && t0 + BC > range.x;
      ${split > 1 ? `
      if (tileVisible) {
        for (var cc = 0; cc < BC; cc++) {${partialDots}
          partS[(cc * BR + row) * SPLIT + part] = s;
          partDp[(cc * BR + row) * SPLIT + part] = dp;
        }
      }
      workgroupBarrier();` : ''}
      if (tileVisible) {
        for (var cc = 0; cc < BC; cc++) {${split === 1 ? partialDots : `
          let sums = sumParts(cc * BR + row);
          let s = sums.x;
          let dp = sums.y;`}
          let j = t0 + cc;
          let visible = j >= range.x && j < range.y;
          // Masked pairs are selected away, not multiplied by 0: a masked key or value may be NaN or Inf.
          let p = select(0.0, exp(min(s - rowLse, 0.0)), visible);
          let ds = select(0.0, p * (dp - rowD), visible);
          for (var t = 0; t < DVP; t++) {
            dq[t] += select(${vec}(0.0), ds * kTile[cc * DV + part + t * SPLIT], visible);
          }
        }
      }
      workgroupBarrier();
    }

    if (rowActive) {
      let outBase = rowBase + chunk * uniforms.qShape.x * nq * hq * DV;
      for (var t = 0; t < DVP; t++) {
        let o = dq[t] * uniforms.scale;
        ${storeVec('o', `(outBase + part + t * SPLIT) * ${c}`, c)}
      }
    }
  }`;
  }
}
