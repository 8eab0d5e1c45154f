// PointNet++ point kernels in WebAssembly SIMD128 (f32x4), built by core's build-wasm.mjs into
// src/simd/pointnet2_simd_wasm.generated.ts. No data segments, no allocation: every buffer is passed in.
// Points arrive as [B, N, 3] (xyz interleaved); each kernel first copies a batch item's points into scratch as
// three planes x[], y[], z[] padded to a multiple of 4, so one f32x4 holds 4 consecutive points.
#include <wasm_simd128.h>

static inline int pad4(int n) { return (n + 3) & ~3; }

// Planes of one cloud: x, y, z of `n` points (padding lanes get `fill`).
static void planes(const float *xyz, int n, float *x, float *y, float *z, float fill) {
  for (int i = 0; i < n; i++) {
    x[i] = xyz[3 * i];
    y[i] = xyz[3 * i + 1];
    z[i] = xyz[3 * i + 2];
  }
  for (int i = n; i < pad4(n); i++) x[i] = y[i] = z[i] = fill;
}

__attribute__((export_name("fps_scratch"))) int fps_scratch(int n) { return 4 * pad4(n); }

// Farthest point sampling: out[b, 0] = 0, then the point with the largest running-minimum squared distance to the
// chosen ones, lowest index on ties. Per lane a strict '>' keeps the lowest index of that lane; the 4 lanes are
// reduced by largest value, then lowest index. Padding points carry a minimum of -1 and are never chosen.
__attribute__((export_name("fps"))) void fps(const float *xyz, int *out, int batch, int n, int npoint,
                                             float *scratch) {
  const int np = pad4(n);
  float *x = scratch, *y = scratch + np, *z = scratch + 2 * np, *mind = scratch + 3 * np;
  for (int b = 0; b < batch; b++) {
    planes(xyz + (long)b * n * 3, n, x, y, z, 0.0f);
    for (int i = 0; i < n; i++) mind[i] = __builtin_inff();
    for (int i = n; i < np; i++) mind[i] = -1.0f;
    int far = 0;
    out[b * npoint] = 0;
    for (int s = 1; s < npoint; s++) {
      const v128_t cx = wasm_f32x4_splat(x[far]), cy = wasm_f32x4_splat(y[far]), cz = wasm_f32x4_splat(z[far]);
      v128_t best = wasm_f32x4_splat(-1.0f), bestIdx = wasm_i32x4_splat(0);
      v128_t lane = wasm_i32x4_make(0, 1, 2, 3);
      const v128_t four = wasm_i32x4_splat(4);
      for (int j = 0; j < np; j += 4) {
        const v128_t dx = wasm_f32x4_sub(wasm_v128_load(x + j), cx);
        const v128_t dy = wasm_f32x4_sub(wasm_v128_load(y + j), cy);
        const v128_t dz = wasm_f32x4_sub(wasm_v128_load(z + j), cz);
        const v128_t d = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(dx, dx), wasm_f32x4_mul(dy, dy)),
                                        wasm_f32x4_mul(dz, dz));
        const v128_t m = wasm_f32x4_pmin(wasm_v128_load(mind + j), d);  // d < mind ? d : mind
        wasm_v128_store(mind + j, m);
        const v128_t gt = wasm_f32x4_gt(m, best);
        best = wasm_v128_bitselect(m, best, gt);
        bestIdx = wasm_v128_bitselect(lane, bestIdx, gt);
        lane = wasm_i32x4_add(lane, four);
      }
      float bv = wasm_f32x4_extract_lane(best, 0);
      int bi = wasm_i32x4_extract_lane(bestIdx, 0);
#define PN_LANE(k)                                                                   \
      {                                                                              \
        const float v = wasm_f32x4_extract_lane(best, k);                            \
        const int i = wasm_i32x4_extract_lane(bestIdx, k);                           \
        if (v > bv || (v == bv && i < bi)) { bv = v; bi = i; }                       \
      }
      PN_LANE(1) PN_LANE(2) PN_LANE(3)
#undef PN_LANE
      far = bi;
      out[b * npoint + s] = far;
    }
  }
}

__attribute__((export_name("three_nn_scratch"))) int three_nn_scratch(int m) { return 3 * pad4(m); }

// The 3 nearest known points of each unknown point, nearest first, ties to the lower index (strict '<' in index
// order). Distances of 4 known points at a time; the scalar insertion runs only for lanes below the current third.
// Padding points sit at +inf (distance +inf, never inserted).
__attribute__((export_name("three_nn"))) void three_nn(const float *unknown, const float *known, float *dist2,
                                                       int *idx, int batch, int n, int m, float *scratch) {
  const int mp = pad4(m);
  float *x = scratch, *y = scratch + mp, *z = scratch + 2 * mp;
  for (int b = 0; b < batch; b++) {
    planes(known + (long)b * m * 3, m, x, y, z, __builtin_inff());
    for (int i = 0; i < n; i++) {
      const float *u = unknown + ((long)b * n + i) * 3;
      const v128_t ux = wasm_f32x4_splat(u[0]), uy = wasm_f32x4_splat(u[1]), uz = wasm_f32x4_splat(u[2]);
      float d0 = __builtin_inff(), d1 = __builtin_inff(), d2 = __builtin_inff();
      int i0 = 0, i1 = 0, i2 = 0;
      for (int j = 0; j < mp; j += 4) {
        const v128_t dx = wasm_f32x4_sub(wasm_v128_load(x + j), ux);
        const v128_t dy = wasm_f32x4_sub(wasm_v128_load(y + j), uy);
        const v128_t dz = wasm_f32x4_sub(wasm_v128_load(z + j), uz);
        const v128_t d = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(dx, dx), wasm_f32x4_mul(dy, dy)),
                                        wasm_f32x4_mul(dz, dz));
        if (!wasm_v128_any_true(wasm_f32x4_lt(d, wasm_f32x4_splat(d2)))) continue;
        float ds[4];
        wasm_v128_store(ds, d);
        for (int k = 0; k < 4; k++) {
          const float v = ds[k];
          const int jj = j + k;
          if (v < d0) {
            d2 = d1; i2 = i1; d1 = d0; i1 = i0; d0 = v; i0 = jj;
          } else if (v < d1) {
            d2 = d1; i2 = i1; d1 = v; i1 = jj;
          } else if (v < d2) {
            d2 = v; i2 = jj;
          }
        }
      }
      const long o = ((long)b * n + i) * 3;
      dist2[o] = d0; dist2[o + 1] = d1; dist2[o + 2] = d2;
      idx[o] = i0; idx[o + 1] = i1; idx[o + 2] = i2;
    }
  }
}

__attribute__((export_name("ball_query_scratch"))) int ball_query_scratch(int n) { return 3 * pad4(n); }

// Ball query with the plain-JS kernel's exact semantics: a float32 filter, 4 points at a time, with a margin
// (`r2f` = r^2 (1 + 1e-5) + 1e-30) keeps every point the float64 test could accept; each candidate is then
// decided in float64 in index order (dx^2 + dy^2 + dz^2 < r^2, the JS kernel's arithmetic). The first `nsample`
// hits are kept, the rest padded with the first; an empty ball gets the nearest point (float64, lowest index).
// Padding points sit at +inf and never pass the filter.
__attribute__((export_name("ball_query"))) void ball_query(const float *xyz, const float *centres, int *out,
                                                           int batch, int n, int s, int nsample, double r2,
                                                           float *scratch) {
  const int np = pad4(n);
  float *x = scratch, *y = scratch + np, *z = scratch + 2 * np;
  const v128_t r2f = wasm_f32x4_splat((float)(r2 * (1.0 + 1e-5) + 1e-30));
  for (int b = 0; b < batch; b++) {
    const float *p = xyz + (long)b * n * 3;
    planes(p, n, x, y, z, __builtin_inff());
    for (int c = 0; c < s; c++) {
      const float *q = centres + ((long)b * s + c) * 3;
      const double qx = q[0], qy = q[1], qz = q[2];
      const v128_t cx = wasm_f32x4_splat(q[0]), cy = wasm_f32x4_splat(q[1]), cz = wasm_f32x4_splat(q[2]);
      int *o = out + ((long)b * s + c) * nsample;
      int count = 0;
      for (int j = 0; j < np && count < nsample; j += 4) {
        const v128_t dx = wasm_f32x4_sub(wasm_v128_load(x + j), cx);
        const v128_t dy = wasm_f32x4_sub(wasm_v128_load(y + j), cy);
        const v128_t dz = wasm_f32x4_sub(wasm_v128_load(z + j), cz);
        const v128_t d = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(dx, dx), wasm_f32x4_mul(dy, dy)),
                                        wasm_f32x4_mul(dz, dz));
        const int mask = wasm_i32x4_bitmask(wasm_f32x4_lt(d, r2f));
        if (mask == 0) continue;
        for (int k = 0; k < 4 && count < nsample; k++) {
          if (!(mask & (1 << k))) continue;
          const int jj = j + k;
          const double ex = (double)p[3 * jj] - qx, ey = (double)p[3 * jj + 1] - qy, ez = (double)p[3 * jj + 2] - qz;
          if (ex * ex + ey * ey + ez * ez < r2) o[count++] = jj;
        }
      }
      if (count == 0) {  // empty ball: the nearest point
        double best = __builtin_inf();
        int nearest = 0;
        for (int j = 0; j < n; j++) {
          const double ex = (double)p[3 * j] - qx, ey = (double)p[3 * j + 1] - qy, ez = (double)p[3 * j + 2] - qz;
          const double d = ex * ex + ey * ey + ez * ez;
          if (d < best) { best = d; nearest = j; }
        }
        o[0] = nearest;
        count = 1;
      }
      for (int k = count; k < nsample; k++) o[k] = o[0];
    }
  }
}
