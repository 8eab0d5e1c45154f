/**
 * Float64 maths for the references (oracles), written independently of the kernels' `host_math.ts`:
 * erf by its Maclaurin series for |x| < 2, erfc by its continued fraction beyond (both to ~1e-15).
 */

/** erf(x) to float64 accuracy for |x| < 2 (series), via erfc beyond. */
export function erf64(x: number): number {
  if (Math.abs(x) >= 2) return x > 0 ? 1 - erfc64(x) : erfc64(-x) - 1;
  // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
  let term = x, sum = x;
  for (let n = 1; n < 200; n++) {
    term *= -x * x / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return 2 / Math.sqrt(Math.PI) * sum;
}

/** erfc(x) to float64 accuracy; continued fraction (Lentz) for x >= 2 keeps the relative accuracy in the tail. */
export function erfc64(x: number): number {
  if (x < 2) return 1 - erf64(x);
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
  const tiny = 1e-300;
  let f = x, c = x, d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** Standard normal CDF Phi(z) (float64, accurate in both tails). */
export function normalCdf64(z: number): number {
  return z < 0 ? 0.5 * erfc64(-z * Math.SQRT1_2) : 1 - 0.5 * erfc64(z * Math.SQRT1_2);
}
