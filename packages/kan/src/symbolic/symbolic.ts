/**
 * Symbolic regression of a trained KAN (pykan's `auto_symbolic`): every edge is fitted to `a f(b x + c) + d`
 * over a library, the choice trading R^2 against complexity as pykan does, and the network is printed as a
 * formula.
 */
import * as tf from '@tensorflow/tfjs';
import {assertKnownKeys} from '@tfjs-ext/core';
import {kanLayers, layerInputs} from '../layers/kan';
import {column} from '../util';
import {fitAffine} from './fit';
import {SYMBOLIC_LIBRARY, SymbolicFunction} from './library';

export interface EdgeFit {
  layer: number;
  input: number;
  output: number;
  /** Library function name, or 'zero' for an edge too small to matter. */
  name: string;
  a: number;
  b: number;
  c: number;
  d: number;
  r2: number;
  /** The edge as text in its input `x`. */
  text: string;
}

export interface SymbolicNetwork {
  widths: number[];
  edges: EdgeFit[];
}

export interface AutoSymbolicOptions {
  library?: SymbolicFunction[];
  /** Samples per edge used for fitting (default 256). */
  maxSamples?: number;
  /** pykan's weight_simple: 0 picks the best R^2, 1 the simplest function (default 0.8). */
  weightSimple?: number;
  /** Edges whose mean |phi| is below this fraction of the layer's largest are set to zero (default 1e-3). */
  zeroThreshold?: number;
}

const num = (v: number) => Number(v.toPrecision(4)).toString();

function edgeText(name: string, a: number, b: number, c: number, d: number, arg: string, lib: SymbolicFunction[]):
    string {
  if (name === 'zero') return '0';
  const dTerm = Math.abs(d) < 1e-12 ? '' : ` ${d < 0 ? '-' : '+'} ${num(Math.abs(d))}`;
  if (name === 'x') return `${num(a)}*${arg}${dTerm}`;
  const inner = `${num(b)}*${arg}${Math.abs(c) < 1e-12 ? '' : ` ${c < 0 ? '-' : '+'} ${num(Math.abs(c))}`}`;
  return `${num(a)}*${lib.find((f) => f.name === name)!.print(inner)}${dTerm}`;
}

/**
 * Fits every edge of a KAN on the samples `x` to a library function.
 *
 * @example
 * ```ts
 * const net = await autoSymbolic(model, xTrain);
 * console.log(formatFormula(net, ['x', 'y'])[0]);
 * ```
 */
export async function autoSymbolic(model: tf.LayersModel, x: tf.Tensor2D, options: AutoSymbolicOptions = {}):
    Promise<SymbolicNetwork> {
  assertKnownKeys('autoSymbolic', options, ['library', 'maxSamples', 'weightSimple', 'zeroThreshold']);
  const {library = SYMBOLIC_LIBRARY, maxSamples = 256, weightSimple = 0.8, zeroThreshold = 1e-3} = options;
  const layers = kanLayers(model);
  const inputs = layerInputs(model, x);
  const edges: EdgeFit[] = [];
  const widths = [x.shape[1], ...layers.map((l) => l.units)];
  try {
    for (let l = 0; l < layers.length; l++) {
      const acts = layers[l].edgeActivations(inputs[l]);  // [n, nIn, nOut]
      const [n, nIn, nOut] = acts.shape;
      const actValues = await acts.data();
      acts.dispose();
      const hValues = await inputs[l].data();
      const stride = Math.max(1, Math.floor(n / maxSamples));
      const rows = Array.from({length: Math.floor(n / stride)}, (_, s) => s * stride);
      const mags = new Float64Array(nIn * nOut);
      for (const s of rows) for (let e = 0; e < nIn * nOut; e++) mags[e] += Math.abs(actValues[s * nIn * nOut + e]);
      const maxMag = Math.max(...mags);
      for (let i = 0; i < nIn; i++) {
        const xi = Float64Array.from(rows, (s) => column(hValues, n, nIn, i)[s]);
        for (let j = 0; j < nOut; j++) {
          if (mags[i * nOut + j] < zeroThreshold * maxMag) {
            edges.push({layer: l, input: i, output: j, name: 'zero', a: 0, b: 0, c: 0, d: 0, r2: 1, text: '0'});
            continue;
          }
          const y = Float64Array.from(rows, (s) => actValues[(s * nIn + i) * nOut + j]);
          let best: EdgeFit | undefined;
          let bestScore = Infinity;
          for (const f of library) {
            const fit = fitAffine(f, xi, y);
            if (!Number.isFinite(fit.r2)) continue;
            const score = weightSimple * f.complexity + (1 - weightSimple) * Math.log2(1 + 1e-5 - fit.r2);
            if (score < bestScore) {
              bestScore = score;
              best = {layer: l, input: i, output: j, name: f.name, ...fit,
                      text: edgeText(f.name, fit.a, fit.b, fit.c, fit.d, 'x', library)};
            }
          }
          edges.push(best!);
        }
      }
    }
  } finally {
    tf.dispose(inputs);
  }
  return {widths, edges};
}

/** Evaluates the symbolic network at one input (float64). */
export function evaluateSymbolic(net: SymbolicNetwork, input: ArrayLike<number>,
                                 library: SymbolicFunction[] = SYMBOLIC_LIBRARY): Float64Array {
  let h = Float64Array.from(input);
  for (let l = 0; l < net.widths.length - 1; l++) {
    const next = new Float64Array(net.widths[l + 1]);
    for (const e of net.edges) {
      if (e.layer !== l || e.name === 'zero') continue;
      const f = library.find((g) => g.name === e.name)!;
      next[e.output] += e.a * f.fn(e.b * h[e.input] + e.c) + e.d;
    }
    h = next;
  }
  return h;
}

/** RMSE of the symbolic network's first output against `target(i)` on `n` rows of `xs` (`[n, nIn]`). */
export function symbolicRMSE(net: SymbolicNetwork, xs: ArrayLike<number>, n: number, target: (i: number) => number,
                             library: SymbolicFunction[] = SYMBOLIC_LIBRARY): number {
  const nIn = net.widths[0];
  let s = 0;
  for (let i = 0; i < n; i++) {
    const y = evaluateSymbolic(net, Array.from({length: nIn}, (_, k) => xs[i * nIn + k]), library)[0];
    s += (y - target(i)) ** 2;
  }
  return Math.sqrt(s / n);
}

interface Expression {
  terms: Array<{coef: number; body: string}>;
  constant: number;
}

const ODD = new Set(['x^3', '1/x', 'sin', 'tanh']);
const EVEN = new Set(['x^2', 'x^4', 'abs', 'gaussian']);

function printExpression(e: Expression): string {
  const parts = e.terms.filter((t) => t.coef !== 0).map((t, k) => {
    const sign = t.coef < 0 ? '- ' : k === 0 ? '' : '+ ';
    return `${sign}${num(Math.abs(t.coef))}*${t.body}`;
  });
  if (Math.abs(e.constant) > 1e-12 || parts.length === 0) {
    parts.push(`${e.constant < 0 ? '- ' : parts.length ? '+ ' : ''}${num(Math.abs(e.constant))}`);
  }
  return parts.join(' ');
}

/**
 * The network as one formula per output, in the given input names. Affine constants are folded where the
 * algebra allows: each edge's inner scale `b` is distributed over its input node's terms, `b < 0` is flipped
 * through odd/even symmetry, and `exp`'s inner constant moves into its amplitude.
 */
export function formatFormula(net: SymbolicNetwork, inputNames: string[],
                              library: SymbolicFunction[] = SYMBOLIC_LIBRARY): string[] {
  let exprs: Expression[] = inputNames.slice(0, net.widths[0]).map((name) => ({terms: [{coef: 1, body: name}],
                                                                                constant: 0}));
  for (let l = 0; l < net.widths.length - 1; l++) {
    exprs = Array.from({length: net.widths[l + 1]}, (_, j) => {
      const out: Expression = {terms: [], constant: 0};
      for (const e of net.edges) {
        if (e.layer !== l || e.output !== j || e.name === 'zero') continue;
        const input = exprs[e.input];
        out.constant += e.d;
        if (e.name === 'x') {
          out.terms.push(...input.terms.map((t) => ({coef: e.a * t.coef, body: t.body})));
          out.constant += e.a * input.constant;
          continue;
        }
        let {a, b, c} = e;
        if (b < 0 && ODD.has(e.name)) [a, b, c] = [-a, -b, -c];
        if (b < 0 && EVEN.has(e.name)) [b, c] = [-b, -c];
        const inner: Expression = {terms: input.terms.map((t) => ({coef: b * t.coef, body: t.body})),
                                   constant: b * input.constant + c};
        if (e.name === 'exp') {
          a *= Math.exp(inner.constant);
          inner.constant = 0;
        }
        const f = library.find((g) => g.name === e.name)!;
        out.terms.push({coef: a, body: f.print(printExpression(inner))});
      }
      return out;
    });
  }
  return exprs.map(printExpression);
}
