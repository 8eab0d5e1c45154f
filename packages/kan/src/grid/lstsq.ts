/**
 * Host-side least squares in float64 (tfjs has no lstsq): ridge-regularised normal equations solved by
 * Cholesky. The systems here are small (`G + k` unknowns per feature) and well conditioned once a tiny ridge
 * is added, so normal equations in float64 lose nothing that float32 weights could keep.
 */

/** In-place Cholesky of the symmetric positive-definite `n x n` matrix `a` (row-major); returns L (lower). */
export function cholesky(a: Float64Array, n: number): Float64Array {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let p = 0; p < j; p++) d -= a[j * n + p] * a[j * n + p];
    if (!(d > 0)) throw new Error(`cholesky: matrix is not positive definite (pivot ${j} = ${d})`);
    const ljj = Math.sqrt(d);
    a[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let p = 0; p < j; p++) s -= a[i * n + p] * a[j * n + p];
      a[i * n + j] = s / ljj;
    }
    for (let i = 0; i < j; i++) a[i * n + j] = 0;
  }
  return a;
}

/** Solves L L^T X = B for `B` `[n, r]` (row-major) in place. */
export function choleskySolve(l: Float64Array, n: number, b: Float64Array, r: number): Float64Array {
  for (let c = 0; c < r; c++) {
    for (let i = 0; i < n; i++) {  // forward: L y = b
      let s = b[i * r + c];
      for (let p = 0; p < i; p++) s -= l[i * n + p] * b[p * r + c];
      b[i * r + c] = s / l[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {  // backward: L^T x = y
      let s = b[i * r + c];
      for (let p = i + 1; p < n; p++) s -= l[p * n + i] * b[p * r + c];
      b[i * r + c] = s / l[i * n + i];
    }
  }
  return b;
}

/**
 * argmin_X |A X - Y|^2 + ridge * |X|^2 + curvature * |D X|^2 with A `[rows, n]`, Y `[rows, r]`, D the second
 * differences along X's rows (`X[m-1] - 2 X[m] + X[m+1]`); returns X `[n, r]`. Both weights are relative to the
 * mean diagonal of A^T A (scale-free). With spline coefficients as X, the curvature term decides the coefficients
 * the samples leave free (a B-spline whose support holds no sample): they continue their neighbours linearly
 * instead of being pulled to zero by the ridge.
 */
export function lstsq(a: Float64Array, rows: number, n: number, y: Float64Array, r: number,
                      ridge = 1e-10, curvature = 0): Float64Array {
  const ata = new Float64Array(n * n);
  const aty = new Float64Array(n * r);
  for (let k = 0; k < rows; k++) {
    const ak = k * n;
    for (let i = 0; i < n; i++) {
      const v = a[ak + i];
      if (v === 0) continue;
      for (let j = 0; j <= i; j++) ata[i * n + j] += v * a[ak + j];
      for (let c = 0; c < r; c++) aty[i * r + c] += v * y[k * r + c];
    }
  }
  let trace = 0;
  for (let i = 0; i < n; i++) trace += ata[i * n + i];
  const scale = Math.max(trace / n, 1e-300);
  for (let i = 0; i < n; i++) ata[i * n + i] += ridge * scale;
  if (curvature > 0) {
    // D^T D, lower triangle: each second difference (m-1, m, m+1) with weights (1, -2, 1) adds w_i w_j
    const w = [1, -2, 1];
    for (let m = 1; m < n - 1; m++) {
      for (let p = 0; p < 3; p++) {
        for (let q = 0; q <= p; q++) ata[(m - 1 + p) * n + (m - 1 + q)] += curvature * scale * w[p] * w[q];
      }
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) ata[j * n + i] = ata[i * n + j];
  }
  return choleskySolve(cholesky(ata, n), n, aty, r);
}
