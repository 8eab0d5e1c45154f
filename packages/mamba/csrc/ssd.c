// SSD scan kernels (forward and backward) in f32x4 SIMD128, over the recurrence
//   h_t = alpha_t h_{t-1} + s_t x_t B_t^T   (h is P x N),   y_t = h_t C_t + D x_t,
// with alpha_t = exp(la_t A) computed by the caller (one exp per step and head). Layouts (row-major):
// x [batch, L, H, P], alpha and s [batch, L, H], B and C [batch, L, G, N], states [batch, H, P, N]; head h reads
// group h / (H / G). No libc, no data segments, no allocation: every buffer is passed in (see
// packages/core/src/simd/README.md).
#include <wasm_simd128.h>

static inline float hsum(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) +
         wasm_f32x4_extract_lane(v, 3);
}

static inline void copy_f32(float *dst, const float *src, int n) {
  for (int i = 0; i < n; i++) dst[i] = src[i];
}

// dst = alpha src + s x B^T (each row p: dst_p = alpha src_p + s x[p] B), without the output product: the
// backward's recompute passes need only the states. dst may equal src. Two rows at a time share the loads of B.
static void advance(float *dst, const float *src, const float *x, const float *Bt, float alpha, float s, int P,
                    int N) {
  const int N4 = N & ~3;
  const v128_t va = wasm_f32x4_splat(alpha);
  int p = 0;
  for (; p + 1 < P; p += 2) {
    const float *a0 = src + p * N, *a1 = a0 + N;
    float *r0 = dst + p * N, *r1 = r0 + N;
    const float u0 = s * x[p], u1 = s * x[p + 1];
    const v128_t vu0 = wasm_f32x4_splat(u0), vu1 = wasm_f32x4_splat(u1);
    for (int n = 0; n < N4; n += 4) {
      const v128_t b = wasm_v128_load(Bt + n);
      wasm_v128_store(r0 + n, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(a0 + n), va), wasm_f32x4_mul(vu0, b)));
      wasm_v128_store(r1 + n, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(a1 + n), va), wasm_f32x4_mul(vu1, b)));
    }
    for (int n = N4; n < N; n++) {
      r0[n] = a0[n] * alpha + u0 * Bt[n];
      r1[n] = a1[n] * alpha + u1 * Bt[n];
    }
  }
  for (; p < P; p++) {
    const float u0 = s * x[p];
    for (int n = 0; n < N; n++) dst[p * N + n] = src[p * N + n] * alpha + u0 * Bt[n];
  }
}

// The forward runs the recurrence in segments of up to SEG_MAX steps on a rescaled state: with
// scale_j = alpha_{t0} ... alpha_j (the decay since the segment began), ht_j = h_j / scale_j obeys
// ht_j = ht_{j-1} + (s_j / scale_j) x_j B_j^T and y_j = scale_j (ht_j . C_j) + d x_j: an add instead of a
// multiply-add per state element and step. A segment ends before scale would leave [SEG_LO, SEG_HI] (so 1 / scale
// stays finite and the state's terms keep their float32 precision), then h = scale ht. A step whose own alpha is
// out of that range (a decay to ~0, or a blow-up) runs directly.
#define SEG_MAX 64
#define SEG_LO 1e-8f
#define SEG_HI 1e8f

// st *= f over the PN values of one head's state.
static void scale_state(float *st, float f, int PN) {
  const int PN4 = PN & ~3;
  const v128_t vf = wasm_f32x4_splat(f);
  for (int i = 0; i < PN4; i += 4) wasm_v128_store(st + i, wasm_f32x4_mul(wasm_v128_load(st + i), vf));
  for (int i = PN4; i < PN; i++) st[i] *= f;
}

// Strides between consecutive steps of one head: x and y (H P), s and alpha (H), B and C (G N).
typedef struct { int xs, ss, bs; } Strides;

// One step on the rescaled state: ht += w x B^T, y = scale (ht . C) + d x (two rows at a time).
static void seg_step(float *st, const float *x, const float *Bt, const float *Ct, float w, float scale, float d,
                     float *y, int P, int N) {
  const int N4 = N & ~3;
  int p = 0;
  for (; p + 1 < P; p += 2) {
    float *r0 = st + p * N, *r1 = r0 + N;
    const float u0 = w * x[p], u1 = w * x[p + 1];
    const v128_t vu0 = wasm_f32x4_splat(u0), vu1 = wasm_f32x4_splat(u1);
    v128_t acc0 = wasm_f32x4_splat(0.f), acc1 = wasm_f32x4_splat(0.f);
    for (int n = 0; n < N4; n += 4) {
      const v128_t b = wasm_v128_load(Bt + n), c = wasm_v128_load(Ct + n);
      const v128_t h0 = wasm_f32x4_add(wasm_v128_load(r0 + n), wasm_f32x4_mul(vu0, b));
      const v128_t h1 = wasm_f32x4_add(wasm_v128_load(r1 + n), wasm_f32x4_mul(vu1, b));
      wasm_v128_store(r0 + n, h0);
      wasm_v128_store(r1 + n, h1);
      acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(h0, c));
      acc1 = wasm_f32x4_add(acc1, wasm_f32x4_mul(h1, c));
    }
    float t0 = hsum(acc0), t1 = hsum(acc1);
    for (int n = N4; n < N; n++) {
      r0[n] += u0 * Bt[n];
      r1[n] += u1 * Bt[n];
      t0 += r0[n] * Ct[n];
      t1 += r1[n] * Ct[n];
    }
    y[p] = scale * t0 + d * x[p];
    y[p + 1] = scale * t1 + d * x[p + 1];
  }
  for (; p < P; p++) {
    float *r0 = st + p * N;
    const float u0 = w * x[p];
    float t0 = 0.f;
    for (int n = 0; n < N; n++) {
      r0[n] += u0 * Bt[n];
      t0 += r0[n] * Ct[n];
    }
    y[p] = scale * t0 + d * x[p];
  }
}

// Two steps j, j + 1 on the rescaled state, two rows at a time: each state vector is loaded and stored once for
// both steps. w0, w1 = s / scale of the two steps.
static void seg_step2(float *st, const float *x, const float *Bt, const float *Ct, float w0, float w1,
                      float scale0, float scale1, float d, float *y, Strides k, int P, int N) {
  const int N4 = N & ~3;
  const float *xa = x, *xb = x + k.xs, *b0 = Bt, *b1 = Bt + k.bs, *c0 = Ct, *c1 = Ct + k.bs;
  float *ya = y, *yb = y + k.xs;
  int p = 0;
  for (; p + 1 < P; p += 2) {
    float *r0 = st + p * N, *r1 = r0 + N;
    const float u00 = w0 * xa[p], u01 = w0 * xa[p + 1], u10 = w1 * xb[p], u11 = w1 * xb[p + 1];
    const v128_t vu00 = wasm_f32x4_splat(u00), vu01 = wasm_f32x4_splat(u01);
    const v128_t vu10 = wasm_f32x4_splat(u10), vu11 = wasm_f32x4_splat(u11);
    v128_t acc00 = wasm_f32x4_splat(0.f), acc01 = acc00, acc10 = acc00, acc11 = acc00;
    for (int n = 0; n < N4; n += 4) {
      const v128_t vb0 = wasm_v128_load(b0 + n), vc0 = wasm_v128_load(c0 + n);
      const v128_t vb1 = wasm_v128_load(b1 + n), vc1 = wasm_v128_load(c1 + n);
      v128_t h0 = wasm_f32x4_add(wasm_v128_load(r0 + n), wasm_f32x4_mul(vu00, vb0));
      v128_t h1 = wasm_f32x4_add(wasm_v128_load(r1 + n), wasm_f32x4_mul(vu01, vb0));
      acc00 = wasm_f32x4_add(acc00, wasm_f32x4_mul(h0, vc0));
      acc01 = wasm_f32x4_add(acc01, wasm_f32x4_mul(h1, vc0));
      h0 = wasm_f32x4_add(h0, wasm_f32x4_mul(vu10, vb1));
      h1 = wasm_f32x4_add(h1, wasm_f32x4_mul(vu11, vb1));
      acc10 = wasm_f32x4_add(acc10, wasm_f32x4_mul(h0, vc1));
      acc11 = wasm_f32x4_add(acc11, wasm_f32x4_mul(h1, vc1));
      wasm_v128_store(r0 + n, h0);
      wasm_v128_store(r1 + n, h1);
    }
    float t00 = hsum(acc00), t01 = hsum(acc01), t10 = hsum(acc10), t11 = hsum(acc11);
    for (int n = N4; n < N; n++) {
      r0[n] += u00 * b0[n];
      r1[n] += u01 * b0[n];
      t00 += r0[n] * c0[n];
      t01 += r1[n] * c0[n];
      r0[n] += u10 * b1[n];
      r1[n] += u11 * b1[n];
      t10 += r0[n] * c1[n];
      t11 += r1[n] * c1[n];
    }
    ya[p] = scale0 * t00 + d * xa[p];
    ya[p + 1] = scale0 * t01 + d * xa[p + 1];
    yb[p] = scale1 * t10 + d * xb[p];
    yb[p + 1] = scale1 * t11 + d * xb[p + 1];
  }
  if (p < P) {  // an odd last row: one step after the other
    float *r0 = st + p * N;
    float t0 = 0.f, t1 = 0.f;
    for (int n = 0; n < N; n++) {
      r0[n] += w0 * xa[p] * b0[n];
      t0 += r0[n] * c0[n];
    }
    for (int n = 0; n < N; n++) {
      r0[n] += w1 * xb[p] * b1[n];
      t1 += r0[n] * c1[n];
    }
    ya[p] = scale0 * t0 + d * xa[p];
    yb[p] = scale1 * t1 + d * xb[p];
  }
}

__attribute__((export_name("ssd_forward_scratch"))) int ssd_forward_scratch(int P, int N) {
  return P * N + 2 * SEG_MAX;
}

// y and finalState of the scan (D may be 0: no skip term).
__attribute__((export_name("ssd_forward")))
void ssd_forward(const float *x, const float *alpha, const float *s, const float *B, const float *C, const float *D,
                 const float *s0, float *y, float *finalState, int batch, int L, int H, int P, int G, int N,
                 float *scratch) {
  const int PN = P * N, perGroup = H / G;
  const Strides k = {H * P, H, G * N};
  float *st = scratch, *scale = st + PN, *inv = scale + SEG_MAX;
  for (int b = 0; b < batch; b++) {
    for (int h = 0; h < H; h++) {
      const int g = h / perGroup;
      const float d = D ? D[h] : 0.f;
      copy_f32(st, s0 + (b * H + h) * PN, PN);
      int t = 0;
      while (t < L) {
        const int ti = (b * L + t) * H + h, bo = ((b * L + t) * G + g) * N;
        // the segment [t, t + len): its running decays within [SEG_LO, SEG_HI]
        float prod = 1.f;
        int len = 0;
        while (len < SEG_MAX && t + len < L) {
          const float next = prod * alpha[ti + len * k.ss];
          if (!(next >= SEG_LO && next <= SEG_HI)) break;
          prod = next;
          scale[len] = prod;
          inv[len] = 1.f / prod;
          len++;
        }
        if (len == 0) {  // this step's own decay is out of range: the plain step h = alpha h + s x B^T, y = h . C + d x
          scale_state(st, alpha[ti], PN);
          seg_step(st, x + ti * P, B + bo, C + bo, s[ti], 1.f, d, y + ti * P, P, N);
          t++;
          continue;
        }
        // ht starts as h (scale 1 before the segment's first step); st is the state before step t
        int j = 0;
        for (; j + 1 < len; j += 2) {
          const int o = ti + j * k.ss;
          seg_step2(st, x + o * P, B + bo + j * k.bs, C + bo + j * k.bs, s[o] * inv[j], s[o + k.ss] * inv[j + 1],
                    scale[j], scale[j + 1], d, y + o * P, k, P, N);
        }
        if (j < len) {
          const int o = ti + j * k.ss;
          seg_step(st, x + o * P, B + bo + j * k.bs, C + bo + j * k.bs, s[o] * inv[j], scale[j], d, y + o * P, P, N);
        }
        scale_state(st, prod, PN);  // back to h = scale ht
        t += len;
      }
      copy_f32(finalState + (b * H + h) * PN, st, PN);
    }
  }
}

__attribute__((export_name("ssd_backward_scratch")))
int ssd_backward_scratch(int L, int P, int N, int Q) {
  const int chunks = (L + Q - 1) / Q;
  return (chunks + Q + 2) * P * N + 2 * N;
}

// Backward of the scan with s = dt (the SSD): dx, dB and dC (summed over a group's heads), dInitialState, and per
// step dAlpha_t = <g_t, h_{t-1}> and w_t = x_t . (g_t B_t) (the caller forms ddt and dA from them). States are
// kept at chunk boundaries (every Q steps) and each chunk's Q states recomputed, then walked backwards with the
// adjoint g_t = alpha_{t+1} g_{t+1} + dy_t C_t^T.
__attribute__((export_name("ssd_backward")))
void ssd_backward(const float *x, const float *alpha, const float *dt, const float *B, const float *C,
                  const float *D, const float *s0, const float *dy, const float *dFinal, float *dx, float *dB,
                  float *dC, float *dInit, float *dAlpha, float *w, int batch, int L, int H, int P, int G, int N,
                  int Q, float *scratch) {
  const int PN = P * N, perGroup = H / G, chunks = (L + Q - 1) / Q, N4 = N & ~3;
  float *bounds = scratch, *states = bounds + chunks * PN, *gAdj = states + (Q + 1) * PN;
  float *dBrow = gAdj + PN, *dCrow = dBrow + N;
  for (int i = 0; i < batch * L * G * N; i++) dB[i] = dC[i] = 0.f;
  for (int b = 0; b < batch; b++) {
    for (int h = 0; h < H; h++) {
      const int g = h / perGroup;
      const float d = D ? D[h] : 0.f;
      copy_f32(states, s0 + (b * H + h) * PN, PN);
      for (int c = 0; c < chunks; c++) {
        copy_f32(bounds + c * PN, states, PN);
        const int end = (c + 1) * Q < L ? (c + 1) * Q : L;
        for (int t = c * Q; t < end; t++) {
          const int ti = (b * L + t) * H + h, bo = ((b * L + t) * G + g) * N;
          advance(states, states, x + ti * P, B + bo, alpha[ti], dt[ti], P, N);
        }
      }
      copy_f32(gAdj, dFinal + (b * H + h) * PN, PN);
      for (int c = chunks - 1; c >= 0; c--) {
        const int t0 = c * Q, len = (t0 + Q < L ? t0 + Q : L) - t0;
        copy_f32(states, bounds + c * PN, PN);
        for (int l = 0; l < len; l++) {
          const int ti = (b * L + t0 + l) * H + h, bo = ((b * L + t0 + l) * G + g) * N;
          advance(states + (l + 1) * PN, states + l * PN, x + ti * P, B + bo, alpha[ti], dt[ti], P, N);
        }
        for (int l = len - 1; l >= 0; l--) {
          const int ti = (b * L + t0 + l) * H + h, bo = ((b * L + t0 + l) * G + g) * N;
          const float a = alpha[ti], step_dt = dt[ti];
          const float *before = states + l * PN, *after = before + PN, *Bt = B + bo, *Ct = C + bo;
          const float *xt = x + ti * P, *dyt = dy + ti * P;
          const v128_t va = wasm_f32x4_splat(a);
          for (int n = 0; n < N; n++) dBrow[n] = dCrow[n] = 0.f;
          v128_t vAlpha = wasm_f32x4_splat(0.f);
          float dAlphaTail = 0.f, wt = 0.f;
          int p = 0;
          // Two rows at a time: they share the loads and stores of C, B, dCrow and dBrow.
          for (; p + 1 < P; p += 2) {
            const float dy0 = dyt[p], dy1 = dyt[p + 1], x0 = xt[p], x1 = xt[p + 1];
            const v128_t vdy0 = wasm_f32x4_splat(dy0), vdy1 = wasm_f32x4_splat(dy1);
            const v128_t vx0 = wasm_f32x4_splat(x0), vx1 = wasm_f32x4_splat(x1);
            float *g0 = gAdj + p * N, *g1 = g0 + N;
            const float *hb0 = before + p * N, *hb1 = hb0 + N, *ha0 = after + p * N, *ha1 = ha0 + N;
            v128_t vgB0 = wasm_f32x4_splat(0.f), vgB1 = wasm_f32x4_splat(0.f);
            for (int n = 0; n < N4; n += 4) {
              const v128_t c = wasm_v128_load(Ct + n), bb = wasm_v128_load(Bt + n);
              const v128_t gv0 = wasm_f32x4_add(wasm_v128_load(g0 + n), wasm_f32x4_mul(vdy0, c));
              const v128_t gv1 = wasm_f32x4_add(wasm_v128_load(g1 + n), wasm_f32x4_mul(vdy1, c));
              wasm_v128_store(dCrow + n, wasm_f32x4_add(wasm_v128_load(dCrow + n),
                  wasm_f32x4_add(wasm_f32x4_mul(vdy0, wasm_v128_load(ha0 + n)), wasm_f32x4_mul(vdy1, wasm_v128_load(ha1 + n)))));
              wasm_v128_store(dBrow + n, wasm_f32x4_add(wasm_v128_load(dBrow + n),
                  wasm_f32x4_add(wasm_f32x4_mul(gv0, vx0), wasm_f32x4_mul(gv1, vx1))));
              vgB0 = wasm_f32x4_add(vgB0, wasm_f32x4_mul(gv0, bb));
              vgB1 = wasm_f32x4_add(vgB1, wasm_f32x4_mul(gv1, bb));
              vAlpha = wasm_f32x4_add(vAlpha, wasm_f32x4_add(wasm_f32x4_mul(gv0, wasm_v128_load(hb0 + n)),
                                                             wasm_f32x4_mul(gv1, wasm_v128_load(hb1 + n))));
              wasm_v128_store(g0 + n, wasm_f32x4_mul(gv0, va));
              wasm_v128_store(g1 + n, wasm_f32x4_mul(gv1, va));
            }
            float gB0 = hsum(vgB0), gB1 = hsum(vgB1);
            for (int n = N4; n < N; n++) {
              const float gv0 = g0[n] + dy0 * Ct[n], gv1 = g1[n] + dy1 * Ct[n];
              dCrow[n] += dy0 * ha0[n] + dy1 * ha1[n];
              gB0 += gv0 * Bt[n];
              gB1 += gv1 * Bt[n];
              dBrow[n] += gv0 * x0 + gv1 * x1;
              dAlphaTail += gv0 * hb0[n] + gv1 * hb1[n];
              g0[n] = gv0 * a;
              g1[n] = gv1 * a;
            }
            dx[ti * P + p] = step_dt * gB0 + d * dy0;
            dx[ti * P + p + 1] = step_dt * gB1 + d * dy1;
            wt += x0 * gB0 + x1 * gB1;
          }
          for (; p < P; p++) {  // an odd last row
            const float dyp = dyt[p], xp = xt[p];
            float *gr = gAdj + p * N;
            const float *hb = before + p * N, *ha = after + p * N;
            float gB = 0.f;
            for (int n = 0; n < N; n++) {
              const float gv = gr[n] + dyp * Ct[n];
              dCrow[n] += dyp * ha[n];
              gB += gv * Bt[n];
              dBrow[n] += gv * xp;
              dAlphaTail += gv * hb[n];
              gr[n] = gv * a;
            }
            dx[ti * P + p] = step_dt * gB + d * dyp;
            wt += xp * gB;
          }
          float *dBt = dB + bo, *dCt = dC + bo;
          for (int n = 0; n < N; n++) {
            dBt[n] += step_dt * dBrow[n];
            dCt[n] += dCrow[n];
          }
          dAlpha[ti] = hsum(vAlpha) + dAlphaTail;
          w[ti] = wt;
        }
      }
      copy_f32(dInit + (b * H + h) * PN, gAdj, PN);
    }
  }
}
