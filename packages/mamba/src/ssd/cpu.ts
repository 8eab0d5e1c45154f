/**
 * The plain-JS host implementation (cpu, wasm) of the SSD scan, forward and backward, over typed arrays (the
 * fallback where SIMD WebAssembly is missing; host_impl.ts picks).
 *
 * They run the recurrence itself rather than the chunked matmul form: in scalar JS the recurrence costs 4 flops
 * per state element and step (update + output, state P x N kept in a float64 buffer that stays in L1), the chunked
 * form about twice that (its gain is matmul throughput on GPUs). Both compute the same function (the tests hold
 * each to the float64 oracle); the state is accumulated in float64, so long sequences lose no precision.
 *
 * The backward kernel keeps O(L / Q * P * N) memory per head: a forward pass stores the state at every chunk
 * boundary (Q = chunkSize); then, chunk by chunk from the end, it recomputes the chunk's Q states and walks them
 * backwards with the adjoint state `g_t = dL/dh_t`:
 *   g_t = alpha_{t+1} g_{t+1} + dy_t C_t^T,  alpha_t = exp(dt_t A)
 *   dx_t = dt_t g_t B_t + D dy_t,   dB_t = dt_t g_t^T x_t,   dC_t = h_t^T dy_t
 *   ddt_t = x_t^T g_t B_t + A alpha_t <g_t, h_{t-1}>,   dA = sum_t dt_t alpha_t <g_t, h_{t-1}>
 *   dD = sum_t <dy_t, x_t>,   dInitialState = alpha_1 g_1.
 */
import type {HostTensor} from '@tfjs-ext/core';

type F32 = Float32Array;

function dims(x: HostTensor, B: HostTensor) {
  const [batch, L, H, P] = x.shape;
  const [, , G, N] = B.shape;
  return {batch, L, H, P, G, N, perGroup: H / G};
}

/** y [batch, L, H, P] and finalState [batch, H, P, N]. */
export function ssdForwardHost(inputs: Record<string, HostTensor>): F32[] {
  const {x, dt, A, B, C, D, initialState} = inputs;
  const {batch, L, H, P, G, N, perGroup} = dims(x, B);
  const xv = x.values as F32, dtv = dt.values as F32, Av = A.values as F32, Bv = B.values as F32;
  const Cv = C.values as F32, Dv = D.values as F32, s0 = initialState.values as F32;
  const y = new Float32Array(batch * L * H * P);
  const finalState = new Float32Array(batch * H * P * N);
  const st = new Float64Array(P * N);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / perGroup), a = Av[h], d = Dv[h], so = (b * H + h) * P * N;
      for (let i = 0; i < P * N; i++) st[i] = s0[so + i];
      for (let t = 0; t < L; t++) {
        const step = dtv[(b * L + t) * H + h], decay = Math.exp(step * a);
        const xo = ((b * L + t) * H + h) * P, bo = ((b * L + t) * G + g) * N;
        for (let p = 0; p < P; p++) {
          const xp = xv[xo + p], u = step * xp, row = p * N;
          let acc0 = 0, acc1 = 0, n = 0;
          for (; n + 1 < N; n += 2) {  // two accumulators: the add chain is the bottleneck
            const s0v = st[row + n] * decay + u * Bv[bo + n];
            const s1v = st[row + n + 1] * decay + u * Bv[bo + n + 1];
            st[row + n] = s0v;
            st[row + n + 1] = s1v;
            acc0 += s0v * Cv[bo + n];
            acc1 += s1v * Cv[bo + n + 1];
          }
          if (n < N) {
            const s0v = st[row + n] * decay + u * Bv[bo + n];
            st[row + n] = s0v;
            acc0 += s0v * Cv[bo + n];
          }
          y[xo + p] = acc0 + acc1 + d * xp;
        }
      }
      for (let i = 0; i < P * N; i++) finalState[so + i] = st[i];
    }
  }
  return [y, finalState];
}

/** [dx, ddt, dA, dB, dC, dD, dInitialState] for cotangents dy [batch, L, H, P], dFinalState [batch, H, P, N]. */
export function ssdBackwardHost(inputs: Record<string, HostTensor>, Q: number): F32[] {
  const {x, dt, A, B, C, D, dy, dFinalState} = inputs;
  const {batch, L, H, P, G, N, perGroup} = dims(x, B);
  const xv = x.values as F32, dtv = dt.values as F32, Av = A.values as F32, Bv = B.values as F32;
  const Cv = C.values as F32, Dv = D.values as F32, s0 = inputs.initialState.values as F32;
  const dyv = dy.values as F32, dFin = dFinalState.values as F32;
  const PN = P * N, nChunks = Math.ceil(L / Q);
  const dx = new Float32Array(xv.length), ddt = new Float32Array(dtv.length), dA = new Float32Array(H);
  const dD = new Float32Array(H), dInit = new Float32Array(s0.length);
  const dB = new Float64Array(Bv.length), dC = new Float64Array(Cv.length);  // summed over the group's heads
  const boundaries = new Float64Array(nChunks * PN);  // state entering each chunk
  const states = new Float64Array((Q + 1) * PN);      // states inside one chunk: [0] entering, [l + 1] after step l
  const gAdj = new Float64Array(PN);
  const dBrow = new Float64Array(N), dCrow = new Float64Array(N);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / perGroup), a = Av[h], d = Dv[h], so = (b * H + h) * PN;
      // forward: states at chunk boundaries
      for (let i = 0; i < PN; i++) states[i] = s0[so + i];
      for (let c = 0; c < nChunks; c++) {
        boundaries.set(states.subarray(0, PN), c * PN);
        for (let t = c * Q; t < Math.min(L, (c + 1) * Q); t++) {
          const step = dtv[(b * L + t) * H + h], decay = Math.exp(step * a);
          const xo = ((b * L + t) * H + h) * P, bo = ((b * L + t) * G + g) * N;
          for (let p = 0; p < P; p++) {
            const u = step * xv[xo + p], row = p * N;
            for (let n = 0; n < N; n++) states[row + n] = states[row + n] * decay + u * Bv[bo + n];
          }
        }
      }
      for (let i = 0; i < PN; i++) gAdj[i] = dFin[so + i];
      let dAh = 0, dDh = 0;
      for (let c = nChunks - 1; c >= 0; c--) {
        const t0 = c * Q, len = Math.min(L, t0 + Q) - t0;
        states.set(boundaries.subarray(c * PN, (c + 1) * PN), 0);
        for (let l = 0; l < len; l++) {  // recompute this chunk's states
          const t = t0 + l, step = dtv[(b * L + t) * H + h], decay = Math.exp(step * a);
          const xo = ((b * L + t) * H + h) * P, bo = ((b * L + t) * G + g) * N;
          const prev = l * PN, next = prev + PN;
          for (let p = 0; p < P; p++) {
            const u = step * xv[xo + p], row = p * N;
            for (let n = 0; n < N; n++) states[next + row + n] = states[prev + row + n] * decay + u * Bv[bo + n];
          }
        }
        for (let l = len - 1; l >= 0; l--) {  // and walk them backwards
          const t = t0 + l, ti = (b * L + t) * H + h, step = dtv[ti], decay = Math.exp(step * a);
          const xo = ti * P, bo = ((b * L + t) * G + g) * N;
          const before = l * PN, after = before + PN;
          dBrow.fill(0);
          dCrow.fill(0);
          let dAlpha = 0, dtIn = 0;
          for (let p = 0; p < P; p++) {
            const dyp = dyv[xo + p], xp = xv[xo + p], row = p * N;
            let gB = 0;
            for (let n = 0; n < N; n++) {
              const i = row + n;
              const gv = gAdj[i] + dyp * Cv[bo + n];
              dCrow[n] += dyp * states[after + i];
              gB += gv * Bv[bo + n];
              dBrow[n] += gv * xp;
              dAlpha += gv * states[before + i];
              gAdj[i] = gv * decay;
            }
            dx[xo + p] = step * gB + d * dyp;
            dtIn += xp * gB;
            dDh += dyp * xp;
          }
          for (let n = 0; n < N; n++) {
            dB[bo + n] += step * dBrow[n];
            dC[bo + n] += dCrow[n];
          }
          ddt[ti] = dtIn + a * decay * dAlpha;
          dAh += step * decay * dAlpha;
        }
      }
      for (let i = 0; i < PN; i++) dInit[so + i] = gAdj[i];
      dA[h] += dAh;
      dD[h] += dDh;
    }
  }
  return [dx, ddt, dA, Float32Array.from(dB), Float32Array.from(dC), dD, dInit];
}
