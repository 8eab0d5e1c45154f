/** Float64 oracle of `denseMatMul`: `out[i, j] = sum over p of a[i, p] * b[p, j]`, `a` [m, k], `b` [k, n]. */
export function denseMatMulReference(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number,
                                     n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += a[i * k + p] * b[p * n + j];
      out[i * n + j] = sum;
    }
  }
  return out;
}
