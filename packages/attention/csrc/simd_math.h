/*
 * f32x4 helpers shared by the flash-attention kernels: the register-tiled matmul micro-kernel (the bounded-error
 * exp2 is core's, tfjs_ext/simd_exp2.h). No libc: only <wasm_simd128.h> (a header of compiler builtins).
 */
#ifndef TFJS_EXT_SIMD_MATH_H
#define TFJS_EXT_SIMD_MATH_H

#include <wasm_simd128.h>
#include <tfjs_ext/simd_exp2.h>  /* exp2_f32x4, exp2_f32 (packages/core/csrc/include) */

#define LOG2E 1.4426950408889634f

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
