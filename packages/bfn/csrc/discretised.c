/*
 * The mean of the discretised normal and its derivatives, f32x4 over the bin boundaries (bfnDiscretisedLoss's
 * host kernels on cpu and wasm; the maths and the float64 version are in src/discretised_loss/cpu.ts):
 *   kHat = -1 + w/2 + w sum_j Q(z_j),  z_j = (-1 + j w - muX) / sigmaX,  j = 1..K-1,  w = 2/K,
 *   d kHat/d muX = w sum_j phi(z_j) / sigmaX,  d kHat/d sigmaX = w sum_j phi(z_j) z_j / sigmaX,
 * over the boundaries within +-13 sigmaX of muX only (those left of the window count 1 each, those right 0).
 * Q(z) = exp(-z^2/2) R(|z|) with R Hart's rational (|z| < 7.07) or continued fraction (beyond), evaluated in
 * float32 (relative error ~1e-7 against ~2e-8 in float64). No libc, no data segments, no allocation.
 */
#include <wasm_simd128.h>
#include <tfjs_ext/simd_exp2.h>  /* exp2_f32x4 (packages/core/csrc/include) */

#define TAIL_Z 13.0f

#define MUL wasm_f32x4_mul
#define ADD wasm_f32x4_add
#define SPL wasm_f32x4_splat

/* Q(z) / exp(-z^2/2) for z >= 0 (Hart 1968 as in West 2005; host_math.ts's tailRatio in float32). */
static inline v128_t tail_ratio(v128_t z) {
  v128_t p = SPL(0.0352624965998911f);
  p = ADD(MUL(p, z), SPL(0.700383064443688f));
  p = ADD(MUL(p, z), SPL(6.37396220353165f));
  p = ADD(MUL(p, z), SPL(33.912866078383f));
  p = ADD(MUL(p, z), SPL(112.079291497871f));
  p = ADD(MUL(p, z), SPL(221.213596169931f));
  p = ADD(MUL(p, z), SPL(220.206867912376f));
  v128_t q = SPL(0.0883883476483184f);
  q = ADD(MUL(q, z), SPL(1.75566716318264f));
  q = ADD(MUL(q, z), SPL(16.064177579207f));
  q = ADD(MUL(q, z), SPL(86.7807322029461f));
  q = ADD(MUL(q, z), SPL(296.564248779674f));
  q = ADD(MUL(q, z), SPL(637.333633378831f));
  q = ADD(MUL(q, z), SPL(793.826512519948f));
  q = ADD(MUL(q, z), SPL(440.413735824752f));
  const v128_t rational = wasm_f32x4_div(p, q);
  const v128_t near = wasm_f32x4_lt(z, SPL(7.07106781186547f));
  if (wasm_i32x4_all_true(near)) return rational;  /* the continued fraction only when a lane needs it */
  v128_t c = ADD(z, SPL(0.65f));
  c = ADD(z, wasm_f32x4_div(SPL(4.0f), c));
  c = ADD(z, wasm_f32x4_div(SPL(3.0f), c));
  c = ADD(z, wasm_f32x4_div(SPL(2.0f), c));
  c = ADD(z, wasm_f32x4_div(SPL(1.0f), c));
  const v128_t fraction = wasm_f32x4_div(SPL(0.398942280401433f), c);  /* 1 / (sqrt(2 pi) c) */
  return wasm_v128_bitselect(rational, fraction, near);
}

static inline float hsum(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) +
         wasm_f32x4_extract_lane(v, 3);
}

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static inline float floorf_(float x) { return wasm_f32x4_extract_lane(wasm_f32x4_floor(wasm_f32x4_splat(x)), 0); }

/*
 * Few bins (K <= SMALL_K): four elements per vector, every boundary (no window: with K - 1 <= 3 boundaries the
 * per-element window set-up would cost more than it saves). Far tails are still exact: exp2 underflows to 0
 * (Q = 0 or 1). n % 4 == 0 (the caller pads).
 */
#define SMALL_K 4
static void mean_by_elements(const float *muX, const float *sigmaX, float *kHat, float *dMu, float *dSigma, int n,
                             int numBins) {
  const float w = 2.0f / (float)numBins;
  const v128_t minusHalfLog2e = SPL(-0.5f * 1.4426950408889634f);
  for (int i = 0; i < n; i += 4) {
    const v128_t m = wasm_v128_load(muX + i), invS = wasm_f32x4_div(SPL(1.0f), wasm_v128_load(sigmaX + i));
    v128_t tails = SPL(0.0f), dens = SPL(0.0f), densZ = SPL(0.0f);
    for (int j = 1; j < numBins; j++) {
      const v128_t z = MUL(wasm_f32x4_sub(SPL(-1.0f + (float)j * w), m), invS);
      const v128_t e = exp2_f32x4(MUL(MUL(z, z), minusHalfLog2e));
      const v128_t qv = MUL(e, tail_ratio(wasm_f32x4_abs(z)));
      tails = ADD(tails, wasm_v128_bitselect(wasm_f32x4_sub(SPL(1.0f), qv), qv, wasm_f32x4_lt(z, SPL(0.0f))));
      if (dMu) {
        dens = ADD(dens, e);
        densZ = ADD(densZ, MUL(e, z));
      }
    }
    wasm_v128_store(kHat + i, ADD(SPL(-1.0f + 0.5f * w), MUL(SPL(w), tails)));
    if (dMu) {
      const v128_t f = MUL(SPL(w * 0.398942280401433f), invS);
      wasm_v128_store(dMu + i, MUL(f, dens));
      wasm_v128_store(dSigma + i, MUL(f, densZ));
    }
  }
}

/*
 * For each of n elements (muX[i], sigmaX[i]): kHat[i] and, when dMu != 0, dMu[i] = d kHat/d muX and
 * dSigma[i] = d kHat/d sigmaX. Pointers are byte offsets into the module's memory. n % 4 == 0.
 */
__attribute__((export_name("discretised_mean")))
void discretised_mean(const float *muX, const float *sigmaX, float *kHat, float *dMu, float *dSigma, int n,
                      int numBins) {
  if (numBins <= SMALL_K) {
    mean_by_elements(muX, sigmaX, kHat, dMu, dSigma, n, numBins);
    return;
  }
  const float w = 2.0f / (float)numBins, invW = (float)numBins / 2.0f;
  const v128_t lane = wasm_f32x4_make(0.0f, 1.0f, 2.0f, 3.0f);
  const v128_t lanei = wasm_i32x4_make(0, 1, 2, 3);
  const v128_t minusHalfLog2e = SPL(-0.5f * 1.4426950408889634f);
  for (int i = 0; i < n; i++) {
    const float m = muX[i], s = sigmaX[i], invS = 1.0f / s;
    /* window: boundaries j with |z_j| <= TAIL_Z (ceil / floor clamped to [0, K] before the int conversion;
       NaN becomes 0 there, and is put back into kHat below) */
    float lo = -floorf_(-(m - TAIL_Z * s + 1.0f) * invW), hi = floorf_((m + TAIL_Z * s + 1.0f) * invW);
    lo = lo > 0.0f ? (lo < (float)numBins ? lo : (float)numBins) : 0.0f;
    hi = hi > 0.0f ? (hi < (float)numBins ? hi : (float)numBins) : 0.0f;
    const int jLo = clampi((int)lo, 1, numBins), jHi = clampi((int)hi, 0, numBins - 1);
    float tails = (float)(jLo > numBins - 1 ? numBins - 1 : jLo - 1);
    v128_t acc = SPL(0.0f), dens = SPL(0.0f), densZ = SPL(0.0f);
    const float zLo = (-1.0f + (float)jLo * w - m) * invS, dz = w * invS;
    for (int j = jLo; j <= jHi; j += 4) {
      const v128_t z = ADD(SPL(zLo + (float)(j - jLo) * dz), MUL(lane, SPL(dz)));
      const v128_t live = wasm_i32x4_le(wasm_i32x4_add(wasm_i32x4_splat(j), lanei), wasm_i32x4_splat(jHi));
      const v128_t a = wasm_f32x4_abs(z);
      const v128_t e = wasm_v128_and(exp2_f32x4(MUL(MUL(z, z), minusHalfLog2e)), live);
      const v128_t qv = MUL(e, tail_ratio(a));
      const v128_t neg = wasm_f32x4_lt(z, SPL(0.0f));
      /* Q(z) = qv for z >= 0, 1 - qv for z < 0 (dead lanes: 0) */
      acc = ADD(acc, wasm_v128_bitselect(wasm_v128_and(wasm_f32x4_sub(SPL(1.0f), qv), live), qv, neg));
      if (dMu) {
        dens = ADD(dens, e);
        densZ = ADD(densZ, MUL(e, z));
      }
    }
    tails += hsum(acc);
    kHat[i] = -1.0f + 0.5f * w + w * tails + (m - m) + (s - s);  /* + NaN if an input is NaN */
    if (dMu) {
      const float f = w * 0.398942280401433f * invS;
      dMu[i] = f * hsum(dens);
      dSigma[i] = f * hsum(densZ);
    }
  }
}
