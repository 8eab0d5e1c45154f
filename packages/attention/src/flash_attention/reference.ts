/**
 * Float64 oracle for flash attention: the textbook algorithm (full score rows, exact softmax), written to be
 * read against ../shared/specs/attention.md. Every kernel is tested against it; it is never fast.
 *
 * Layout: q [B, Nq, Hq, D], k and v [B, Nk, Hkv, D], row-major; lse [B, Hq, Nq].
 * Independent of the kernels: it states the masking rule itself, pair by pair, as the spec words it (no shared
 * helper such as the kernels' `visibleKeyRange`, so a masking bug there cannot hide here).
 */
import type {FlashAttentionAttrs, FlashDims} from './contract';

const qIndex = (dm: FlashDims, b: number, i: number, h: number) => ((b * dm.nq + i) * dm.hq + h) * dm.d;
const kIndex = (dm: FlashDims, b: number, j: number, g: number) => ((b * dm.nk + j) * dm.hkv + g) * dm.d;

/**
 * The spec's mask (specs/attention.md, "bottom-right aligned"): with `off = kvLength - Nq`, query `i` may see key
 * `j` iff `j < kvLength`, and `j <= i + off` when causal, and `i + off - left <= j` when `left != -1`, and
 * `j <= i + off + right` when `right != -1`.
 */
function sees(i: number, j: number, nq: number, kvLength: number, attrs: FlashAttentionAttrs): boolean {
  const off = kvLength - nq;
  if (!(j < kvLength)) return false;
  if (attrs.causal && !(j <= i + off)) return false;
  if (attrs.windowLeft !== -1 && !(i + off - attrs.windowLeft <= j)) return false;
  if (attrs.windowRight !== -1 && !(j <= i + off + attrs.windowRight)) return false;
  return true;
}

/** The keys query row `i` of batch row `b` sees, in increasing order. */
function visibleKeys(dm: FlashDims, i: number, kvLength: number, attrs: FlashAttentionAttrs): number[] {
  const keys: number[] = [];
  for (let j = 0; j < dm.nk; j++) if (sees(i, j, dm.nq, kvLength, attrs)) keys.push(j);
  return keys;
}

/** Attention probabilities of one query row over its visible keys (`p[t]` for key `keys[t]`), and its log-sum-exp. */
function softmaxRow(q: ArrayLike<number>, k: ArrayLike<number>, dm: FlashDims, b: number, i: number, h: number,
                    keys: number[], scale: number): {p: Float64Array; lse: number} {
  const g = Math.floor(h / (dm.hq / dm.hkv));  // kv head shared by this query head
  const s = new Float64Array(keys.length);
  let max = -Infinity;
  for (let t = 0; t < keys.length; t++) {
    let dot = 0;
    for (let c = 0; c < dm.d; c++) dot += q[qIndex(dm, b, i, h) + c] * k[kIndex(dm, b, keys[t], g) + c];
    s[t] = scale * dot;
    max = Math.max(max, s[t]);
  }
  if (s.length === 0) return {p: s, lse: -Infinity};
  let sum = 0;
  for (let t = 0; t < s.length; t++) sum += (s[t] = Math.exp(s[t] - max));
  for (let t = 0; t < s.length; t++) s[t] /= sum;
  return {p: s, lse: max + Math.log(sum)};
}

/** Forward: output [B, Nq, Hq, D] and lse [B, Hq, Nq] in float64. */
export function flashAttentionReference(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>,
                                        kvLengths: ArrayLike<number>, dm: FlashDims, attrs: FlashAttentionAttrs):
    {output: Float64Array; lse: Float64Array} {
  const output = new Float64Array(dm.batch * dm.nq * dm.hq * dm.d);
  const lse = new Float64Array(dm.batch * dm.hq * dm.nq);
  for (let b = 0; b < dm.batch; b++) {
    for (let h = 0; h < dm.hq; h++) {
      const g = Math.floor(h / (dm.hq / dm.hkv));
      for (let i = 0; i < dm.nq; i++) {
        const keys = visibleKeys(dm, i, kvLengths[b], attrs);
        const {p, lse: rowLse} = softmaxRow(q, k, dm, b, i, h, keys, attrs.scale);
        lse[(b * dm.hq + h) * dm.nq + i] = rowLse;
        const o = qIndex(dm, b, i, h);
        keys.forEach((j, t) => {
          for (let c = 0; c < dm.d; c++) output[o + c] += p[t] * v[kIndex(dm, b, j, g) + c];
        });
      }
    }
  }
  return {output, lse};
}

/**
 * Backward in float64 from the definition: dV = P^T dY, dP = dY V^T, dS = P * (dP - rowsum(dP * P)),
 * dQ = scale * dS K, dK = scale * dS^T Q (GQA: summed over the query heads sharing a kv head).
 */
export function flashAttentionReferenceGrad(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>,
                                            kvLengths: ArrayLike<number>, dy: ArrayLike<number>, dm: FlashDims,
                                            attrs: FlashAttentionAttrs):
    {dq: Float64Array; dk: Float64Array; dv: Float64Array} {
  const dq = new Float64Array(dm.batch * dm.nq * dm.hq * dm.d);
  const dk = new Float64Array(dm.batch * dm.nk * dm.hkv * dm.d);
  const dv = new Float64Array(dk.length);
  for (let b = 0; b < dm.batch; b++) {
    for (let h = 0; h < dm.hq; h++) {
      const g = Math.floor(h / (dm.hq / dm.hkv));
      for (let i = 0; i < dm.nq; i++) {
        const keys = visibleKeys(dm, i, kvLengths[b], attrs);
        const {p} = softmaxRow(q, k, dm, b, i, h, keys, attrs.scale);
        const qo = qIndex(dm, b, i, h);
        const dp = new Float64Array(p.length);  // dP_ij = dY_i . V_j
        let rowDot = 0;                          // sum_j P_ij dP_ij  (= rowsum(dY * O))
        keys.forEach((j, t) => {
          let dot = 0;
          for (let c = 0; c < dm.d; c++) dot += dy[qo + c] * v[kIndex(dm, b, j, g) + c];
          dp[t] = dot;
          rowDot += p[t] * dot;
        });
        for (let t = 0; t < keys.length; t++) {
          const pj = p[t];
          const ds = pj * (dp[t] - rowDot);
          const ko = kIndex(dm, b, keys[t], g);
          for (let c = 0; c < dm.d; c++) {
            dv[ko + c] += pj * dy[qo + c];
            dq[qo + c] += attrs.scale * ds * k[ko + c];
            dk[ko + c] += attrs.scale * ds * q[qo + c];
          }
        }
      }
    }
  }
  return {dq, dk, dv};
}
