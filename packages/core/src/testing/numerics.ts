/**
 * Float64 helpers, closeness assertions with readable diffs, and the finite-difference gradient checker.
 */
import * as tf from '@tensorflow/tfjs';
import {rng} from '../random';

export {rng};


/** `n` uniform values in [lo, hi), rounded to float32 so the float64 oracle sees what the backend sees. */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.fround(lo + (hi - lo) * r());
  return out;
}

/** `n` standard-normal values (Box-Muller), rounded to float32. */
export function randomNormalArray(n: number, seed: number, std = 1): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    out[i] = Math.fround(std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r()));
  }
  return out;
}

/** A tensor's values as float64 (await: webgpu can only read asynchronously in Node). */
export async function toFloat64(t: tf.Tensor): Promise<Float64Array> {
  return Float64Array.from(await t.data() as Float32Array);
}

export interface CloseOptions {
  /** Relative tolerance (default 1e-4). */
  rtol?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Name shown in the failure message. */
  name?: string;
}

export interface CloseReport {
  ok: boolean;
  maxAbsDiff: number;
  worstIndex: number;
  mismatches: number;
  message: string;
}

/** Compares elementwise: |a - e| <= atol + rtol * |e|; NaN matches only NaN and infinities must be equal. */
export function compareClose(actual: ArrayLike<number>, expected: ArrayLike<number>,
                             {rtol = 1e-4, atol = 1e-5, name = 'value'}: CloseOptions = {}): CloseReport {
  if (actual.length !== expected.length) {
    return {ok: false, maxAbsDiff: Infinity, worstIndex: -1, mismatches: -1,
            message: `${name}: length ${actual.length} != expected length ${expected.length}`};
  }
  let maxAbsDiff = 0, worstIndex = -1, mismatches = 0, worstExcess = -Infinity;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    let bad: boolean, diff: number;
    if (Number.isNaN(e) || Number.isNaN(a)) {
      bad = !(Number.isNaN(e) && Number.isNaN(a));
      diff = bad ? Infinity : 0;
    } else if (!Number.isFinite(e) || !Number.isFinite(a)) {
      bad = a !== e;
      diff = bad ? Infinity : 0;
    } else {
      diff = Math.abs(a - e);
      bad = diff > atol + rtol * Math.abs(e);
    }
    if (diff > maxAbsDiff) maxAbsDiff = diff;
    if (bad) {
      mismatches++;
      const excess = diff - (atol + rtol * Math.abs(e));
      if (excess > worstExcess || !Number.isFinite(excess)) {
        worstExcess = excess;
        worstIndex = i;
      }
    }
  }
  const ok = mismatches === 0;
  const message = ok ? `${name}: ok (max |diff| ${maxAbsDiff.toExponential(2)})` :
      `${name}: ${mismatches}/${actual.length} elements differ beyond atol=${atol}, rtol=${rtol}; ` +
          `worst at [${worstIndex}]: got ${actual[worstIndex]}, expected ${expected[worstIndex]}; ` +
          `max |diff| ${maxAbsDiff.toExponential(3)}`;
  return {ok, maxAbsDiff, worstIndex, mismatches, message};
}

/** Throws an Error with a readable diff when `actual` and `expected` are not close. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, options: CloseOptions = {}): void {
  const report = compareClose(actual, expected, options);
  if (!report.ok) throw new Error(report.message);
}

/** A float64 input: shape and values (row-major). */
export interface Float64Input {
  shape: number[];
  values: Float64Array;
}

export interface GradCheckOptions {
  /** The op under test on the active backend; its output is reduced with a fixed random cotangent. */
  f: (...xs: tf.Tensor[]) => tf.Tensor;
  /** Float64 oracle of the same function: flat output in the same order as `f`'s. */
  reference: (...xs: Float64Array[]) => Float64Array;
  inputs: Float64Input[];
  /** Indices of the inputs to differentiate (default: all). */
  wrt?: number[];
  /** Finite-difference step on the float64 reference (default 1e-4). */
  eps?: number;
  /** Tolerances for the analytic (float32) vs numeric (float64) gradient. */
  rtol?: number;
  atol?: number;
  seed?: number;
}

export interface GradCheckResult {
  ok: boolean;
  /** One report per differentiated input. */
  reports: CloseReport[];
  message: string;
}

/**
 * Central finite differences of `sum(w * reference(x))` in float64 against tfjs's analytic gradient of
 * `sum(w * f(x))` on the active backend, with a fixed random cotangent `w`.
 */
export async function gradCheck(opts: GradCheckOptions): Promise<GradCheckResult> {
  const {f, reference, inputs, eps = 1e-4, rtol = 2e-3, atol = 1e-4, seed = 1234} = opts;
  const wrt = opts.wrt ?? inputs.map((_, i) => i);
  const base = inputs.map((x) => Float64Array.from(x.values, Math.fround));
  const y0 = reference(...base);
  const w = randomArray(y0.length, seed);
  const objective = (xs: Float64Array[]) => {
    const y = reference(...xs);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += w[i] * y[i];
    return s;
  };

  const xs = inputs.map((x, i) => tf.tensor(Float32Array.from(base[i]), x.shape, 'float32'));
  const wT = tf.tensor(Float32Array.from(w));
  const analytic = tf.grads((...args: tf.Tensor[]) => {
    const all = xs.slice();
    wrt.forEach((idx, j) => { all[idx] = args[j]; });
    return tf.sum(tf.mul(tf.reshape(f(...all), [-1]), wT));
  })(wrt.map((i) => xs[i]));
  const analyticValues = await Promise.all(analytic.map((g) => g.data()));
  tf.dispose([...xs, wT, ...analytic]);

  const reports = wrt.map((idx, j) => {
    const x = base.map((v) => v.slice());
    const numeric = new Float64Array(x[idx].length);
    for (let e = 0; e < numeric.length; e++) {
      const orig = x[idx][e];
      x[idx][e] = orig + eps;
      const plus = objective(x);
      x[idx][e] = orig - eps;
      const minus = objective(x);
      x[idx][e] = orig;
      numeric[e] = (plus - minus) / (2 * eps);
    }
    return compareClose(analyticValues[j] as Float32Array, numeric, {rtol, atol, name: `d/d(input ${idx})`});
  });
  const ok = reports.every((r) => r.ok);
  return {ok, reports, message: reports.map((r) => r.message).join('\n')};
}

/**
 * Asserts that tfjs's analytic gradient on the active backend matches float64 finite differences.
 *
 * @example
 * ```ts
 * await checkGradients({
 *   f: (a, b) => tf.matMul(a, b),
 *   reference: (a, b) => matMulF64(a, b, 2, 3, 4),
 *   inputs: [{shape: [2, 3], values: randomArray(6, 1)}, {shape: [3, 4], values: randomArray(12, 2)}],
 * });
 * ```
 */
export async function checkGradients(opts: GradCheckOptions): Promise<void> {
  const result = await gradCheck(opts);
  if (!result.ok) throw new Error(`gradient check failed on ${tf.getBackend()}:\n${result.message}`);
}
