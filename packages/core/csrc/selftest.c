/*
 * Core's own SIMD module: the smallest kernels that exercise the pipeline end to end (build, embed, load on own
 * memory and on tfjs's wasm heap, the stack inside the call's block). Used by core's tests only.
 */
#include <wasm_simd128.h>

/* y[i] = a * x[i] + y[i] for i < n (f32x4, then a scalar tail). */
__attribute__((export_name("axpy")))
void axpy(const float *x, float *y, int n, float a) {
  const v128_t av = wasm_f32x4_splat(a);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    wasm_v128_store(y + i, wasm_f32x4_add(wasm_f32x4_mul(av, wasm_v128_load(x + i)), wasm_v128_load(y + i)));
  }
  for (; i < n; i++) y[i] = a * x[i] + y[i];
}

/* The address of a local array: where the module's stack is during a call (tests check it lies in the block). */
__attribute__((export_name("stack_address")))
int stack_address(int fill) {
  volatile int local[64];
  for (int i = 0; i < 64; i++) local[i] = fill + i;
  return (int)(__SIZE_TYPE__)&local[0] + 0 * local[63];
}
