/*
 * Tiling constants, the masking rule and the packing helpers shared by the forward and backward kernels.
 * Layouts (flash-attn's): q, o, dy [B, Nq, Hq, D]; k, v [B, Nk, Hkv, D]; lse, m, l [B, Hq, Nq].
 * D is a multiple of 4 here (the JS side pads the head dimension with zeros).
 */
#ifndef TFJS_EXT_FLASH_COMMON_H
#define TFJS_EXT_FLASH_COMMON_H

#include "simd_math.h"

/* Keys per tile (Bc): one K^T tile [D][BC] and one V tile [BC][D] stay in L1 for D <= 64. */
#define BC 64
/* Query rows per block (Br); a multiple of 4 (the micro-kernel's row tile). */
#define QB 32

#define NEG_INF (-__builtin_inff())
#define POS_INF (__builtin_inff())

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }
static inline int round_up(int x, int m) { return (x + m - 1) / m * m; }

/* Mask attributes: bottom-right aligned causal mask and window, as in ../src/flash_attention/contract.ts. */
typedef struct {
  int causal, window_left, window_right;
} mask_t;

/* Visible key range [*lo, *hi) of query row i (empty when *lo >= *hi). */
static inline void visible_range(int i, int nq, int kv_len, const mask_t *mk, int *lo, int *hi) {
  const int off = kv_len - nq;
  int l = 0, h = kv_len;
  if (mk->causal) h = imin(h, i + off + 1);
  if (mk->window_right >= 0) h = imin(h, i + off + mk->window_right + 1);
  if (mk->window_left >= 0) l = imax(l, i + off - mk->window_left);
  *lo = l;
  *hi = h;
}

/* Keys [0, n) of one kv head as tiles of K^T: dst[t][c][jj] = src[(t*BC + jj) * stride + c]; zero to n_pad. */
static inline void pack_transposed_tiles(const float *src, int stride, int n, int n_pad, int d, float *dst) {
  for (int j = 0; j < n_pad; j++) {
    float *col = dst + (j / BC) * d * BC + (j % BC);
    if (j < n) {
      const float *row = src + j * stride;
      for (int c = 0; c < d; c++) col[c * BC] = row[c];
    } else {
      for (int c = 0; c < d; c++) col[c * BC] = 0.0f;
    }
  }
}

/* Rows [0, n) (stride floats apart) into a dense [n_pad][d] block, zero rows to n_pad. */
static inline void pack_rows(const float *src, int stride, int n, int n_pad, int d, float *dst) {
  for (int j = 0; j < n_pad; j++) {
    float *out = dst + j * d;
    if (j < n) {
      const float *row = src + j * stride;
      for (int c = 0; c < d; c += 4) wasm_v128_store(out + c, wasm_v128_load(row + c));
    } else {
      for (int c = 0; c < d; c += 4) wasm_v128_store(out + c, wasm_f32x4_splat(0.0f));
    }
  }
}

/*
 * acc[0:d] += sum over jj in [a, b) of p[jj] * rows[jj * stride : jj * stride + d]: one query row against only the keys of a tile it
 * sees. Tiles that cross a mask boundary use this instead of a P V (or dS K) gemm, where a masked P of 0 times a
 * masked value or key would be read anyway, and 0 * NaN or 0 * Inf is NaN.
 */
static inline void row_axpy(const float *p, int a, int b, const float *rows, int stride, int d, float *acc) {
  for (int jj = imax(a, 0); jj < b; jj++) {
    const v128_t pv = wasm_f32x4_splat(p[jj]);
    const float *src = rows + jj * stride;
    for (int c = 0; c < d; c += 4) {
      wasm_v128_store(acc + c, wasm_f32x4_add(wasm_v128_load(acc + c), wasm_f32x4_mul(pv, wasm_v128_load(src + c))));
    }
  }
}

/* Sets row[jj] = fill for jj outside [a, b) (positions relative to the tile start). */
static inline void mask_outside(float *row, int a, int b, float fill) {
  for (int jj = 0; jj < BC; jj++) {
    if (jj < a || jj >= b) row[jj] = fill;
  }
}

/* One row of scores -> probabilities for the online softmax; returns the factor old sums are rescaled by. */
static inline float softmax_update(float *s, float *m_row, float *l_row) {
  v128_t mx = wasm_f32x4_splat(NEG_INF);
  for (int jj = 0; jj < BC; jj += 4) mx = wasm_f32x4_max(mx, wasm_v128_load(s + jj));
  mx = wasm_f32x4_max(mx, wasm_i32x4_shuffle(mx, mx, 2, 3, 0, 1));
  mx = wasm_f32x4_max(mx, wasm_i32x4_shuffle(mx, mx, 1, 0, 3, 2));
  const float tile_max = wasm_f32x4_extract_lane(mx, 0);
  const float m_old = *m_row;
  const float m_new = m_old > tile_max ? m_old : tile_max;
  if (m_new == NEG_INF) {  /* nothing visible yet in this row: p = 0 */
    for (int jj = 0; jj < BC; jj += 4) wasm_v128_store(s + jj, wasm_f32x4_splat(0.0f));
    return 1.0f;
  }
  const v128_t shift = wasm_f32x4_splat(m_new);
  v128_t sum = wasm_f32x4_splat(0.0f);
  for (int jj = 0; jj < BC; jj += 4) {
    const v128_t p = exp2_f32x4(wasm_f32x4_sub(wasm_v128_load(s + jj), shift));
    wasm_v128_store(s + jj, p);
    sum = wasm_f32x4_add(sum, p);
  }
  const float alpha = m_old == NEG_INF ? 0.0f : exp2_f32(m_old - m_new);
  *l_row = *l_row * alpha + (wasm_f32x4_extract_lane(sum, 0) + wasm_f32x4_extract_lane(sum, 1) +
                             wasm_f32x4_extract_lane(sum, 2) + wasm_f32x4_extract_lane(sum, 3));
  *m_row = m_new;
  return alpha;
}

#endif
