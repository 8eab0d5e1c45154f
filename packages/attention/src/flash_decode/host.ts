/**
 * The cpu / wasm flash-decoding kernel: plain JS over typed arrays (wasm tensors are heap views, so the same
 * code serves both backends; a SIMD wasm implementation can replace it through `registerHostDecodeImpl`).
 *
 * Decode is bound by reading the cache, so the loop is organised to read each K and V row exactly once: the
 * cache is walked in blocks of BLOCK positions (all kv heads of a block are adjacent in memory), and within a
 * block the `Hq / Hkv * Nq` query rows sharing a kv head (GQA) are scored together with register blocking
 * (4 query rows x 2 keys), then folded into a per-row online softmax and the P V accumulation (4 rows x 4
 * keys: 8 loads per 16 multiply-adds). Accumulators are float64 (no float32 rounding in the inner loops).
 *
 * `numSplits` is ignored here: one core gains nothing from splitting the keys, and this loop already reads
 * the cache once, like split-KV with one chunk. The result is therefore identical for every `numSplits`.
 */
import {hostKernels, type HostTensor} from '@tfjs-ext/core';
import {activeHostDecodeImpl, cacheLengthError, type DecodeDims, type FlashDecodeAttrs,
        type HostDecodeImpl, registerHostDecodeImpl} from './contract';

// Scratch buffers reused across calls (decode runs once per token per layer: no allocation per call).
let scratchScores = new Float64Array(0);
let scratchQ = new Float64Array(0);
let scratchAcc = new Float64Array(0);

function ensureScratch(scores: number, qRows: number): void {
  if (scratchScores.length < scores) scratchScores = new Float64Array(Math.max(scores, 2 * scratchScores.length));
  if (scratchQ.length < qRows) {
    scratchQ = new Float64Array(qRows);
    scratchAcc = new Float64Array(qRows);
  }
}

/**
 * Where query row r's element c lives in the query scratch: rows come in blocks of 4 stored interleaved
 * (`[c][4]`, so one index walks all four rows), the rows left over after the last full block plainly.
 */
function queryScratchIndex(r: number, c: number, rows: number, d: number): number {
  return r < rows - rows % 4 ? (r - (r & 3)) * d + c * 4 + (r & 3) : r * d + c;
}

/**
 * s[r * len + j] = qs[r] . k[j] for rows r < rows and keys j < len, where key j of the kv head starts at
 * `kBase + j * stride` in `k` and qs is laid out by {@link queryScratchIndex}. Blocks of 4 rows x 2 keys:
 * 8 accumulators and 6 loaded values fit x86-64's 16 vector registers (4 x 4 spills and measured slower).
 */
function scores(qs: Float64Array, rows: number, k: Float32Array, kBase: number, stride: number, len: number,
                d: number, s: Float64Array): void {
  const rows4 = rows - rows % 4;
  let r = 0;
  for (; r < rows4; r += 4) {
    const qb = r * d;
    const s0 = r * len, s1 = s0 + len, s2 = s1 + len, s3 = s2 + len;
    let j = 0;
    for (; j + 2 <= len; j += 2) {
      const k0 = kBase + j * stride, k1 = k0 + stride;
      let a00 = 0, a01 = 0, a10 = 0, a11 = 0, a20 = 0, a21 = 0, a30 = 0, a31 = 0;
      for (let c = 0, c4 = qb; c < d; c++, c4 += 4) {
        const x0 = k[k0 + c], x1 = k[k1 + c];
        const y0 = qs[c4], y1 = qs[c4 + 1], y2 = qs[c4 + 2], y3 = qs[c4 + 3];
        a00 += y0 * x0; a01 += y0 * x1; a10 += y1 * x0; a11 += y1 * x1;
        a20 += y2 * x0; a21 += y2 * x1; a30 += y3 * x0; a31 += y3 * x1;
      }
      s[s0 + j] = a00; s[s0 + j + 1] = a01; s[s1 + j] = a10; s[s1 + j + 1] = a11;
      s[s2 + j] = a20; s[s2 + j + 1] = a21; s[s3 + j] = a30; s[s3 + j + 1] = a31;
    }
    if (j < len) {  // odd last key
      const k0 = kBase + j * stride;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (let c = 0, c4 = qb; c < d; c++, c4 += 4) {
        const x = k[k0 + c];
        a0 += qs[c4] * x; a1 += qs[c4 + 1] * x; a2 += qs[c4 + 2] * x; a3 += qs[c4 + 3] * x;
      }
      s[s0 + j] = a0; s[s1 + j] = a1; s[s2 + j] = a2; s[s3 + j] = a3;
    }
  }
  if (rows - r >= 2) {  // two leftover rows (e.g. Hq / Hkv = 2), 4 keys at a time
    const q0 = r * d, q1 = q0 + d, s0 = r * len, s1 = s0 + len;
    let j = 0;
    for (; j + 4 <= len; j += 4) {
      const k0 = kBase + j * stride, k1 = k0 + stride, k2 = k1 + stride, k3 = k2 + stride;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
      for (let c = 0; c < d; c++) {
        const x0 = k[k0 + c], x1 = k[k1 + c], x2 = k[k2 + c], x3 = k[k3 + c];
        const y = qs[q0 + c], z = qs[q1 + c];
        a0 += y * x0; a1 += y * x1; a2 += y * x2; a3 += y * x3;
        b0 += z * x0; b1 += z * x1; b2 += z * x2; b3 += z * x3;
      }
      s[s0 + j] = a0; s[s0 + j + 1] = a1; s[s0 + j + 2] = a2; s[s0 + j + 3] = a3;
      s[s1 + j] = b0; s[s1 + j + 1] = b1; s[s1 + j + 2] = b2; s[s1 + j + 3] = b3;
    }
    for (; j < len; j++) {
      const k0 = kBase + j * stride;
      let a = 0, b = 0;
      for (let c = 0; c < d; c++) {
        const x = k[k0 + c];
        a += qs[q0 + c] * x;
        b += qs[q1 + c] * x;
      }
      s[s0 + j] = a;
      s[s1 + j] = b;
    }
    r += 2;
  }
  for (; r < rows; r++) {  // a last single row (MHA decode: one row per kv head), 4 keys at a time
    const q0 = r * d, s0 = r * len;
    let j = 0;
    for (; j + 4 <= len; j += 4) {
      const k0 = kBase + j * stride, k1 = k0 + stride, k2 = k1 + stride, k3 = k2 + stride;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (let c = 0; c < d; c++) {
        const y = qs[q0 + c];
        a0 += y * k[k0 + c]; a1 += y * k[k1 + c]; a2 += y * k[k2 + c]; a3 += y * k[k3 + c];
      }
      s[s0 + j] = a0; s[s0 + j + 1] = a1; s[s0 + j + 2] = a2; s[s0 + j + 3] = a3;
    }
    for (; j < len; j++) {
      const k0 = kBase + j * stride;
      let a = 0;
      for (let c = 0; c < d; c++) a += qs[q0 + c] * k[k0 + c];
      s[s0 + j] = a;
    }
  }
}

/** acc[r] += sum_j p[r * len + j] * v[j] (acc rows of length d, zeroed by the caller). */
function accumulate(p: Float64Array, rows: number, v: Float32Array, vBase: number, stride: number, len: number,
                    d: number, acc: Float64Array): void {
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const o0 = r * d, o1 = o0 + d, o2 = o1 + d, o3 = o2 + d;
    const s0 = r * len, s1 = s0 + len, s2 = s1 + len, s3 = s2 + len;
    let j = 0;
    for (; j + 4 <= len; j += 4) {
      const v0 = vBase + j * stride, v1 = v0 + stride, v2 = v1 + stride, v3 = v2 + stride;
      const p00 = p[s0 + j], p01 = p[s0 + j + 1], p02 = p[s0 + j + 2], p03 = p[s0 + j + 3];
      const p10 = p[s1 + j], p11 = p[s1 + j + 1], p12 = p[s1 + j + 2], p13 = p[s1 + j + 3];
      const p20 = p[s2 + j], p21 = p[s2 + j + 1], p22 = p[s2 + j + 2], p23 = p[s2 + j + 3];
      const p30 = p[s3 + j], p31 = p[s3 + j + 1], p32 = p[s3 + j + 2], p33 = p[s3 + j + 3];
      for (let c = 0; c < d; c++) {
        const x0 = v[v0 + c], x1 = v[v1 + c], x2 = v[v2 + c], x3 = v[v3 + c];
        acc[o0 + c] += p00 * x0 + p01 * x1 + p02 * x2 + p03 * x3;
        acc[o1 + c] += p10 * x0 + p11 * x1 + p12 * x2 + p13 * x3;
        acc[o2 + c] += p20 * x0 + p21 * x1 + p22 * x2 + p23 * x3;
        acc[o3 + c] += p30 * x0 + p31 * x1 + p32 * x2 + p33 * x3;
      }
    }
    for (; j < len; j++) {
      const v0 = vBase + j * stride;
      const p0 = p[s0 + j], p1 = p[s1 + j], p2 = p[s2 + j], p3 = p[s3 + j];
      for (let c = 0; c < d; c++) {
        const x = v[v0 + c];
        acc[o0 + c] += p0 * x; acc[o1 + c] += p1 * x; acc[o2 + c] += p2 * x; acc[o3 + c] += p3 * x;
      }
    }
  }
  for (; r < rows; r++) {
    const o0 = r * d, s0 = r * len;
    let j = 0;
    for (; j + 4 <= len; j += 4) {
      const v0 = vBase + j * stride, v1 = v0 + stride, v2 = v1 + stride, v3 = v2 + stride;
      const p0 = p[s0 + j], p1 = p[s0 + j + 1], p2 = p[s0 + j + 2], p3 = p[s0 + j + 3];
      for (let c = 0; c < d; c++) acc[o0 + c] += p0 * v[v0 + c] + p1 * v[v1 + c] + p2 * v[v2 + c] + p3 * v[v3 + c];
    }
    for (; j < len; j++) {
      const v0 = vBase + j * stride, p0 = p[s0 + j];
      for (let c = 0; c < d; c++) acc[o0 + c] += p0 * v[v0 + c];
    }
  }
}

/** Keys per block: the block's K and V rows of all kv heads (BLOCK x Hkv x D floats each) stay in L1/L2. */
const BLOCK = 64;

/**
 * Online-softmax update of row r with the block's scores `s[start, start + n)`, of which the first `visible`
 * are visible: rewrites them as exp(s - m_new) (0 when masked), rescales the row's running sum and output
 * accumulator by exp(m_old - m_new), and updates the running max.
 */
function softmaxUpdate(s: Float64Array, start: number, n: number, visible: number, r: number, m: Float64Array,
                       l: Float64Array, acc: Float64Array, d: number): void {
  if (visible <= 0) {
    s.fill(0, start, start + n);
    return;
  }
  const mOld = m[r];
  let mNew = mOld;
  for (let j = start; j < start + visible; j++) if (s[j] > mNew) mNew = s[j];
  let sum = 0;
  for (let j = start; j < start + visible; j++) sum += (s[j] = Math.exp(s[j] - mNew));
  if (visible < n) s.fill(0, start + visible, start + n);
  if (mNew !== mOld) {
    const alpha = Math.exp(mOld - mNew);  // 0 on the first visible block (mOld = -Infinity)
    l[r] *= alpha;
    for (let c = r * d; c < (r + 1) * d; c++) acc[c] *= alpha;
    m[r] = mNew;
  }
  l[r] += sum;
}

/**
 * Plain-JS decode: output [B, Nq, Hq, D]. Walks the cache once, in blocks of BLOCK positions; within a block
 * each kv head's K rows are scored against all the query rows sharing it, then its V rows are accumulated,
 * so every byte of the valid cache is read once, in address order.
 */
export function flashDecodeJs(q: Float32Array, kCache: Float32Array, vCache: Float32Array, cacheLengths: Int32Array,
                              dm: DecodeDims, attrs: FlashDecodeAttrs): Float32Array {
  const {batch, nq, maxLength, hq, hkv, d} = dm;
  const group = hq / hkv;
  const rows = group * nq;  // query rows sharing one kv head: row r = i * group + t reads query head g * group + t
  const stride = hkv * d;   // distance between consecutive positions of one kv head in the cache
  const out = new Float32Array(batch * nq * hq * d);
  for (let b = 0; b < batch; b++) {
    const len = cacheLengths[b];
    if (!(len >= 0 && len <= maxLength)) throw cacheLengthError(b, len, maxLength);
  }
  const allRows = hkv * rows;  // query rows of all kv heads: row g * rows + r
  ensureScratch(allRows * BLOCK, allRows * d);
  const qs = scratchQ, acc = scratchAcc, s = scratchScores;
  const m = new Float64Array(allRows), l = new Float64Array(allRows);
  // Per-kv-head views of the query rows, accumulators and running max / sum (made once per call).
  const view = (a: Float64Array, width: number) =>
      Array.from({length: hkv}, (_, g) => a.subarray(g * rows * width, (g + 1) * rows * width));
  const qViews = view(qs, d), accViews = view(acc, d), mViews = view(m, 1), lViews = view(l, 1);
  for (let b = 0; b < batch; b++) {
    const len = cacheLengths[b];
    if (len === 0) continue;  // nothing visible: zeros
    for (let g = 0; g < hkv; g++) {
      for (let i = 0; i < nq; i++) {
        for (let t = 0; t < group; t++) {
          const src = ((b * nq + i) * hq + g * group + t) * d, dst = g * rows * d, r = i * group + t;
          for (let c = 0; c < d; c++) qs[dst + queryScratchIndex(r, c, rows, d)] = q[src + c] * attrs.scale;
        }
      }
    }
    m.fill(-Infinity);
    l.fill(0);
    acc.fill(0, 0, allRows * d);
    for (let j0 = 0; j0 < len; j0 += BLOCK) {
      const n = Math.min(BLOCK, len - j0);
      for (let g = 0; g < hkv; g++) {
        const base = (b * maxLength + j0) * stride + g * d;
        const accG = accViews[g], mG = mViews[g], lG = lViews[g];
        scores(qViews[g], rows, kCache, base, stride, n, d, s);
        // Causal, bottom-right aligned: query i sees keys j < len - nq + i + 1.
        for (let r = 0; r < rows; r++) {
          const hi = len - nq + Math.floor(r / group) + 1;
          softmaxUpdate(s, r * n, n, Math.min(n, hi - j0), r, mG, lG, accG, d);
        }
        if (len - nq + 1 - j0 >= n) {  // every row sees the whole block
          accumulate(s, rows, vCache, base, stride, n, d, accG);
        } else {  // the causal boundary crosses the block: each row reads only the values it sees (0 * NaN is NaN)
          for (let r = 0; r < rows; r++) {
            const visible = Math.min(n, len - nq + Math.floor(r / group) + 1 - j0);
            for (let j = 0; j < visible; j++) {
              const pj = s[r * n + j], v0 = base + j * stride;
              for (let c = 0; c < d; c++) accG[r * d + c] += pj * vCache[v0 + c];
            }
          }
        }
      }
    }
    for (let g = 0; g < hkv; g++) {
      for (let i = 0; i < nq; i++) {
        for (let t = 0; t < group; t++) {
          const r = g * rows + i * group + t, dst = ((b * nq + i) * hq + g * group + t) * d;
          const inv = l[r] > 0 ? 1 / l[r] : 0;  // a row that sees no key stays 0
          for (let c = 0; c < d; c++) out[dst + c] = acc[r * d + c] * inv;
        }
      }
    }
  }
  return out;
}

registerHostDecodeImpl({name: 'js', decode: flashDecodeJs} satisfies HostDecodeImpl);

/** Host kernels (`cpu`, `wasm`) of `TfjsExtFlashDecode`. */
export const flashDecodeHostKernels = hostKernels<FlashDecodeAttrs>(({q, kCache, vCache, cacheLengths}, attrs) => {
  const [batch, nq, hq, d] = q.shape;
  const [, maxLength, hkv] = kCache.shape;
  const values = activeHostDecodeImpl().decode(
      f32(q), f32(kCache), f32(vCache), cacheLengths.values as Int32Array, {batch, nq, maxLength, hq, hkv, d}, attrs);
  return [{shape: q.shape, values}];
});

function f32(t: HostTensor): Float32Array {
  return t.values as Float32Array;
}

