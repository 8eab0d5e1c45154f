/*
 * f32x4 maths shared by every package's C kernels, one copy: build-wasm.mjs puts packages/core/csrc/include on the
 * include path, so the C files of packages/<pkg>/csrc write `#include <tfjs_ext/simd_exp2.h>`. No libc: only <wasm_simd128.h>.
 */
#ifndef TFJS_EXT_SIMD_EXP2_H
#define TFJS_EXT_SIMD_EXP2_H

#include <wasm_simd128.h>

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

#endif
