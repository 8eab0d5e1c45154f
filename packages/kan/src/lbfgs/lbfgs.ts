/**
 * L-BFGS for tfjs variables (tfjs has none), following PyTorch's `torch.optim.LBFGS`: two-loop recursion over a
 * history of curvature pairs and an optional strong-Wolfe line search. Parameters, gradients and history live on
 * the host in float64; each evaluation runs the closure's forward and backward on the active backend.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg} from '@tfjs-ext/core';
import {Evaluation, strongWolfe} from './line_search';

export interface LBFGSOptions {
  /** Step scale (default 1). */
  lr?: number;
  /** Iterations per `step()` call (default 20). */
  maxIter?: number;
  /** Function evaluations per `step()` call (default maxIter * 1.25). */
  maxEval?: number;
  /** Stop when max |grad| falls below this (default 1e-7). */
  toleranceGrad?: number;
  /** Stop when the loss or the step changes less than this (default 1e-9). */
  toleranceChange?: number;
  /** Curvature pairs kept (default 10). */
  historySize?: number;
  /** 'strongWolfe' (default) or 'none' (fixed step lr). */
  lineSearch?: 'strongWolfe' | 'none';
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/**
 * L-BFGS over a list of `tf.Variable`s; `step(closure)` runs up to `maxIter` iterations and resolves to the loss
 * before the step (like PyTorch).
 *
 * @example
 * ```ts
 * const opt = new LBFGS(model.trainableWeights.map((w) => w.read() as tf.Variable), {historySize: 10});
 * for (let i = 0; i < 50; i++) {
 *   await opt.step(() => tf.losses.meanSquaredError(y, model.predict(x) as tf.Tensor) as tf.Scalar);
 * }
 * ```
 */
export class LBFGS {
  readonly options: Required<LBFGSOptions>;
  /** Function evaluations so far. */
  funcEvals = 0;
  /** Iterations so far. */
  iterations = 0;
  private readonly vars: tf.Variable[];
  private readonly size: number;
  private d: Float64Array | null = null;
  private t = 0;
  private oldDirs: Float64Array[] = [];
  private oldSteps: Float64Array[] = [];
  private ro: number[] = [];
  private hDiag = 1;
  private prevGrad: Float64Array | null = null;
  /** Set when a line search failed: the next iteration restarts from steepest descent. */
  private restart = false;

  constructor(vars: tf.Variable[], options: LBFGSOptions = {}) {
    assertArg(Array.isArray(vars) && vars.length > 0 && vars.every((v) => v instanceof tf.Variable), 'LBFGS',
              () => 'vars must be a non-empty array of tf.Variable');
    const maxIter = options.maxIter ?? 20;
    this.options = {lr: 1, maxIter, maxEval: Math.floor(maxIter * 1.25), toleranceGrad: 1e-7, toleranceChange: 1e-9,
                    historySize: 10, lineSearch: 'strongWolfe', ...options};
    assertArg(this.options.historySize >= 1, 'LBFGS',
              () => `historySize must be >= 1, got ${this.options.historySize}`);
    this.vars = vars;
    this.size = vars.reduce((a, v) => a + v.size, 0);
  }

  /** Forgets the curvature history (e.g. after the parameters were changed from outside). */
  reset(): void {
    this.d = null;
    this.oldDirs = [];
    this.oldSteps = [];
    this.ro = [];
    this.hDiag = 1;
    this.prevGrad = null;
    this.iterations = 0;
  }

  private async readParams(): Promise<Float64Array> {
    const x = new Float64Array(this.size);
    let o = 0;
    for (const v of this.vars) {
      x.set(await v.data() as Float32Array, o);
      o += v.size;
    }
    return x;
  }

  private writeParams(x: Float64Array): void {
    let o = 0;
    tf.tidy(() => {
      for (const v of this.vars) {
        v.assign(tf.tensor(Float32Array.from(x.subarray(o, o + v.size)), v.shape, 'float32'));
        o += v.size;
      }
    });
  }

  private async evaluate(closure: () => tf.Scalar): Promise<Evaluation> {
    this.funcEvals++;
    const {value, grads} = tf.variableGrads(closure, this.vars);
    const flat = tf.tidy(() => tf.concat(this.vars.map((v) => {
      const g = grads[v.name];
      return g === undefined ? tf.zeros([v.size]) : tf.reshape(g, [-1]);
    })));
    const [lossData, gradData] = await Promise.all([value.data(), flat.data()]);
    tf.dispose([value, flat, ...Object.values(grads)]);
    return {loss: lossData[0], grad: Float64Array.from(gradData as Float32Array)};
  }

  /** Runs up to `maxIter` L-BFGS iterations; resolves to the loss at the starting point. */
  async step(closure: () => tf.Scalar): Promise<number> {
    const {lr, maxIter, maxEval, toleranceGrad, toleranceChange, historySize, lineSearch} = this.options;
    let x = await this.readParams();
    let {loss, grad} = await this.evaluate(closure);
    const origLoss = loss;
    let currentEvals = 1;
    if (maxAbs(grad) <= toleranceGrad) return origLoss;

    for (let nIter = 1; nIter <= maxIter; nIter++) {
      this.iterations++;
      let d: Float64Array;
      if (this.iterations === 1 || this.d === null || this.prevGrad === null || this.restart) {
        this.restart = false;
        d = grad.map((g) => -g);
        this.oldDirs = [];
        this.oldSteps = [];
        this.ro = [];
        this.hDiag = 1;
      } else {
        const y = grad.map((g, i) => g - this.prevGrad![i]);
        const s = this.d.map((v) => v * this.t);
        const ys = dot(y, s);
        if (ys > 1e-10) {
          if (this.oldDirs.length === historySize) {
            this.oldDirs.shift();
            this.oldSteps.shift();
            this.ro.shift();
          }
          this.oldDirs.push(y);
          this.oldSteps.push(s);
          this.ro.push(1 / ys);
          this.hDiag = ys / dot(y, y);
        }
        // two-loop recursion: d = -H grad
        const k = this.oldDirs.length;
        const alpha = new Float64Array(k);
        const q = grad.map((g) => -g);
        for (let i = k - 1; i >= 0; i--) {
          alpha[i] = dot(this.oldSteps[i], q) * this.ro[i];
          const yi = this.oldDirs[i];
          for (let j = 0; j < q.length; j++) q[j] -= alpha[i] * yi[j];
        }
        for (let j = 0; j < q.length; j++) q[j] *= this.hDiag;
        for (let i = 0; i < k; i++) {
          const beta = dot(this.oldDirs[i], q) * this.ro[i];
          const si = this.oldSteps[i];
          for (let j = 0; j < q.length; j++) q[j] += (alpha[i] - beta) * si[j];
        }
        d = q;
      }
      this.prevGrad = grad;
      const prevLoss = loss;
      let sumAbs = 0;
      for (let i = 0; i < grad.length; i++) sumAbs += Math.abs(grad[i]);
      const fromSteepest = this.oldDirs.length === 0;
      let t = fromSteepest ? Math.min(1, 1 / sumAbs) * lr : lr;
      const gtd = dot(grad, d);
      this.d = d;
      this.t = t;
      if (gtd > -toleranceChange) break;

      let lsEvals: number;
      if (lineSearch === 'strongWolfe') {
        const x0 = x;
        const evaluateAt = async (step: number) => {
          this.writeParams(x0.map((v, i) => v + step * d[i]));
          return this.evaluate(closure);
        };
        const res = await strongWolfe(evaluateAt, d, t, loss, grad, gtd, {toleranceChange});
        if (!(res.loss < loss)) {
          // No decrease along d (a stale or noise-corrupted curvature history, e.g. after the parameters were
          // changed from outside, or float32 noise near a minimum): restore the parameters and restart from
          // steepest descent; if steepest descent fails too, stop.
          this.writeParams(x0);
          if (fromSteepest) break;
          this.restart = true;
          this.oldDirs = [];
          this.oldSteps = [];
          this.ro = [];
          this.prevGrad = null;
          currentEvals += res.evals;
          if (currentEvals >= maxEval) break;
          continue;
        }
        loss = res.loss;
        grad = res.grad;
        t = res.t;
        lsEvals = res.evals;
        x = x0.map((v, i) => v + t * d[i]);
        this.writeParams(x);
      } else {
        x = x.map((v, i) => v + t * d[i]);
        this.writeParams(x);
        lsEvals = 0;
        if (nIter !== maxIter) {
          ({loss, grad} = await this.evaluate(closure));
          lsEvals = 1;
        }
      }
      this.t = t;
      currentEvals += lsEvals;
      if (nIter === maxIter || currentEvals >= maxEval) break;
      if (maxAbs(grad) <= toleranceGrad) break;
      if (maxAbs(d) * Math.abs(t) <= toleranceChange) break;
      if (Math.abs(loss - prevLoss) < toleranceChange) break;
    }
    return origLoss;
  }
}
