/*
 * f32x4 helpers shared by the flash-attention kernels: a bounded-error exp2 and the register-tiled matmul
 * micro-kernel. No libc: only <wasm_simd128.h> (a header of compiler builtins).
 */
#ifndef TFJS_EXT_SIMD_MATH_H
#define TFJS_EXT_SIMD_MATH_H

#include <wasm_simd128.h>

#define LOG2E 1.4426950408889634f

/*
 * 2^x for f32x4. Range reduction x = n + f, n = nearest(x), f in [-0.5, 0.5]; 2^f by Cephes' exp2f degree-6
 * polynomial (relative error < 1e-7 measured on a 4M-point grid; simd.test.ts bounds it by 2e-7); 2^n built in
 * the exponent bits. x < -126 gives 0 (true value < 1.2e-38), x > 127 is clamped to 2^127, -inf gives 0,
 * NaN stays NaN.
 */
static inline v128_t exp2_f32x4(v128_t x) {
  const v128_t underflow = wasm_f32x4_lt(x, wasm_f32x4_splat(-126.0f));
  x = wasm_f32x4_max(wasm_f32x4_min(x, wasm_f32x4_splat(127.0f)), wasm_f32x4_splat(-126.0f));
  const v128_t n = wasm_f32x4_nearest(x);
  const v128_t f = wasm_f32x4_sub(x, n);
  v128_t p = wasm_f32x4_splat(1.535336188319500e-4f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, f), wasm_f32x4_splat(1.339887440266574e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, f), wasm_f32x4_splat(9.618437357674640e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, f), wasm_f32x4_splat(5.550332471162809e-2f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, f), wasm_f32x4_splat(2.402264791363012e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, f), wasm_f32x4_splat(6.931472028550421e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, f), wasm_f32x4_splat(1.0f));
  const v128_t bits = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  return wasm_v128_andnot(wasm_f32x4_mul(p, bits), underflow);
}

/* Scalar 2^x through the vector path, so scalar and vector results agree bit for bit. */
static inline float exp2_f32(float x) {
  return wasm_f32x4_extract_lane(exp2_f32x4(wasm_f32x4_splat(x)), 0);
}

/*
 * C[M x N] = (accumulate ? C : 0) + A[M x K] * B[K x N].
 * A is read one scalar at a time (splat), so it may be strided both ways: A[m][k] = A[m * sam + k * sak],
 * which also covers transposes. B rows are contiguous (ldb floats apart), C rows ldc floats apart.
 * N % 4 == 0. Register tile: 4 rows x 8 columns = 8 f32x4 accumulators; rows past M - M % 4 one at a time
 * (gemm_row_f32: decode steps with a single query row per kv head).
 */
static inline void gemm_row_f32(int N, int K, const float *a, int sak, const float *B, int ldb, float *c,
                                int accumulate) {
  for (int n = 0; n < N; n += 4) {
    v128_t c0 = accumulate ? wasm_v128_load(c + n) : wasm_f32x4_splat(0.0f);
    const float *b = B + n;
    for (int k = 0; k < K; k++) {
      c0 = wasm_f32x4_add(c0, wasm_f32x4_mul(wasm_v128_load32_splat(a + k * sak), wasm_v128_load(b)));
      b += ldb;
    }
    wasm_v128_store(c + n, c0);
  }
}

static inline void gemm_f32(int M, int N, int K, const float *A, int sam, int sak, const float *B, int ldb, float *C,
                     int ldc, int accumulate) {
  for (int m = M - M % 4; m < M; m++) gemm_row_f32(N, K, A + m * sam, sak, B, ldb, C + m * ldc, accumulate);
  M -= M % 4;
  for (int m = 0; m < M; m += 4) {
    const float *a = A + m * sam;
    float *c = C + m * ldc;
    int n = 0;
    for (; n + 8 <= N; n += 8) {
      v128_t c00, c01, c10, c11, c20, c21, c30, c31;
      if (accumulate) {
        c00 = wasm_v128_load(c + n); c01 = wasm_v128_load(c + n + 4);
        c10 = wasm_v128_load(c + ldc + n); c11 = wasm_v128_load(c + ldc + n + 4);
        c20 = wasm_v128_load(c + 2 * ldc + n); c21 = wasm_v128_load(c + 2 * ldc + n + 4);
        c30 = wasm_v128_load(c + 3 * ldc + n); c31 = wasm_v128_load(c + 3 * ldc + n + 4);
      } else {
        c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = wasm_f32x4_splat(0.0f);
      }
      const float *b = B + n;
      const float *a0 = a, *a1 = a + sam, *a2 = a + 2 * sam, *a3 = a + 3 * sam;
      for (int k = 0; k < K; k++) {
        const v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
        v128_t x = wasm_v128_load32_splat(a0);
        c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(x, b0)); c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(x, b1));
        x = wasm_v128_load32_splat(a1);
        c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(x, b0)); c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(x, b1));
        x = wasm_v128_load32_splat(a2);
        c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(x, b0)); c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(x, b1));
        x = wasm_v128_load32_splat(a3);
        c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(x, b0)); c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(x, b1));
        a0 += sak; a1 += sak; a2 += sak; a3 += sak;
        b += ldb;
      }
      wasm_v128_store(c + n, c00); wasm_v128_store(c + n + 4, c01);
      wasm_v128_store(c + ldc + n, c10); wasm_v128_store(c + ldc + n + 4, c11);
      wasm_v128_store(c + 2 * ldc + n, c20); wasm_v128_store(c + 2 * ldc + n + 4, c21);
      wasm_v128_store(c + 3 * ldc + n, c30); wasm_v128_store(c + 3 * ldc + n + 4, c31);
    }
    if (n < N) {  /* N % 8 == 4: one 4-wide column */
      v128_t c0, c1, c2, c3;
      if (accumulate) {
        c0 = wasm_v128_load(c + n); c1 = wasm_v128_load(c + ldc + n);
        c2 = wasm_v128_load(c + 2 * ldc + n); c3 = wasm_v128_load(c + 3 * ldc + n);
      } else {
        c0 = c1 = c2 = c3 = wasm_f32x4_splat(0.0f);
      }
      const float *b = B + n;
      for (int k = 0; k < K; k++) {
        const v128_t b0 = wasm_v128_load(b);
        c0 = wasm_f32x4_add(c0, wasm_f32x4_mul(wasm_v128_load32_splat(a + k * sak), b0));
        c1 = wasm_f32x4_add(c1, wasm_f32x4_mul(wasm_v128_load32_splat(a + sam + k * sak), b0));
        c2 = wasm_f32x4_add(c2, wasm_f32x4_mul(wasm_v128_load32_splat(a + 2 * sam + k * sak), b0));
        c3 = wasm_f32x4_add(c3, wasm_f32x4_mul(wasm_v128_load32_splat(a + 3 * sam + k * sak), b0));
        b += ldb;
      }
      wasm_v128_store(c + n, c0); wasm_v128_store(c + ldc + n, c1);
      wasm_v128_store(c + 2 * ldc + n, c2); wasm_v128_store(c + 3 * ldc + n, c3);
    }
  }
}

#endif
