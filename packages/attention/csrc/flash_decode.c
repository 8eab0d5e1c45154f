/*
 * Flash-decoding step in f32x4 SIMD: a few query rows per head against a long KV cache, causal and bottom-right
 * aligned at each batch row's cache length. Reading the cache dominates, so K and V rows are read in place
 * (no packing) and front to back; each key tile is read from memory once: the Hq / Hkv * Nq query rows that share
 * a kv head are processed together while the tile sits in L1. One chunk per head (split-KV gains nothing on
 * one core); the online softmax is the forward kernel's.
 * Layouts: q, out [B, Nq, Hq, D]; k, v [B, L, Hkv, D] (only rows < lens[b] are read); lens [B].
 */
#include "flash_common.h"

/* Floats of scratch flash_decode needs for `rows` = Hq / Hkv * Nq query rows per kv head and `hkv` kv heads. */
__attribute__((export_name("flash_decode_scratch")))
int flash_decode_scratch(int rows, int d, int hkv) {
  const int rows4 = round_up(rows, 4);
  return hkv * (2 * rows4 * d + 2 * rows4) + rows4 * BC;
}

/* s[0..4) = q . k_j for the 4 keys at k, k + stride, ... (horizontal sums by two transposing shuffle steps). */
static inline v128_t dot4(const float *q, const float *k, int stride, int d) {
  const float *k1 = k + stride, *k2 = k1 + stride, *k3 = k2 + stride;
  v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
  for (int c = 0; c < d; c += 4) {
    const v128_t qv = wasm_v128_load(q + c);
    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(qv, wasm_v128_load(k + c)));
    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(qv, wasm_v128_load(k1 + c)));
    a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(qv, wasm_v128_load(k2 + c)));
    a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(qv, wasm_v128_load(k3 + c)));
  }
  const v128_t s01 = wasm_f32x4_add(wasm_i32x4_shuffle(a0, a1, 0, 4, 1, 5), wasm_i32x4_shuffle(a0, a1, 2, 6, 3, 7));
  const v128_t s23 = wasm_f32x4_add(wasm_i32x4_shuffle(a2, a3, 0, 4, 1, 5), wasm_i32x4_shuffle(a2, a3, 2, 6, 3, 7));
  return wasm_f32x4_add(wasm_i32x4_shuffle(s01, s23, 0, 1, 4, 5), wasm_i32x4_shuffle(s01, s23, 2, 3, 6, 7));
}

static inline float dot1(const float *q, const float *k, int d) {
  v128_t a = wasm_f32x4_splat(0.0f);
  for (int c = 0; c < d; c += 4) a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(q + c), wasm_v128_load(k + c)));
  return wasm_f32x4_extract_lane(a, 0) + wasm_f32x4_extract_lane(a, 1) + wasm_f32x4_extract_lane(a, 2) +
         wasm_f32x4_extract_lane(a, 3);
}

__attribute__((export_name("flash_decode")))
void flash_decode(const float *q, const float *k, const float *v, const int *lens, float *out, int batch, int nq,
                  int max_len, int hq, int hkv, int d, float scale, float *scratch) {
  const int group = hq / hkv, rows = group * nq, rows4 = round_up(rows, 4), stride = hkv * d;
  const float c2 = scale * LOG2E;
  /* Per kv head g: rows r = (hh, i) = hh * nq + i of query head g * group + hh, query row i. */
  float *qp = scratch;                    /* [hkv][rows4][D]  q * scale * log2(e) */
  float *acc = qp + hkv * rows4 * d;      /* [hkv][rows4][D] */
  float *m_row = acc + hkv * rows4 * d;   /* [hkv][rows4] */
  float *l_row = m_row + hkv * rows4;     /* [hkv][rows4] */
  float *s = l_row + hkv * rows4;         /* [rows4][BC] */
  const v128_t cv = wasm_f32x4_splat(c2);
  for (int b = 0; b < batch; b++) {
    const int len = imax(0, imin(lens[b], max_len));
    for (int x = 0; x < hkv * rows4; x++) {
      const int g = x / rows4, r = x % rows4;
      float *dst = qp + x * d;
      if (r < rows) {
        const float *src = q + ((b * nq + r % nq) * hq + g * group + r / nq) * d;
        for (int c = 0; c < d; c += 4) wasm_v128_store(dst + c, wasm_f32x4_mul(wasm_v128_load(src + c), cv));
      } else {
        for (int c = 0; c < d; c += 4) wasm_v128_store(dst + c, wasm_f32x4_splat(0.0f));
      }
      for (int c = 0; c < d; c += 4) wasm_v128_store(acc + x * d + c, wasm_f32x4_splat(0.0f));
      m_row[x] = NEG_INF;
      l_row[x] = 0.0f;
    }
    /* Key tiles outermost and kv heads inside: the cache is read front to back, whole rows at a time. */
    for (int j0 = 0; j0 < len; j0 += BC) {
      const int n = imin(BC, len - j0);
      for (int g = 0; g < hkv; g++) {
        const float *kt = k + ((b * max_len + j0) * hkv + g) * d, *vt = v + ((b * max_len + j0) * hkv + g) * d;
        float *qg = qp + g * rows4 * d, *ag = acc + g * rows4 * d, *mg = m_row + g * rows4, *lg = l_row + g * rows4;
        for (int r = 0; r < rows; r++) {
          float *sr = s + r * BC;
          const float *qr = qg + r * d;
          int jj = 0;
          for (; jj + 4 <= n; jj += 4) wasm_v128_store(sr + jj, dot4(qr, kt + jj * stride, stride, d));
          for (; jj < n; jj++) sr[jj] = dot1(qr, kt + jj * stride, d);
          const int hi = len - nq + r % nq + 1 - j0;  /* causal: keys j < len - nq + i + 1 */
          if (n < BC || hi < BC) mask_outside(sr, 0, imin(n, hi), NEG_INF);
          const float alpha = softmax_update(sr, mg + r, lg + r);
          if (alpha != 1.0f) {
            const v128_t av = wasm_f32x4_splat(alpha);
            float *ar = ag + r * d;
            for (int c = 0; c < d; c += 4) wasm_v128_store(ar + c, wasm_f32x4_mul(wasm_v128_load(ar + c), av));
          }
        }
        if (len - nq + 1 - j0 >= n) {  /* every row sees the whole tile */
          gemm_f32(rows, d, n, s, BC, 1, vt, stride, ag, d, 1);  /* acc += P V  [rows][D] */
        } else {  /* the causal boundary crosses the tile: each row reads only the values it sees (row_axpy) */
          for (int r = 0; r < rows; r++) {
            row_axpy(s + r * BC, 0, imin(n, len - nq + r % nq + 1 - j0), vt, stride, d, ag + r * d);
          }
        }
      }
    }
    for (int x = 0; x < hkv * rows4; x++) {
      const int g = x / rows4, r = x % rows4;
      if (r >= rows) continue;
      const float inv = l_row[x] > 0.0f ? 1.0f / l_row[x] : 0.0f;
      float *o = out + ((b * nq + r % nq) * hq + g * group + r / nq) * d;
      const v128_t iv = wasm_f32x4_splat(inv);
      for (int c = 0; c < d; c += 4) wasm_v128_store(o + c, wasm_f32x4_mul(wasm_v128_load(acc + x * d + c), iv));
    }
  }
}
