/**
 * Backward, dK/dV pass: parallel over key blocks and query heads. `split` invocations share a key row, each
 * owning an interleaved slice of the head dim (scaled k, v and the dK, dV accumulator slices in registers),
 * and loop over the query rows that can see the block; Q and dO tiles, with each row's lse and D, are staged
 * in workgroup memory (and partial dots exchanged there when split > 1). `P = exp(S - lse)`, `dV += P dO`,
 * `dS = P * (dO . V - D)`, `dK += scale * dS Q`.
 *
 * GQA: a workgroup per query head (not per kv head) keeps B*Hq*Nk rows busy even for MQA; with `chunks > 1`
 * the query rows are split into ranges handled by separate workgroups too. PartialSumProgram adds the
 * contributions of the query heads sharing a kv head and of the ranges.
 * Output: one packed buffer, per range `[dk per query head (B*Nk*Hq*D floats) | dv per query head (same)]`.
 */
import {ATTR_UNIFORMS, commonSnippet, componentsFor, FlashProgram, queryTileRows, ROWS_PER_WORKGROUP, storeVec,
        vecType} from './common';

export class FlashAttentionDkDvProgram implements FlashProgram {
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
  private readonly queryTile: number;
  private readonly split: number;
  private readonly chunks: number;

  /**
   * `k: [B, Nk, Hkv, D]`, `hq` query heads, `split` invocations per key, `chunks` query ranges; result:
   * `[chunks * 2 * B*Nk*Hq*D]`.
   */
  constructor(kShape: number[], hq: number, split: number, chunks: number) {
    const [batch, nk, , d] = kShape;
    this.headDim = d;
    this.components = componentsFor(d);
    this.split = split;
    this.chunks = chunks;
    this.queryTile = queryTileRows(d, split > 1 ? 8 * ROWS_PER_WORKGROUP : 0);
    const c = this.components;
    this.variableComponents = [c, c, c, 1, 1, 1, c];
    this.outputShape = [chunks * 2 * batch * nk * hq * d];
    this.dispatch = [Math.ceil(nk / (ROWS_PER_WORKGROUP / split)), hq, batch * chunks];
    this.shaderKey = `tfjsExtFlashDkDv_d${d}_c${c}_br${this.queryTile}_split${split}_chunks${chunks}`;
  }

  getUserCode(): string {
    const c = this.components;
    const vec = vecType(c);
    const dv = this.headDim / c;
    const br = this.queryTile;
    const split = this.split;
    const partialDots = `
            var s = 0.0;
            var dp = 0.0;
            for (var t = 0; t < DVP; t++) {
              s += dotV(qTile[r * DV + part + t * SPLIT], kPart[t]);
              dp += dotV(dyTile[r * DV + part + t * SPLIT], vPart[t]);
            }`;
    return `
  const THREADS = ${ROWS_PER_WORKGROUP};
  const SPLIT = ${split};
  const BK = ${ROWS_PER_WORKGROUP / split};         // keys per workgroup
  const BR = ${br};                                 // query rows per tile
  const DV = ${dv};
  const DVP = ${dv / split};
  const HEAD_DIM = ${this.headDim};
  const CHUNKS = ${this.chunks};
  const FAR = 1073741824;                           // "unbounded" distance from the diagonal
  var<workgroup> qTile : array<${vec}, ${br * dv}>;
  var<workgroup> dyTile : array<${vec}, ${br * dv}>;
  var<workgroup> lseTile : array<f32, ${br}>;
  var<workgroup> dTile : array<f32, ${br}>;
  var<workgroup> blockRows : vec2<i32>;
  ${split > 1 ? `
  // [BR, BK, SPLIT]: the invocations of a warp read distinct banks
  var<workgroup> partS : array<f32, ${ROWS_PER_WORKGROUP * br}>;
  var<workgroup> partDp : array<f32, ${ROWS_PER_WORKGROUP * br}>;
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
    let j0 = i32(workgroupId.x) * BK;
    let tid = i32(localIndex);
    let key = tid / SPLIT;                          // key within the block
    let part = tid - key * SPLIT;                   // slice of the head dim
    let nq = uniforms.qShape.y;
    let hq = uniforms.qShape.z;
    let nk = uniforms.kShape.y;
    let hkv = uniforms.kShape.z;
    let g = h / (hq / hkv);                         // kv head read by query head h
    let kvLen = clamp(kvLengths[b], 0, nk);
    let j = j0 + key;
    let keyActive = j < kvLen;

    // Query rows that can see a key of [j0, min(j0 + BK, kvLen)): i >= j0 - off - reach (right edge of the
    // mask) and i <= jLast - off + windowLeft (left edge). Exact masking happens per pair below.
    if (tid == 0) {
      var rows = vec2<i32>(0, 0);
      if (j0 < kvLen) {
        let off = kvLen - nq;
        let jLast = min(j0 + BK, kvLen) - 1;
        var reach = FAR;
        if (uniforms.causal != 0) { reach = 0; }
        if (uniforms.windowRight >= 0) { reach = min(reach, uniforms.windowRight); }
        rows.x = max(0, j0 - off - reach);
        rows.y = nq;
        if (uniforms.windowLeft >= 0) { rows.y = min(nq, jLast - off + uniforms.windowLeft + 1); }
        let chunkLen = (nq + CHUNKS - 1) / CHUNKS;
        rows = vec2<i32>(max(rows.x, chunk * chunkLen), min(rows.y, (chunk + 1) * chunkLen));
      }
      blockRows = rows;
    }
    let rowRange = workgroupUniformLoad(&blockRows);

    var kPart : array<${vec}, DVP>;
    var vPart : array<${vec}, DVP>;
    var dk : array<${vec}, DVP>;
    var dvAcc : array<${vec}, DVP>;
    if (keyActive) {
      let base = ((b * nk + j) * hkv + g) * DV;
      for (var t = 0; t < DVP; t++) {
        kPart[t] = k[base + part + t * SPLIT] * uniforms.scale;
        vPart[t] = v[base + part + t * SPLIT];
      }
    }

    for (var i0 = rowRange.x; i0 < rowRange.y; i0 += BR) {
      for (var e = tid; e < BR * DV; e += THREADS) {
        let r = e / DV;
        let i = i0 + r;
        if (i < rowRange.y) {
          let src = ((b * nq + i) * hq + h) * DV + (e - r * DV);
          qTile[e] = q[src];
          dyTile[e] = dy[src];
        } else {
          qTile[e] = ${vec}(0.0);
          dyTile[e] = ${vec}(0.0);
        }
      }
      if (tid < BR) {
        let i = i0 + tid;
        var rowLse = 0.0;
        var rowD = 0.0;
        if (i < rowRange.y) {
          let range = visibleRange(i, nq, kvLen);
          // lse = -inf for a row that sees no key; it has no visible pair, so any finite value will do.
          rowLse = select(0.0, lse[(b * hq + h) * nq + i], range.x < range.y);
          rowD = rowDot[(b * hq + h) * nq + i];
        }
        lseTile[tid] = rowLse;
        dTile[tid] = rowD;
      }
      workgroupBarrier();
      ${split > 1 ? `
      if (keyActive) {
        for (var r = 0; r < BR; r++) {${partialDots}
          partS[(r * BK + key) * SPLIT + part] = s;
          partDp[(r * BK + key) * SPLIT + part] = dp;
        }
      }
      workgroupBarrier();` : ''}
      if (keyActive) {
        for (var r = 0; r < BR; r++) {${split === 1 ? partialDots : `
          let sums = sumParts(r * BK + key);
          let s = sums.x;
          let dp = sums.y;`}
          let i = i0 + r;
          let range = visibleRange(i, nq, kvLen);
          let visible = i < rowRange.y && j >= range.x && j < range.y;
          let p = select(0.0, exp(min(s - lseTile[r], 0.0)), visible);
          let ds = select(0.0, p * (dp - dTile[r]), visible);  // selected: a masked value may be NaN or Inf
          for (var t = 0; t < DVP; t++) {
            dvAcc[t] += p * dyTile[r * DV + part + t * SPLIT];
            dk[t] += ds * qTile[r * DV + part + t * SPLIT];
          }
        }
      }
      workgroupBarrier();
    }

    if (j < nk) {
      let outBase = ((b * nk + j) * hq + h) * DV;
      let dvOffset = uniforms.kShape.x * nk * hq * HEAD_DIM;   // dv after dk
      let chunkOffset = chunk * 2 * dvOffset;
      for (var t = 0; t < DVP; t++) {
        let dkOut = dk[t] * uniforms.scale;
        let dvOut = dvAcc[t];
        ${storeVec('dkOut', `chunkOffset + (outBase + part + t * SPLIT) * ${c}`, c)}
        ${storeVec('dvOut', `chunkOffset + dvOffset + (outBase + part + t * SPLIT) * ${c}`, c)}
      }
    }
  }`;
  }
}
