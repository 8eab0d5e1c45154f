/**
 * Float64 oracles of the SSD scan, written from the spec (`shared/specs/ssd.md`) to be read against it; they
 * share no helpers with the kernels or the composite.
 *
 * Layouts (row-major): x [batch, L, H, P], dt [batch, L, H], A [H], B and C [batch, L, G, N], D [H],
 * states [batch, H, P, N]. Head h reads group floor(h / (H / G)).
 */

/** Sizes of one SSD problem. */
export interface SSDDims {
  batch: number;
  L: number;
  H: number;
  P: number;
  G: number;
  N: number;
}

/** Float64 inputs; `D` and `initialState` may be null (zero). */
export interface SSDReferenceInputs {
  x: Float64Array;
  dt: Float64Array;
  A: Float64Array;
  B: Float64Array;
  C: Float64Array;
  D: Float64Array | null;
  initialState: Float64Array | null;
}

export interface SSDReferenceOutputs {
  /** [batch, L, H, P] */
  y: Float64Array;
  /** [batch, H, P, N] */
  finalState: Float64Array;
}

/**
 * The sequential recurrence (the oracle), per batch row and head:
 * `h_t = exp(dt_t A) h_{t-1} + dt_t x_t B_t^T` (h is P x N), `y_t = h_t C_t + D x_t`, `h_0 = initialState`.
 */
export function ssdSequentialReference(inp: SSDReferenceInputs, d: SSDDims): SSDReferenceOutputs {
  const {batch, L, H, P, G, N} = d;
  const y = new Float64Array(batch * L * H * P);
  const finalState = new Float64Array(batch * H * P * N);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / G));
      const st = new Float64Array(P * N);
      if (inp.initialState) st.set(inp.initialState.subarray((b * H + h) * P * N, (b * H + h + 1) * P * N));
      for (let t = 0; t < L; t++) {
        const dt = inp.dt[(b * L + t) * H + h];
        const decay = Math.exp(dt * inp.A[h]);
        const xo = ((b * L + t) * H + h) * P, bo = ((b * L + t) * G + g) * N;
        for (let p = 0; p < P; p++) {
          let yp = inp.D ? inp.D[h] * inp.x[xo + p] : 0;
          for (let n = 0; n < N; n++) {
            st[p * N + n] = decay * st[p * N + n] + dt * inp.x[xo + p] * inp.B[bo + n];
            yp += st[p * N + n] * inp.C[bo + n];
          }
          y[xo + p] = yp;
        }
      }
      finalState.set(st, (b * H + h) * P * N);
    }
  }
  return {y, finalState};
}

/**
 * The chunked algorithm in the spec's four steps, chunk length Q (the last chunk may be shorter: equivalent to
 * padding with dt = 0), per batch row and head, with `a_t = dt_t A` and `cs` its cumulative sum in the chunk:
 * 1. `Y_diag[l] = sum_{s<=l} (C_l . B_s) exp(cs_l - cs_s) dt_s x_s`
 * 2. `S_c = sum_l exp(cs_last - cs_l) dt_l x_l B_l^T`
 * 3. `H_{c+1} = exp(cs_last(c)) H_c + S_c`, `H_0 = initialState`, `finalState = H_last`
 * 4. `Y_off[l] = exp(cs_l) H_c C_l`;   `y = Y_diag + Y_off + D x`.
 */
export function ssdChunkedReference(inp: SSDReferenceInputs, d: SSDDims, Q: number): SSDReferenceOutputs {
  const {batch, L, H, P, G, N} = d;
  const y = new Float64Array(batch * L * H * P);
  const finalState = new Float64Array(batch * H * P * N);
  const X = (b: number, t: number, h: number, p: number) => inp.x[((b * L + t) * H + h) * P + p];
  const Bv = (b: number, t: number, g: number, n: number) => inp.B[((b * L + t) * G + g) * N + n];
  const Cv = (b: number, t: number, g: number, n: number) => inp.C[((b * L + t) * G + g) * N + n];
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / G));
      const Hc = new Float64Array(P * N);  // state entering the chunk
      if (inp.initialState) Hc.set(inp.initialState.subarray((b * H + h) * P * N, (b * H + h + 1) * P * N));
      for (let c0 = 0; c0 < L; c0 += Q) {
        const len = Math.min(Q, L - c0);
        const dt = (l: number) => inp.dt[(b * L + c0 + l) * H + h];
        const cs = new Float64Array(len);
        for (let l = 0, acc = 0; l < len; l++) cs[l] = acc += dt(l) * inp.A[h];
        for (let l = 0; l < len; l++) {
          for (let p = 0; p < P; p++) {
            // 1. intra-chunk (diagonal block)
            let yDiag = 0;
            for (let s = 0; s <= l; s++) {
              let cb = 0;
              for (let n = 0; n < N; n++) cb += Cv(b, c0 + l, g, n) * Bv(b, c0 + s, g, n);
              yDiag += cb * Math.exp(cs[l] - cs[s]) * dt(s) * X(b, c0 + s, h, p);
            }
            // 4. inter-chunk output from the state entering this chunk
            let yOff = 0;
            for (let n = 0; n < N; n++) yOff += Hc[p * N + n] * Cv(b, c0 + l, g, n);
            y[((b * L + c0 + l) * H + h) * P + p] =
                yDiag + Math.exp(cs[l]) * yOff + (inp.D ? inp.D[h] * X(b, c0 + l, h, p) : 0);
          }
        }
        // 2. this chunk's own state, and 3. state passing
        const last = cs[len - 1];
        for (let p = 0; p < P; p++) {
          for (let n = 0; n < N; n++) {
            let s = 0;
            for (let l = 0; l < len; l++) s += Math.exp(last - cs[l]) * dt(l) * X(b, c0 + l, h, p) * Bv(b, c0 + l, g, n);
            Hc[p * N + n] = Math.exp(last) * Hc[p * N + n] + s;
          }
        }
      }
      finalState.set(Hc, (b * H + h) * P * N);
    }
  }
  return {y, finalState};
}
