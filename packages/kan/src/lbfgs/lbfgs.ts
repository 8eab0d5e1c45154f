/**
 * L-BFGS for tfjs variables (tfjs has none), following PyTorch's `torch.optim.LBFGS`: two-loop recursion over a
 * history of curvature pairs and an optional strong-Wolfe line search. Parameters, gradients and history live on
 * the host in float64. {@link Float64LBFGS} runs on any {@link LBFGSProblem}; {@link LBFGS} is that problem over tfjs
 * variables and a loss closure.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertKnownKeys} from '@tfjs-ext/core';
import {Evaluation, strongWolfe} from './line_search';

export type {Evaluation};

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
 * What {@link Float64LBFGS} minimises: a float64 parameter vector it can read and write, and the loss and gradient
 * at the vector last written. {@link LBFGS} wraps tfjs variables and a loss closure in one; a host objective (e.g.
 * {@link KANFloat64MSE}) keeps its parameters in float64 so the loss is not limited by float32 rounding.
 */
export interface LBFGSProblem {
  read(): Float64Array | Promise<Float64Array>;
  write(x: Float64Array): void;
  evaluate(): Evaluation | Promise<Evaluation>;
}

function resolveOptions(options: LBFGSOptions): Required<LBFGSOptions> {
  assertKnownKeys('LBFGS', options, ['lr', 'maxIter', 'maxEval', 'toleranceGrad', 'toleranceChange', 'historySize',
    'lineSearch']);
  const maxIter = options.maxIter ?? 20;
  const resolved = {lr: 1, maxIter, maxEval: Math.floor(maxIter * 1.25), toleranceGrad: 1e-7, toleranceChange: 1e-9,
                    historySize: 10, lineSearch: 'strongWolfe' as const, ...options};
  assertArg(resolved.historySize >= 1, 'LBFGS', () => `historySize must be >= 1, got ${resolved.historySize}`);
  return resolved;
}

/**
 * L-BFGS over any {@link LBFGSProblem} (float64 host vectors). {@link LBFGS} is this over tfjs variables.
 *
 * @example
 * ```ts
 * const x = Float64Array.of(-1.2, 1);
 * const rosenbrock: LBFGSProblem = {
 *   read: () => x.slice(), write: (v) => x.set(v),
 *   evaluate: () => ({loss: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2,
 *                     grad: Float64Array.of(-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2), 200 * (x[1] - x[0] ** 2))}),
 * };
 * await new Float64LBFGS({maxIter: 100}).step(rosenbrock);  // x -> (1, 1)
 * ```
 */
export class Float64LBFGS {
  readonly options: Required<LBFGSOptions>;
  /** Function evaluations so far. */
  funcEvals = 0;
  /** Iterations so far. */
  iterations = 0;
  private d: Float64Array | null = null;
  private t = 0;
  private oldDirs: Float64Array[] = [];
  private oldSteps: Float64Array[] = [];
  private ro: number[] = [];
  private hDiag = 1;
  private prevGrad: Float64Array | null = null;
  /** Set when a line search failed: the next iteration restarts from steepest descent. */
  private restart = false;

  constructor(options: LBFGSOptions = {}) {
    this.options = resolveOptions(options);
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

  private async evaluate(problem: LBFGSProblem): Promise<Evaluation> {
    this.funcEvals++;
    return problem.evaluate();
  }

  /** Runs up to `maxIter` L-BFGS iterations; resolves to the loss at the starting point. */
  async step(problem: LBFGSProblem): Promise<number> {
    const {lr, maxIter, maxEval, toleranceGrad, toleranceChange, historySize, lineSearch} = this.options;
    let x = Float64Array.from(await problem.read());
    let {loss, grad} = await this.evaluate(problem);
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
          problem.write(x0.map((v, i) => v + step * d[i]));
          return this.evaluate(problem);
        };
        const res = await strongWolfe(evaluateAt, d, t, loss, grad, gtd, {toleranceChange});
        if (!(res.loss < loss)) {
          // No decrease along d (a stale or noise-corrupted curvature history, e.g. after the parameters were
          // changed from outside, or float32 noise near a minimum): restore the parameters and restart from
          // steepest descent; if steepest descent fails too, stop.
          problem.write(x0);
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
        problem.write(x);
      } else {
        x = x.map((v, i) => v + t * d[i]);
        problem.write(x);
        lsEvals = 0;
        if (nIter !== maxIter) {
          ({loss, grad} = await this.evaluate(problem));
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

/**
 * L-BFGS for tfjs variables (parameters and history in float64 on the host; each evaluation runs the closure's
 * forward and backward on the active backend, in float32).
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
  private readonly core: Float64LBFGS;
  private readonly vars: tf.Variable[];
  private readonly size: number;

  constructor(vars: tf.Variable[], options: LBFGSOptions = {}) {
    assertArg(Array.isArray(vars) && vars.length > 0 && vars.every((v) => v instanceof tf.Variable), 'LBFGS',
              () => 'vars must be a non-empty array of tf.Variable');
    this.core = new Float64LBFGS(options);
    this.vars = vars;
    this.size = vars.reduce((a, v) => a + v.size, 0);
  }

  get options(): Required<LBFGSOptions> {
    return this.core.options;
  }

  /** Function evaluations so far. */
  get funcEvals(): number {
    return this.core.funcEvals;
  }

  /** Iterations so far. */
  get iterations(): number {
    return this.core.iterations;
  }

  /** Forgets the curvature history (e.g. after the parameters were changed from outside). */
  reset(): void {
    this.core.reset();
  }

  /** Runs up to `maxIter` L-BFGS iterations on `closure`'s loss; resolves to the loss at the starting point. */
  step(closure: () => tf.Scalar): Promise<number> {
    const vars = this.vars;
    return this.core.step({
      read: async () => {
        const x = new Float64Array(this.size);
        let o = 0;
        for (const v of vars) {
          x.set(await v.data() as Float32Array, o);
          o += v.size;
        }
        return x;
      },
      write: (x) => {
        let o = 0;
        tf.tidy(() => {
          for (const v of vars) {
            v.assign(tf.tensor(Float32Array.from(x.subarray(o, o + v.size)), v.shape, 'float32'));
            o += v.size;
          }
        });
      },
      evaluate: async () => {
        const {value, grads} = tf.variableGrads(closure, vars);
        const flat = tf.tidy(() => tf.concat(vars.map((v) => {
          const g = grads[v.name];
          return g === undefined ? tf.zeros([v.size]) : tf.reshape(g, [-1]);
        })));
        const [lossData, gradData] = await Promise.all([value.data(), flat.data()]);
        tf.dispose([value, flat, ...Object.values(grads)]);
        return {loss: lossData[0], grad: Float64Array.from(gradData as Float32Array)};
      },
    });
  }
}
