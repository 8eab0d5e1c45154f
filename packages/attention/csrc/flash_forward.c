/*
 * Flash attention forward (FlashAttention-2 order) in f32x4 SIMD: per (batch, query head, block of QB query
 * rows), loop over the key tiles that hold a visible key, with the online softmax in base 2
 * (s2 = scale * log2(e) * q.k, p = 2^(s2 - m)). Outputs O and, per row, the running max m (base 2) and the sum l;
 * the JS side turns them into lse = ln(2) * m + ln(l). Memory: the packed K^T and V of one kv head, O(Nk * D).
 */
#include "flash_common.h"

/* Floats of scratch flash_forward needs. */
__attribute__((export_name("flash_forward_scratch")))
int flash_forward_scratch(int nk, int d) {
  return 2 * round_up(nk, BC) * d + 2 * QB * d + QB * BC + 2 * QB;
}

/*
 * out [B, Nq, Hq, D]; m_out, l_out [B, Hq, Nq]. kv_lens[b] in [0, Nk] (clamped).
 */
__attribute__((export_name("flash_forward")))
void flash_forward(const float *q, const float *k, const float *v, const int *kv_lens, float *out, float *m_out,
                   float *l_out, int batch, int nq, int nk, int hq, int hkv, int d, float scale, int causal,
                   int window_left, int window_right, float *scratch) {
  const mask_t mk = {causal, window_left, window_right};
  const int group = hq / hkv;
  const int nk_pad = round_up(nk, BC);
  const float c2 = scale * LOG2E;
  float *kt = scratch;              /* [nk_pad / BC][D][BC] */
  float *vp = kt + nk_pad * d;      /* [nk_pad][D] */
  float *qb = vp + nk_pad * d;      /* [QB][D] */
  float *acc = qb + QB * d;         /* [QB][D] */
  float *s = acc + QB * d;          /* [QB][BC] */
  float *m_row = s + QB * BC;       /* [QB] */
  float *l_row = m_row + QB;        /* [QB] */
  for (int b = 0; b < batch; b++) {
    const int kv_len = imax(0, imin(kv_lens[b], nk));
    const int kv_pad = round_up(kv_len, BC);
    for (int g = 0; g < hkv; g++) {
      const float *kb = k + ((b * nk) * hkv + g) * d;
      const float *vb = v + ((b * nk) * hkv + g) * d;
      pack_transposed_tiles(kb, hkv * d, kv_len, kv_pad, d, kt);
      pack_rows(vb, hkv * d, kv_len, kv_pad, d, vp);
      for (int h = g * group; h < (g + 1) * group; h++) {
        for (int i0 = 0; i0 < nq; i0 += QB) {
          const int rows = imin(QB, nq - i0), rows4 = round_up(rows, 4);
          pack_rows(q + ((b * nq + i0) * hq + h) * d, hq * d, rows, rows4, d, qb);
          /* Scores come out in base 2 (s2 = scale * log2(e) * q.k) when q is scaled once here. */
          const v128_t cv = wasm_f32x4_splat(c2);
          for (int x = 0; x < rows4 * d; x += 4) wasm_v128_store(qb + x, wasm_f32x4_mul(wasm_v128_load(qb + x), cv));
          for (int x = 0; x < rows4 * d; x += 4) wasm_v128_store(acc + x, wasm_f32x4_splat(0.0f));
          for (int r = 0; r < rows; r++) { m_row[r] = NEG_INF; l_row[r] = 0.0f; }
          int lo_first, hi_first, lo_last, hi_last;
          visible_range(i0, nq, kv_len, &mk, &lo_first, &hi_first);
          visible_range(i0 + rows - 1, nq, kv_len, &mk, &lo_last, &hi_last);
          /* Row ranges grow monotonically with i, so the block sees keys in [lo_first, hi_last) only. */
          for (int j0 = lo_first / BC * BC; j0 < hi_last; j0 += BC) {
            const int full = lo_last <= j0 && hi_first >= j0 + BC;
            gemm_f32(rows4, BC, d, qb, d, 1, kt + j0 * d, BC, s, BC, 0);  /* S2 = Q2 K^T  [rows4][BC] */
            for (int r = 0; r < rows; r++) {
              float *sr = s + r * BC;
              if (!full) {
                int lo, hi;
                visible_range(i0 + r, nq, kv_len, &mk, &lo, &hi);
                mask_outside(sr, lo - j0, hi - j0, NEG_INF);
              }
              const float alpha = softmax_update(sr, m_row + r, l_row + r);
              if (alpha != 1.0f) {
                const v128_t av = wasm_f32x4_splat(alpha);
                float *ar = acc + r * d;
                for (int c = 0; c < d; c += 4) wasm_v128_store(ar + c, wasm_f32x4_mul(wasm_v128_load(ar + c), av));
              }
            }
            if (full) {
              gemm_f32(rows4, d, BC, s, BC, 1, vp + j0 * d, d, acc, d, 1);  /* acc += P V  [rows4][D] */
            } else {  /* each row reads only the values it sees (see row_axpy) */
              for (int r = 0; r < rows; r++) {
                int lo, hi;
                visible_range(i0 + r, nq, kv_len, &mk, &lo, &hi);
                row_axpy(s + r * BC, lo - j0, imin(hi - j0, BC), vp + j0 * d, d, d, acc + r * d);
              }
            }
          }
          for (int r = 0; r < rows; r++) {
            const int i = i0 + r;
            const float inv = l_row[r] > 0.0f ? 1.0f / l_row[r] : 0.0f;
            float *o = out + ((b * nq + i) * hq + h) * d;
            const v128_t iv = wasm_f32x4_splat(inv);
            for (int c = 0; c < d; c += 4) wasm_v128_store(o + c, wasm_f32x4_mul(wasm_v128_load(acc + r * d + c), iv));
            m_out[(b * hq + h) * nq + i] = m_row[r];
            l_out[(b * hq + h) * nq + i] = l_row[r];
          }
        }
      }
    }
  }
}

/* Test hook for the exp2 error bound: y[i] = 2^x[i] for n values (n % 4 == 0). */
__attribute__((export_name("exp2_array")))
void exp2_array(const float *x, float *y, int n) {
  for (int i = 0; i < n; i += 4) wasm_v128_store(y + i, exp2_f32x4(wasm_v128_load(x + i)));
}
