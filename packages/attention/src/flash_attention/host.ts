/**
 * The plain-JS host implementation of flash attention ('js'), used by the `cpu` and `wasm` kernels when no
 * faster host implementation (the SIMD WebAssembly module) is registered.
 *
 * FlashAttention-2 over typed arrays: tiles of BR = 4 query rows against blocks of BC keys, online softmax,
 * fully masked key blocks skipped, no Nq x Nk matrix. The inner loops are register blocked (4 rows x 4 keys:
 * 8 loads per 16 multiply-adds) over packed, contiguous head slices, and allocate nothing.
 */
import {hostKernel} from '@tfjs-ext/core';
import type {KernelFunc} from '@tfjs-ext/core';
import {activeHostFlashImpl, FlashAttentionAttrs, FlashDims, HostFlashImpl, registerHostFlashImpl,
        visibleKeyRange} from './contract';

/** Query rows per register tile (the tile functions below are written for exactly 4). */
const BR = 4;
/** Keys per block. */
const BC = 64;

/** Visible key ranges of every query row of batch row `b`: `[lo[i], hi[i])`, empty when lo >= hi. */
function rowRanges(kvLength: number, nq: number, attrs: FlashAttentionAttrs, lo: Int32Array, hi: Int32Array): void {
  for (let i = 0; i < nq; i++) {
    const [a, z] = visibleKeyRange(i, nq, kvLength, attrs);
    lo[i] = a;
    hi[i] = Math.max(a, z);
  }
}

/** Copies head `h` of `src` ([batch, n, heads, d]) for batch row `b` into `dst` ([n, d]), times `scale`. */
function packHead(src: Float32Array, b: number, n: number, heads: number, h: number, d: number,
                  dst: Float32Array | Float64Array, scale = 1): void {
  for (let j = 0; j < n; j++) {
    const from = ((b * n + j) * heads + h) * d;
    const to = j * d;
    for (let x = 0; x < d; x++) dst[to + x] = scale * src[from + x];
  }
}

/**
 * `out[r * BC + c] = a[r] . bm[kb + c]` for the 4 rows of `a` starting at row `i0` and keys `c < n`
 * (`a`: [rows, d], `bm`: [keys, d]).
 */
function dotTile(a: Float64Array, i0: number, bm: Float32Array, kb: number, n: number, d: number,
                 out: Float64Array): void {
  const a0 = i0 * d, a1 = a0 + d, a2 = a1 + d, a3 = a2 + d;
  let c = 0;
  for (; c + 4 <= n; c += 4) {
    const b0 = (kb + c) * d, b1 = b0 + d, b2 = b1 + d, b3 = b2 + d;
    let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
    let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
    for (let x = 0; x < d; x++) {
      const q0 = a[a0 + x], q1 = a[a1 + x], q2 = a[a2 + x], q3 = a[a3 + x];
      const k0 = bm[b0 + x], k1 = bm[b1 + x], k2 = bm[b2 + x], k3 = bm[b3 + x];
      s00 += q0 * k0; s01 += q0 * k1; s02 += q0 * k2; s03 += q0 * k3;
      s10 += q1 * k0; s11 += q1 * k1; s12 += q1 * k2; s13 += q1 * k3;
      s20 += q2 * k0; s21 += q2 * k1; s22 += q2 * k2; s23 += q2 * k3;
      s30 += q3 * k0; s31 += q3 * k1; s32 += q3 * k2; s33 += q3 * k3;
    }
    out[c] = s00; out[c + 1] = s01; out[c + 2] = s02; out[c + 3] = s03;
    out[BC + c] = s10; out[BC + c + 1] = s11; out[BC + c + 2] = s12; out[BC + c + 3] = s13;
    out[2 * BC + c] = s20; out[2 * BC + c + 1] = s21; out[2 * BC + c + 2] = s22; out[2 * BC + c + 3] = s23;
    out[3 * BC + c] = s30; out[3 * BC + c + 1] = s31; out[3 * BC + c + 2] = s32; out[3 * BC + c + 3] = s33;
  }
  for (; c < n; c++) {
    const b0 = (kb + c) * d;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let x = 0; x < d; x++) {
      const k0 = bm[b0 + x];
      s0 += a[a0 + x] * k0; s1 += a[a1 + x] * k0; s2 += a[a2 + x] * k0; s3 += a[a3 + x] * k0;
    }
    out[c] = s0; out[BC + c] = s1; out[2 * BC + c] = s2; out[3 * BC + c] = s3;
  }
}

/** `acc[r * d + x] += sum_c p[r * BC + c] * bm[(kb + c) * d + x]` for 4 rows (acc rows start at `o`). */
function mulAccTile(p: Float64Array, bm: Float32Array, kb: number, n: number, d: number, acc: Float64Array,
                    o: number): void {
  const o1 = o + d, o2 = o1 + d, o3 = o2 + d;
  let c = 0;
  for (; c + 4 <= n; c += 4) {
    const p00 = p[c], p01 = p[c + 1], p02 = p[c + 2], p03 = p[c + 3];
    const p10 = p[BC + c], p11 = p[BC + c + 1], p12 = p[BC + c + 2], p13 = p[BC + c + 3];
    const p20 = p[2 * BC + c], p21 = p[2 * BC + c + 1], p22 = p[2 * BC + c + 2], p23 = p[2 * BC + c + 3];
    const p30 = p[3 * BC + c], p31 = p[3 * BC + c + 1], p32 = p[3 * BC + c + 2], p33 = p[3 * BC + c + 3];
    const b0 = (kb + c) * d, b1 = b0 + d, b2 = b1 + d, b3 = b2 + d;
    for (let x = 0; x < d; x++) {
      const w0 = bm[b0 + x], w1 = bm[b1 + x], w2 = bm[b2 + x], w3 = bm[b3 + x];
      acc[o + x] += p00 * w0 + p01 * w1 + p02 * w2 + p03 * w3;
      acc[o1 + x] += p10 * w0 + p11 * w1 + p12 * w2 + p13 * w3;
      acc[o2 + x] += p20 * w0 + p21 * w1 + p22 * w2 + p23 * w3;
      acc[o3 + x] += p30 * w0 + p31 * w1 + p32 * w2 + p33 * w3;
    }
  }
  for (; c < n; c++) {
    const p0 = p[c], p1 = p[BC + c], p2 = p[2 * BC + c], p3 = p[3 * BC + c];
    const b0 = (kb + c) * d;
    for (let x = 0; x < d; x++) {
      const w = bm[b0 + x];
      acc[o + x] += p0 * w; acc[o1 + x] += p1 * w; acc[o2 + x] += p2 * w; acc[o3 + x] += p3 * w;
    }
  }
}

/** `out[(kb + c) * d + x] += sum_r p[r * BC + c] * a[(i0 + r) * d + x]` (transposed product, 2 keys a step). */
function mulAccTransposedTile(p: Float64Array, a: Float64Array, i0: number, kb: number, n: number, d: number,
                              out: Float64Array): void {
  const a0 = i0 * d, a1 = a0 + d, a2 = a1 + d, a3 = a2 + d;
  let c = 0;
  for (; c + 2 <= n; c += 2) {
    const p00 = p[c], p10 = p[BC + c], p20 = p[2 * BC + c], p30 = p[3 * BC + c];
    const p01 = p[c + 1], p11 = p[BC + c + 1], p21 = p[2 * BC + c + 1], p31 = p[3 * BC + c + 1];
    const o0 = (kb + c) * d, o1 = o0 + d;
    for (let x = 0; x < d; x++) {
      const q0 = a[a0 + x], q1 = a[a1 + x], q2 = a[a2 + x], q3 = a[a3 + x];
      out[o0 + x] += p00 * q0 + p10 * q1 + p20 * q2 + p30 * q3;
      out[o1 + x] += p01 * q0 + p11 * q1 + p21 * q2 + p31 * q3;
    }
  }
  for (; c < n; c++) {
    const p0 = p[c], p1 = p[BC + c], p2 = p[2 * BC + c], p3 = p[3 * BC + c];
    const o0 = (kb + c) * d;
    for (let x = 0; x < d; x++) out[o0 + x] += p0 * a[a0 + x] + p1 * a[a1 + x] + p2 * a[a2 + x] + p3 * a[a3 + x];
  }
}

/** Rows padded to a multiple of BR (padding rows see no key). */
const padRows = (n: number) => Math.ceil(n / BR) * BR;

function forward(q: Float32Array, k: Float32Array, v: Float32Array, kvLengths: Int32Array, dm: FlashDims,
                 attrs: FlashAttentionAttrs): {output: Float32Array; lse: Float32Array} {
  const {batch, nq, nk, hq, hkv, d} = dm;
  const group = hq / hkv;
  const nqPad = padRows(nq);
  const output = new Float32Array(batch * nq * hq * d);
  const lse = new Float32Array(batch * hq * nq);
  const kPack = new Float32Array(nk * d), vPack = new Float32Array(nk * d);  // [nk, d] of one kv head
  const qPack = new Float64Array(nqPad * d);                                  // [nqPad, d], scaled
  const acc = new Float64Array(BR * d), s = new Float64Array(BR * BC);
  const m = new Float64Array(BR), l = new Float64Array(BR);
  const lo = new Int32Array(nqPad), hi = new Int32Array(nqPad);               // padding rows: [0, 0)
  for (let b = 0; b < batch; b++) {
    rowRanges(kvLengths[b], nq, attrs, lo, hi);
    for (let g = 0; g < hkv; g++) {
      packHead(k, b, nk, hkv, g, d, kPack);
      packHead(v, b, nk, hkv, g, d, vPack);
      for (let h = g * group; h < (g + 1) * group; h++) {
        packHead(q, b, nq, hq, h, d, qPack, attrs.scale);
        for (let i0 = 0; i0 < nq; i0 += BR) {
          let tLo = nk, tHi = 0;  // union of the tile rows' visible ranges
          for (let r = 0; r < BR; r++) {
            if (lo[i0 + r] < hi[i0 + r]) {
              tLo = Math.min(tLo, lo[i0 + r]);
              tHi = Math.max(tHi, hi[i0 + r]);
            }
          }
          m.fill(-Infinity);
          l.fill(0);
          acc.fill(0);
          for (let kb = tLo; kb < tHi; kb += BC) {
            const n = Math.min(BC, tHi - kb);
            dotTile(qPack, i0, kPack, kb, n, d, s);
            for (let r = 0; r < BR; r++) {
              const row = r * BC;
              const a = Math.max(0, lo[i0 + r] - kb), z = Math.min(n, hi[i0 + r] - kb);  // visible c in [a, z)
              if (a >= z) {
                s.fill(0, row, row + n);
                continue;
              }
              let rowMax = -Infinity;
              for (let c = a; c < z; c++) if (s[row + c] > rowMax) rowMax = s[row + c];
              const mNew = Math.max(m[r], rowMax);
              const alpha = Math.exp(m[r] - mNew);  // 0 on the first visible block (m = -inf)
              let sum = 0;
              for (let c = 0; c < n; c++) {
                const p = c >= a && c < z ? Math.exp(s[row + c] - mNew) : 0;
                s[row + c] = p;
                sum += p;
              }
              l[r] = alpha * l[r] + sum;
              if (alpha !== 1) for (let x = r * d; x < (r + 1) * d; x++) acc[x] *= alpha;
              m[r] = mNew;
            }
            mulAccTile(s, vPack, kb, n, d, acc, 0);
          }
          for (let r = 0; r < BR && i0 + r < nq; r++) {
            const i = i0 + r;
            const o = ((b * nq + i) * hq + h) * d;
            const inv = l[r] > 0 ? 1 / l[r] : 0;  // a row that sees no key outputs zeros
            for (let x = 0; x < d; x++) output[o + x] = acc[r * d + x] * inv;
            lse[(b * hq + h) * nq + i] = l[r] > 0 ? m[r] + Math.log(l[r]) : -Infinity;
          }
        }
      }
    }
  }
  return {output, lse};
}

function backward(q: Float32Array, k: Float32Array, v: Float32Array, kvLengths: Int32Array, output: Float32Array,
                  lse: Float32Array, dy: Float32Array, dm: FlashDims, attrs: FlashAttentionAttrs):
    {dq: Float32Array; dk: Float32Array; dv: Float32Array} {
  const {batch, nq, nk, hq, hkv, d} = dm;
  const group = hq / hkv;
  const scale = attrs.scale;
  const nqPad = padRows(nq);
  const dq = new Float32Array(q.length), dk = new Float32Array(k.length), dv = new Float32Array(v.length);
  const kPack = new Float32Array(nk * d), vPack = new Float32Array(nk * d);
  const qPack = new Float64Array(nqPad * d), dyPack = new Float64Array(nqPad * d);  // [nqPad, d]
  const dqAcc = new Float64Array(nqPad * d);
  const dkAcc = new Float64Array(nk * d), dvAcc = new Float64Array(nk * d);
  const rowLse = new Float64Array(nqPad), rowDot = new Float64Array(nqPad);       // lse_i, Dvec_i
  const p = new Float64Array(BR * BC), ds = new Float64Array(BR * BC);
  const lo = new Int32Array(nqPad), hi = new Int32Array(nqPad);
  const tileLo = new Int32Array(nqPad / BR), tileHi = new Int32Array(nqPad / BR);
  for (let b = 0; b < batch; b++) {
    rowRanges(kvLengths[b], nq, attrs, lo, hi);
    let keyEnd = 0;  // keys at or after this are seen by no row
    for (let t = 0; t < nqPad / BR; t++) {
      let tLo = nk, tHi = 0;
      for (let r = t * BR; r < (t + 1) * BR; r++) {
        if (lo[r] < hi[r]) {
          tLo = Math.min(tLo, lo[r]);
          tHi = Math.max(tHi, hi[r]);
        }
      }
      tileLo[t] = tLo;
      tileHi[t] = tHi;
      keyEnd = Math.max(keyEnd, tHi);
    }
    for (let g = 0; g < hkv; g++) {
      packHead(k, b, nk, hkv, g, d, kPack);
      packHead(v, b, nk, hkv, g, d, vPack);
      dkAcc.fill(0);
      dvAcc.fill(0);
      for (let h = g * group; h < (g + 1) * group; h++) {
        packHead(q, b, nq, hq, h, d, qPack, scale);
        packHead(dy, b, nq, hq, h, d, dyPack);
        for (let i = 0; i < nq; i++) {
          const o = ((b * nq + i) * hq + h) * d;
          let dot = 0;  // Dvec_i = dy_i . output_i
          for (let x = 0; x < d; x++) dot += dy[o + x] * output[o + x];
          rowDot[i] = dot;
          rowLse[i] = lse[(b * hq + h) * nq + i];
        }
        dqAcc.fill(0);
        for (let kb = 0; kb < keyEnd; kb += BC) {
          const n = Math.min(BC, keyEnd - kb);
          for (let t = 0; t < nqPad / BR; t++) {
            if (tileLo[t] >= kb + n || tileHi[t] <= kb) continue;  // this tile sees no key of the block
            const i0 = t * BR;
            dotTile(qPack, i0, kPack, kb, n, d, p);   // scale * q k^T
            dotTile(dyPack, i0, vPack, kb, n, d, ds);  // dP = dy v^T
            let full = true;  // every row of the tile sees every key of the block
            for (let r = 0; r < BR; r++) {
              const row = r * BC;
              const a = Math.max(0, lo[i0 + r] - kb), z = Math.min(n, hi[i0 + r] - kb);
              full &&= a === 0 && z === n;
              const rl = rowLse[i0 + r], rd = rowDot[i0 + r];
              for (let c = 0; c < n; c++) {
                // Masked entries are set, not multiplied: their score and dP read masked k and v (maybe NaN).
                const visible = c >= a && c < z;
                const pc = visible ? Math.exp(p[row + c] - rl) : 0;  // exactly normalised
                p[row + c] = pc;
                ds[row + c] = visible ? pc * (ds[row + c] - rd) : 0;
              }
            }
            mulAccTransposedTile(p, dyPack, i0, kb, n, d, dvAcc);   // dV += P^T dy
            mulAccTransposedTile(ds, qPack, i0, kb, n, d, dkAcc);   // dK += dS^T (scale q)
            if (full) {
              mulAccTile(ds, kPack, kb, n, d, dqAcc, i0 * d);       // dQ += dS K (scaled below)
            } else {  // each row reads only the keys it sees (0 * a masked NaN key would be NaN)
              for (let r = 0; r < BR; r++) {
                const a = Math.max(0, lo[i0 + r] - kb), z = Math.min(n, hi[i0 + r] - kb), o = (i0 + r) * d;
                for (let c = a; c < z; c++) {
                  const w = ds[r * BC + c], kr = (kb + c) * d;
                  for (let x = 0; x < d; x++) dqAcc[o + x] += w * kPack[kr + x];
                }
              }
            }
          }
        }
        for (let i = 0; i < nq; i++) {
          const o = ((b * nq + i) * hq + h) * d;
          for (let x = 0; x < d; x++) dq[o + x] = scale * dqAcc[i * d + x];
        }
      }
      for (let j = 0; j < nk; j++) {
        const o = ((b * nk + j) * hkv + g) * d;
        for (let x = 0; x < d; x++) {
          dk[o + x] = dkAcc[j * d + x];
          dv[o + x] = dvAcc[j * d + x];
        }
      }
    }
  }
  return {dq, dk, dv};
}

/** The plain-JS host implementation; always registered. */
export const jsFlashImpl: HostFlashImpl = {name: 'js', forward, backward};
registerHostFlashImpl(jsFlashImpl);

/** Problem sizes from q [B, Nq, Hq, D] and k [B, Nk, Hkv, D]. */
export function flashDims(qShape: number[], kShape: number[]): FlashDims {
  const [batch, nq, hq, d] = qShape;
  return {batch, nq, nk: kShape[1], hq, hkv: kShape[2], d};
}

/** Forward host kernel (cpu, wasm): outputs [output, lse] through the active host implementation. */
export const flashAttentionHostKernel: KernelFunc = hostKernel<FlashAttentionAttrs>(({q, k, v, kvLengths}, attrs) => {
  const dims = flashDims(q.shape, k.shape);
  const {output, lse} = activeHostFlashImpl().forward(q.values as Float32Array, k.values as Float32Array,
      v.values as Float32Array, kvLengths.values as Int32Array, dims, attrs);
  return [{shape: q.shape, values: output}, {shape: [dims.batch, dims.hq, dims.nq], values: lse}];
});

/** Backward host kernel (cpu, wasm): outputs [dq, dk, dv]. */
export const flashAttentionGradHostKernel: KernelFunc = hostKernel<FlashAttentionAttrs>(
    ({q, k, v, kvLengths, output, lse, dy}, attrs) => {
      const dims = flashDims(q.shape, k.shape);
      const {dq, dk, dv} = activeHostFlashImpl().backward(q.values as Float32Array, k.values as Float32Array,
          v.values as Float32Array, kvLengths.values as Int32Array, output.values as Float32Array,
          lse.values as Float32Array, dy.values as Float32Array, dims, attrs);
      return [{shape: q.shape, values: dq}, {shape: k.shape, values: dk}, {shape: v.shape, values: dv}];
    });
