/**
 * Float64 causal linear attention, the direct O(L^2) sum (independent of the SSD recurrence):
 * `y[b, i, h, :] = sum_{j <= i} (q[b, i, g, :] . k[b, j, g, :]) v[b, j, h, :]`, `g = floor(h / (H / Hqk))`.
 */
export function linearAttentionReference(q: Float64Array, k: Float64Array, v: Float64Array, batch: number,
                                         L: number, Hqk: number, dk: number, H: number, dv: number): Float64Array {
  const y = new Float64Array(batch * L * H * dv);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / Hqk));
      for (let i = 0; i < L; i++) {
        for (let j = 0; j <= i; j++) {
          let score = 0;
          for (let e = 0; e < dk; e++) score += q[((b * L + i) * Hqk + g) * dk + e] * k[((b * L + j) * Hqk + g) * dk + e];
          for (let e = 0; e < dv; e++) y[((b * L + i) * H + h) * dv + e] += score * v[((b * L + j) * H + h) * dv + e];
        }
      }
    }
  }
  return y;
}
