/**
 * Flash-attention forward pass (FlashAttention-2 order) as one WebGPU program.
 *
 * A workgroup owns `64 / split` query rows of one (batch, query head); `split` invocations share a row, each
 * owning an interleaved `1/split` of the head dim (so neighbouring invocations touch neighbouring vec4s): the
 * scaled q slice, the output accumulator slice, the running max and sum live in registers. K/V tiles of
 * `keyTileRows` keys are staged in workgroup memory with coalesced loads (a key's D floats are contiguous);
 * with `split > 1` the partial q.k dots are exchanged through workgroup memory. Key tiles that no row of the
 * block can see (causal diagonal, window, kvLength) are never loaded.
 *
 * Split-KV (`chunks > 1`, when rows alone cannot fill the GPU): workgroup z also picks one of `chunks` key
 * ranges; each writes its normalised partial output and lse, merged by ForwardMergeProgram (flash-decoding).
 *
 * Output: one packed buffer `[output (chunks*B*Nq*Hq*D floats) | lse (chunks*B*Hq*Nq floats)]`, chunk-major.
 * No infinity enters the arithmetic: the running max starts at a finite -3e38, masked scores get probability 0
 * by `select`, masked values (maybe NaN or Inf) are selected away rather than multiplied by 0, and a row that sees no key writes output 0 and lse -Infinity (-3e38 in a partial) explicitly.
 */
import {ATTR_UNIFORMS, commonSnippet, componentsFor, FlashProgram, keyTileRows, ROWS_PER_WORKGROUP, storeVec,
        vecType} from './common';

export class FlashAttentionForwardProgram implements FlashProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = {x: [0], y: [1], z: [2]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [ROWS_PER_WORKGROUP, 1, 1];
  variableNames = ['q', 'k', 'v', 'kvLengths'];
  variableComponents: number[];
  uniforms = ATTR_UNIFORMS;
  private readonly headDim: number;
  private readonly components: number;
  private readonly keyTile: number;
  private readonly split: number;
  private readonly chunks: number;

  /**
   * `q: [B, Nq, Hq, D]`; `split` invocations per row (1, 2 or 4, dividing D in vector elements); `chunks` key
   * ranges; the output is the packed `[chunks * (B*Nq*Hq*D + B*Hq*Nq)]` buffer.
   */
  constructor(qShape: number[], split: number, chunks: number) {
    const [batch, nq, hq, d] = qShape;
    this.headDim = d;
    this.components = componentsFor(d);
    this.split = split;
    this.chunks = chunks;
    // With split > 1 each invocation also holds one partial score per key of the tile in workgroup memory.
    this.keyTile = keyTileRows(d, split > 1 ? 4 * ROWS_PER_WORKGROUP : 0);
    this.variableComponents = [this.components, this.components, this.components, 1];
    this.outputShape = [chunks * (batch * nq * hq * d + batch * hq * nq)];
    this.dispatch = [Math.ceil(nq / (ROWS_PER_WORKGROUP / split)), hq, batch * chunks];
    this.shaderKey = `tfjsExtFlashFwd_d${d}_c${this.components}_bc${this.keyTile}_split${split}_chunks${chunks}`;
  }

  getUserCode(): string {
    const c = this.components;
    const vec = vecType(c);
    const split = this.split;
    const dv = this.headDim / c;
    // q.k over this invocation's slice of the head dim (vector elements p, p + split, ...)
    const partialDot = `
          var dotQK = 0.0;
          for (var t = 0; t < DVP; t++) {
            dotQK += dotV(qPart[t], kTile[cc * DV + part + t * SPLIT]);
          }`;
    const scoreOf = split === 1 ? 'dotQK' : 'sumParts(cc * BR + row)';
    return `
  const THREADS = ${ROWS_PER_WORKGROUP};
  const SPLIT = ${split};
  const BR = ${ROWS_PER_WORKGROUP / split};        // query rows per workgroup
  const BC = ${this.keyTile};                       // keys per tile
  const DV = ${dv};                                 // head dim in vector elements
  const DVP = ${dv / split};                        // ... per invocation
  const HEAD_DIM = ${this.headDim};
  const CHUNKS = ${this.chunks};
  const NEG_BIG = -3.0e38;
  var<workgroup> kTile : array<${vec}, ${this.keyTile * dv}>;
  var<workgroup> vTile : array<${vec}, ${this.keyTile * dv}>;
  var<workgroup> blockKeys : vec2<i32>;
  ${split > 1 ? `
  // [BC, BR, SPLIT]: the invocations of a warp read distinct banks
  var<workgroup> partScores : array<f32, ${ROWS_PER_WORKGROUP * this.keyTile}>;
  fn sumParts(at : i32) -> f32 {
    var total = 0.0;
    for (var pp = 0; pp < SPLIT; pp++) {
      total += partScores[at * SPLIT + pp];
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
    let row = tid / SPLIT;                          // row within the block
    let part = tid - row * SPLIT;                   // slice of the head dim
    let nq = uniforms.qShape.y;
    let hq = uniforms.qShape.z;
    let nk = uniforms.kShape.y;
    let hkv = uniforms.kShape.z;
    let g = h / (hq / hkv);                         // kv head read by query head h
    let kvLen = clamp(kvLengths[b], 0, nk);
    let i = row0 + row;
    let rowActive = i < nq;
    let range = visibleRange(min(i, nq - 1), nq, kvLen);
    // Row ranges grow with i, so the block's rows see at most keys [lo(first row), hi(last row)), intersected
    // with this chunk's keys (a whole number of tiles). (workgroupUniformLoad: the loop below holds barriers,
    // so its bounds must be provably uniform.)
    if (tid == 0) {
      let chunkLen = ((nk + CHUNKS * BC - 1) / (CHUNKS * BC)) * BC;
      let lo = max(visibleRange(row0, nq, kvLen).x, chunk * chunkLen);
      let hi = min(visibleRange(min(row0 + BR, nq) - 1, nq, kvLen).y, (chunk + 1) * chunkLen);
      blockKeys = vec2<i32>(lo, hi);
    }
    let blockRange = workgroupUniformLoad(&blockKeys);

    var qPart : array<${vec}, DVP>;
    var acc : array<${vec}, DVP>;
    let rowBase = ((b * nq + i) * hq + h) * DV;
    if (rowActive) {
      for (var t = 0; t < DVP; t++) {
        qPart[t] = q[rowBase + part + t * SPLIT] * uniforms.scale;
      }
    }
    var m = NEG_BIG;   // running max of the visible scores
    var l = 0.0;       // running sum of exp(score - m)

    let kvBase = (b * nk * hkv + g) * DV;
    let kvStride = hkv * DV;                        // between consecutive keys
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
        for (var cc = 0; cc < BC; cc++) {${partialDot}
          partScores[(cc * BR + row) * SPLIT + part] = dotQK;
        }
      }
      workgroupBarrier();` : ''}
      if (tileVisible) {
        var s : array<f32, BC>;
        var tileMax = NEG_BIG;
        for (var cc = 0; cc < BC; cc++) {${split === 1 ? partialDot : ''}
          let j = t0 + cc;
          s[cc] = select(NEG_BIG, ${scoreOf}, j >= range.x && j < range.y);
          tileMax = max(tileMax, s[cc]);
        }
        let mNew = max(m, tileMax);
        let alpha = exp(m - mNew);                  // both finite: no inf - inf
        l *= alpha;
        for (var t = 0; t < DVP; t++) {
          acc[t] *= alpha;
        }
        for (var cc = 0; cc < BC; cc++) {
          let j = t0 + cc;
          let visible = j >= range.x && j < range.y;
          let p = select(0.0, exp(s[cc] - mNew), visible);
          l += p;
          for (var t = 0; t < DVP; t++) {
            // selected, not multiplied by p = 0: a masked value may be NaN or Inf
            acc[t] += select(${vec}(0.0), p * vTile[cc * DV + part + t * SPLIT], visible);
          }
        }
        m = mNew;
      }
      workgroupBarrier();
    }

    if (rowActive) {
      let seesKeys = l > 0.0;                       // l >= 1 once any key is visible
      let inv = select(0.0, 1.0 / max(l, 1e-30), seesKeys);
      let outBase = rowBase + chunk * uniforms.qShape.x * nq * hq * DV;
      for (var t = 0; t < DVP; t++) {
        let o = acc[t] * inv;
        ${storeVec('o', `(outBase + part + t * SPLIT) * ${c}`, c)}
      }
      if (part == 0) {
        let lseOffset = CHUNKS * uniforms.qShape.x * nq * hq * HEAD_DIM;
        let noKey = ${this.chunks === 1 ? '-uniforms.INFINITY' : 'NEG_BIG'};
        result[lseOffset + ((chunk * uniforms.qShape.x + b) * hq + h) * nq + i] =
            select(noKey, m + log(max(l, 1e-30)), seesKeys);
      }
    }
  }`;
  }
}
