/**
 * Node pruning (pykan's `prune_node`): a hidden node is kept when its largest incoming and largest outgoing edge
 * score both exceed the threshold. Returns a smaller model holding the kept nodes' weights unchanged, so the
 * function on the kept paths is the same.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertKnownKeys} from '@tfjs-ext/core';
import {kan, kanLayers, kanWidths} from '../layers/kan';
import {edgeScores} from '../regularization/regularization';

/** Edge scores per layer on `x` as host arrays `[nIn, nOut]` (see {@link edgeScores}). */
export async function edgeImportance(model: tf.LayersModel, x: tf.Tensor2D): Promise<Float64Array[]> {
  const scores = edgeScores(model, x);
  const out = await Promise.all(scores.map(async (s) => Float64Array.from(await s.data() as Float32Array)));
  tf.dispose(scores);
  return out;
}

/** Selects rows/columns of a row-major tensor value along `axis` (host side). */
function select(values: Float32Array, shape: number[], axis: number, keep: number[]): Float32Array {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(outer * keep.length * inner);
  let o = 0;
  for (let p = 0; p < outer; p++) {
    for (const k of keep) {
      const start = (p * shape[axis] + k) * inner;
      out.set(values.subarray(start, start + inner), o);
      o += inner;
    }
  }
  return out;
}

export interface PruneOptions {
  /** Score below which a node's edges count as unused (default 1e-2, as pykan). */
  threshold?: number;
}

/**
 * Removes hidden nodes whose incoming and outgoing edge scores (on the samples `x`) are below `threshold`.
 *
 * @example
 * ```ts
 * const small = await prune(model, xTrain, {threshold: 1e-2});
 * console.log(kanWidths(small));  // e.g. [2, 1, 1]
 * ```
 */
export async function prune(model: tf.LayersModel, x: tf.Tensor2D, options: PruneOptions = {}):
    Promise<tf.Sequential> {
  assertKnownKeys('prune', options, ['threshold']);
  const {threshold = 1e-2} = options;
  assertArg(threshold >= 0, 'prune', () => `threshold must be >= 0, got ${threshold}`);
  const layers = kanLayers(model);
  const widths = kanWidths(model);
  const scores = await edgeImportance(model, x);
  const keep: number[][] = widths.map((w) => Array.from({length: w}, (_, i) => i));
  for (let l = 1; l < widths.length - 1; l++) {
    const inScores = scores[l - 1], outScores = scores[l];
    const nPrev = widths[l - 1], n = widths[l], nNext = widths[l + 1];
    const score = (i: number) => {
      let inMax = 0, outMax = 0;
      for (let p = 0; p < nPrev; p++) inMax = Math.max(inMax, inScores[p * n + i]);
      for (let q = 0; q < nNext; q++) outMax = Math.max(outMax, outScores[i * nNext + q]);
      return Math.min(inMax, outMax);
    };
    const kept = keep[l].filter((i) => score(i) > threshold);
    // keep at least the strongest node so the network stays connected
    keep[l] = kept.length > 0 ? kept : [keep[l].reduce((best, i) => (score(i) > score(best) ? i : best), 0)];
  }
  const first = layers[0];
  const small = kan(keep.map((k) => k.length), {
    gridSize: first.gridSize, splineOrder: first.splineOrder, gridRange: first.gridRange, scaleNoise: first.scaleNoise,
    scaleBase: first.scaleBase, scaleSpline: first.scaleSpline, gridEps: first.gridEps, gridMargin: first.gridMargin,
    seed: 0,
  });
  const smallLayers = kanLayers(small);
  for (let l = 0; l < layers.length; l++) {
    const src = layers[l], dst = smallLayers[l];
    const inKeep = keep[l], outKeep = keep[l + 1];
    const [nIn, nB, nOut] = src.splineCoef.shape as number[];
    const nKnots = src.grid.shape[1] as number;
    const read = async (v: tf.LayerVariable) => await v.read().data() as Float32Array;
    const pick2 = (v: Float32Array, rows: number, cols: number) =>
        select(select(v, [rows, cols], 0, inKeep), [inKeep.length, cols], 1, outKeep);
    const base = pick2(await read(src.baseWeight), nIn, nOut);
    const scale = pick2(await read(src.splineScale), nIn, nOut);
    const coef = select(select(await read(src.splineCoef), [nIn, nB, nOut], 0, inKeep), [inKeep.length, nB, nOut], 2,
                        outKeep);
    const grid = select(await read(src.grid), [nIn, nKnots], 0, inKeep);
    tf.tidy(() => {
      dst.baseWeight.write(tf.tensor(base, [inKeep.length, outKeep.length]));
      dst.splineScale.write(tf.tensor(scale, [inKeep.length, outKeep.length]));
      dst.splineCoef.write(tf.tensor(coef, [inKeep.length, nB, outKeep.length]));
      dst.grid.write(tf.tensor(grid, [inKeep.length, nKnots]));
    });
  }
  return small;
}
