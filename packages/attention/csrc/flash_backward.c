/*
 * Flash attention backward (FlashAttention-2 order) in f32x4 SIMD. Per (batch, kv head, key tile of BC keys):
 * dK and dV of the tile stay in scratch while every query head of the group and every query block that sees
 * the tile is visited; dQ accumulates in a packed per-head buffer. P is recomputed from the saved lse:
 *   P = 2^(scale*log2(e) * q.k - log2(e) * lse),  dV += P^T dO,  dP = dO V^T,  dS = P * (dP - Dvec),
 *   dK += scale * dS^T Q,  dQ += scale * dS K,  Dvec_i = dO_i . O_i.
 * Memory: packed K, K^T, V^T of one kv head and Q, dO, dQ of its query heads, O(N * D).
 */
#include "flash_common.h"

/* Floats of scratch flash_backward needs. */
__attribute__((export_name("flash_backward_scratch")))
int flash_backward_scratch(int nq, int nk, int d, int group) {
  const int nq_pad = round_up(nq, QB);
  return 3 * round_up(nk, BC) * d + group * (3 * nq_pad * d + 2 * nq_pad) + 2 * BC * d + 2 * QB * BC;
}

__attribute__((export_name("flash_backward")))
void flash_backward(const float *q, const float *k, const float *v, const int *kv_lens, const float *o,
                    const float *lse, const float *dy, float *dq, float *dk, float *dv, int batch, int nq, int nk,
                    int hq, int hkv, int d, float scale, int causal, int window_left, int window_right,
                    float *scratch) {
  const mask_t mk = {causal, window_left, window_right};
  const int group = hq / hkv;
  const int nk_pad = round_up(nk, BC), nq_pad = round_up(nq, QB);
  const float c2 = scale * LOG2E;
  float *kt = scratch;                      /* [nk_pad / BC][D][BC]  K^T tiles */
  float *vt = kt + nk_pad * d;              /* [nk_pad / BC][D][BC]  V^T tiles */
  float *kp = vt + nk_pad * d;              /* [nk_pad][D] */
  float *qp = kp + nk_pad * d;              /* [group][nq_pad][D] */
  float *dop = qp + group * nq_pad * d;     /* [group][nq_pad][D] */
  float *dqp = dop + group * nq_pad * d;    /* [group][nq_pad][D] */
  float *lse2 = dqp + group * nq_pad * d;   /* [group][nq_pad]  log2(e) * lse; +inf for rows that see nothing */
  float *dvec = lse2 + group * nq_pad;      /* [group][nq_pad] */
  float *dk_acc = dvec + group * nq_pad;    /* [BC][D] */
  float *dv_acc = dk_acc + BC * d;          /* [BC][D] */
  float *p = dv_acc + BC * d;               /* [QB][BC] */
  float *ds = p + QB * BC;                  /* [QB][BC] dP, then dS */
  for (int b = 0; b < batch; b++) {
    const int kv_len = imax(0, imin(kv_lens[b], nk));
    const int kv_pad = round_up(kv_len, BC);
    for (int g = 0; g < hkv; g++) {
      const float *kb = k + ((b * nk) * hkv + g) * d;
      const float *vb = v + ((b * nk) * hkv + g) * d;
      pack_transposed_tiles(kb, hkv * d, kv_len, kv_pad, d, kt);
      pack_transposed_tiles(vb, hkv * d, kv_len, kv_pad, d, vt);
      pack_rows(kb, hkv * d, kv_len, kv_pad, d, kp);
      for (int hh = 0; hh < group; hh++) {
        const int h = g * group + hh;
        const int row0 = (b * nq * hq + h) * d;  /* offset of (b, 0, h, 0) */
        pack_rows(q + row0, hq * d, nq, nq_pad, d, qp + hh * nq_pad * d);
        pack_rows(dy + row0, hq * d, nq, nq_pad, d, dop + hh * nq_pad * d);
        for (int x = 0; x < nq_pad * d; x += 4) wasm_v128_store(dqp + hh * nq_pad * d + x, wasm_f32x4_splat(0.0f));
        for (int i = 0; i < nq_pad; i++) {
          float dot = 0.0f, l2 = POS_INF;
          if (i < nq) {
            const float *orow = o + row0 + i * hq * d, *dorow = dy + row0 + i * hq * d;
            v128_t sum = wasm_f32x4_splat(0.0f);
            for (int c = 0; c < d; c += 4) {
              sum = wasm_f32x4_add(sum, wasm_f32x4_mul(wasm_v128_load(orow + c), wasm_v128_load(dorow + c)));
            }
            dot = wasm_f32x4_extract_lane(sum, 0) + wasm_f32x4_extract_lane(sum, 1) +
                  wasm_f32x4_extract_lane(sum, 2) + wasm_f32x4_extract_lane(sum, 3);
            const float l = lse[(b * hq + h) * nq + i];
            if (l != NEG_INF) l2 = l * LOG2E;
          }
          dvec[hh * nq_pad + i] = dot;
          lse2[hh * nq_pad + i] = l2;
        }
      }
      for (int j0 = 0; j0 < kv_pad; j0 += BC) {
        for (int x = 0; x < 2 * BC * d; x += 4) wasm_v128_store(dk_acc + x, wasm_f32x4_splat(0.0f));
        for (int hh = 0; hh < group; hh++) {
          const float *qh = qp + hh * nq_pad * d, *doh = dop + hh * nq_pad * d;
          float *dqh = dqp + hh * nq_pad * d;
          const float *lse2h = lse2 + hh * nq_pad, *dvech = dvec + hh * nq_pad;
          for (int i0 = 0; i0 < nq; i0 += QB) {
            const int rows = imin(QB, nq - i0), rows4 = round_up(rows, 4);
            int lo_first, hi_first, lo_last, hi_last;
            visible_range(i0, nq, kv_len, &mk, &lo_first, &hi_first);
            visible_range(i0 + rows - 1, nq, kv_len, &mk, &lo_last, &hi_last);
            if (hi_last <= j0 || lo_first >= j0 + BC) continue;  /* no row of the block sees this tile */
            const int full = lo_last <= j0 && hi_first >= j0 + BC;
            gemm_f32(rows4, BC, d, qh + i0 * d, d, 1, kt + j0 * d, BC, p, BC, 0);   /* S = Q K^T   [rows4][BC] */
            gemm_f32(rows4, BC, d, doh + i0 * d, d, 1, vt + j0 * d, BC, ds, BC, 0); /* dP = dO V^T [rows4][BC] */
            const v128_t cv = wasm_f32x4_splat(c2);
            for (int r = 0; r < rows4; r++) {
              float *pr = p + r * BC, *dsr = ds + r * BC;
              if (r >= rows) {
                for (int jj = 0; jj < BC; jj += 4) {
                  wasm_v128_store(pr + jj, wasm_f32x4_splat(0.0f));
                  wasm_v128_store(dsr + jj, wasm_f32x4_splat(0.0f));
                }
                continue;
              }
              const v128_t shift = wasm_f32x4_splat(lse2h[i0 + r]), dvr = wasm_f32x4_splat(dvech[i0 + r]);
              for (int jj = 0; jj < BC; jj += 4) {
                const v128_t s2 = wasm_f32x4_mul(wasm_v128_load(pr + jj), cv);
                wasm_v128_store(pr + jj, exp2_f32x4(wasm_f32x4_sub(s2, shift)));
              }
              for (int jj = 0; jj < BC; jj += 4) {
                const v128_t pv = wasm_v128_load(pr + jj);
                wasm_v128_store(dsr + jj, wasm_f32x4_mul(pv, wasm_f32x4_sub(wasm_v128_load(dsr + jj), dvr)));
              }
              if (!full) {  /* masked entries: P and dS exactly 0, whatever the masked k and v hold */
                int lo, hi;
                visible_range(i0 + r, nq, kv_len, &mk, &lo, &hi);
                mask_outside(pr, lo - j0, hi - j0, 0.0f);
                mask_outside(dsr, lo - j0, hi - j0, 0.0f);
              }
            }
            gemm_f32(BC, d, rows4, p, 1, BC, doh + i0 * d, d, dv_acc, d, 1);   /* dV += P^T dO  [BC][D] */
            gemm_f32(BC, d, rows4, ds, 1, BC, qh + i0 * d, d, dk_acc, d, 1);   /* dK += dS^T Q  [BC][D] */
            if (full) {
              gemm_f32(rows4, d, BC, ds, BC, 1, kp + j0 * d, d, dqh + i0 * d, d, 1);  /* dQ += dS K [rows4][D] */
            } else {  /* each row reads only the keys it sees (see row_axpy) */
              for (int r = 0; r < rows; r++) {
                int lo, hi;
                visible_range(i0 + r, nq, kv_len, &mk, &lo, &hi);
                row_axpy(ds + r * BC, lo - j0, imin(hi - j0, BC), kp + j0 * d, d, d, dqh + (i0 + r) * d);
              }
            }
          }
        }
        const v128_t sv = wasm_f32x4_splat(scale);
        for (int jj = 0; jj < BC && j0 + jj < kv_len; jj++) {
          float *dkrow = dk + ((b * nk + j0 + jj) * hkv + g) * d, *dvrow = dv + ((b * nk + j0 + jj) * hkv + g) * d;
          for (int c = 0; c < d; c += 4) {
            wasm_v128_store(dkrow + c, wasm_f32x4_mul(wasm_v128_load(dk_acc + jj * d + c), sv));
            wasm_v128_store(dvrow + c, wasm_v128_load(dv_acc + jj * d + c));
          }
        }
      }
      for (int j = kv_len; j < nk; j++) {  /* padding keys get no gradient */
        float *dkrow = dk + ((b * nk + j) * hkv + g) * d, *dvrow = dv + ((b * nk + j) * hkv + g) * d;
        for (int c = 0; c < d; c += 4) {
          wasm_v128_store(dkrow + c, wasm_f32x4_splat(0.0f));
          wasm_v128_store(dvrow + c, wasm_f32x4_splat(0.0f));
        }
      }
      for (int hh = 0; hh < group; hh++) {
        const int h = g * group + hh;
        const v128_t sv = wasm_f32x4_splat(scale);
        for (int i = 0; i < nq; i++) {
          float *dqrow = dq + ((b * nq + i) * hq + h) * d;
          const float *src = dqp + (hh * nq_pad + i) * d;
          for (int c = 0; c < d; c += 4) wasm_v128_store(dqrow + c, wasm_f32x4_mul(wasm_v128_load(src + c), sv));
        }
      }
    }
  }
}
