/**
 * Plain-JS host implementation (cpu, wasm) of the scan primitive (scan_contract.ts): the recurrence in float64, as cpu.ts's
 * forward but with the log-decay `la` and the input scale `s` as separate inputs. Used where the backward is
 * composed of scans (the tests force that path on host backends to check it against the float64 oracle).
 */
import type {HostTensor} from '@tfjs-ext/core';

type F32 = Float32Array;

export function ssdScanHost(inputs: Record<string, HostTensor>): F32[] {
  const {x, la, s, A, B, C, D, initialState} = inputs;
  const [batch, L, H, P] = x.shape;
  const [, , G, N] = B.shape;
  const perGroup = H / G;
  const xv = x.values as F32, lav = la.values as F32, sv = s.values as F32, Av = A.values as F32;
  const Bv = B.values as F32, Cv = C.values as F32, Dv = D.values as F32, s0 = initialState.values as F32;
  const y = new Float32Array(batch * L * H * P);
  const finalState = new Float32Array(batch * H * P * N);
  const st = new Float64Array(P * N);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / perGroup), so = (b * H + h) * P * N;
      for (let i = 0; i < P * N; i++) st[i] = s0[so + i];
      for (let t = 0; t < L; t++) {
        const ti = (b * L + t) * H + h, decay = Math.exp(lav[ti] * Av[h]), scale = sv[ti];
        const xo = ti * P, bo = ((b * L + t) * G + g) * N;
        for (let p = 0; p < P; p++) {
          const u = scale * xv[xo + p], row = p * N;
          let acc = 0;
          for (let n = 0; n < N; n++) {
            const v = st[row + n] * decay + u * Bv[bo + n];
            st[row + n] = v;
            acc += v * Cv[bo + n];
          }
          y[xo + p] = acc + Dv[h] * xv[xo + p];
        }
      }
      for (let i = 0; i < P * N; i++) finalState[so + i] = st[i];
    }
  }
  return [y, finalState];
}
