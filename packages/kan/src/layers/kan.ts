/**
 * `kan(widths)`: a KAN as a `tf.LayersModel` (a stack of {@link KANLinear}), plus model-level grid operations.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertKnownKeys, assertPositiveInt, KERAS_LAYER_KEYS} from '@tfjs-ext/core';
import {FeatureRanges, KAN_LINEAR_KEYS, KANLinear, KANLinearArgs} from './kan_linear';

export type KANOptions = Omit<KANLinearArgs, 'units' | 'inputShape' | 'batchInputShape' | 'name'>;

/**
 * Builds a KAN with layer widths `widths` (e.g. `[2, 5, 1]`: 2 inputs, 5 hidden nodes, 1 output).
 *
 * @example
 * ```ts
 * const model = kan([2, 5, 1], {gridSize: 5, seed: 0});
 * model.compile({optimizer: 'adam', loss: 'meanSquaredError'});
 * ```
 */
export function kan(widths: number[], options: KANOptions = {}): tf.Sequential {
  assertArg(Array.isArray(widths) && widths.length >= 2 && widths.every((w) => Number.isInteger(w) && w > 0), 'kan',
            () => `widths must be at least two positive integers [nIn, ..., nOut], got [${widths}]`);
  const excluded = ['units', 'inputShape', 'batchInputShape', 'name'];
  assertKnownKeys('kan', options, [...KAN_LINEAR_KEYS, ...KERAS_LAYER_KEYS].filter((k) => !excluded.includes(k)));
  const layers = widths.slice(1).map((units, l) => new KANLinear({
    ...options, units, seed: options.seed === undefined ? undefined : options.seed + l,
    ...(l === 0 ? {inputShape: [widths[0]]} : {}),
  }));
  return tf.sequential({layers});
}

/** The KANLinear layers of a model built by {@link kan} (or any model whose layers include them), in order. */
export function kanLayers(model: tf.LayersModel): KANLinear[] {
  return model.layers.filter((l): l is KANLinear => l instanceof KANLinear);
}

/** Inputs of every layer of a sequential KAN on `x`: `[x, h1, ..., h_{L-1}]` (caller disposes). */
export function layerInputs(model: tf.LayersModel, x: tf.Tensor2D): tf.Tensor2D[] {
  const layers = kanLayers(model);
  assertArg(layers.length === model.layers.length, 'layerInputs',
            () => 'model must be a stack of KANLinear layers (as built by kan())');
  const out: tf.Tensor2D[] = [tf.clone(x)];
  for (let l = 0; l < layers.length - 1; l++) out.push(layers[l].apply(out[l]) as tf.Tensor2D);
  return out;
}

export interface GridUpdateOptions {
  /**
   * Range of the grids of layers after the first: `'samples'` (default, pykan) spans the hidden activations on
   * the samples; `'edgeBounds'` widens it to the previous layer's {@link KANLinear.outputBounds}, so that inputs
   * inside the samples' box whose hidden values the samples never reach (e.g. the maximum of sin(pi x) + y^2 at
   * x = 0.5, |y| = 1) stay inside the grid instead of past its last knot.
   */
  hiddenRange?: 'samples' | 'edgeBounds';
}
const GRID_UPDATE_KEYS = ['hiddenRange'];

/** Grid ranges for layer `l` on its inputs: undefined (the samples') unless `edgeBounds` and l > 0. */
async function hiddenRanges(layers: KANLinear[], l: number, previousInput: tf.Tensor2D | null,
                            options: GridUpdateOptions): Promise<FeatureRanges | undefined> {
  if (l === 0 || previousInput === null || (options.hiddenRange ?? 'samples') === 'samples') return undefined;
  return layers[l - 1].outputBounds(previousInput);
}

/**
 * pykan's `update_grid_from_samples`: layer by layer, moves each grid to the layer's inputs on `x` and refits the
 * coefficients so the network's function on `x` is preserved (least squares).
 *
 * @example
 * ```ts
 * await updateGrid(model, xTrain);  // grids follow the data; predictions on xTrain unchanged (to lstsq accuracy)
 * ```
 */
export async function updateGrid(model: tf.LayersModel, x: tf.Tensor2D, options: GridUpdateOptions = {}):
    Promise<void> {
  assertKnownKeys('updateGrid', options, GRID_UPDATE_KEYS);
  const layers = kanLayers(model);
  let h = tf.clone(x);
  let previous: tf.Tensor2D | null = null;
  for (let l = 0; l < layers.length; l++) {
    const ranges = await hiddenRanges(layers, l, previous, options);
    await layers[l].updateGrid(h, ranges);
    previous?.dispose();
    previous = null;
    if (l < layers.length - 1) {
      const next = layers[l].apply(h) as tf.Tensor2D;
      previous = h;  // this layer's input, for the next layer's edge bounds (with the updated grid)
      h = next;
    }
  }
  previous?.dispose();
  h.dispose();
}

/** Widths `[nIn, ..., nOut]` of a KAN model. */
export function kanWidths(model: tf.LayersModel): number[] {
  const layers = kanLayers(model);
  return [layers[0].baseWeight.shape[0] as number, ...layers.map((l) => l.units)];
}

/**
 * Grid extension (pykan's `refine`): a new model with `newGridSize` intervals whose splines are least-squares fits
 * of this model's splines on the samples `x` (the network's function on `x` is preserved to fitting accuracy).
 * Base weights and spline scales are copied. The old model is left as it is.
 *
 * @example
 * ```ts
 * const fine = await refine(model, 10, xTrain);  // G: 5 -> 10
 * ```
 */
export async function refine(model: tf.LayersModel, newGridSize: number, x: tf.Tensor2D,
                             options: GridUpdateOptions = {}): Promise<tf.Sequential> {
  assertPositiveInt(newGridSize, 'refine', 'newGridSize');
  assertKnownKeys('refine', options, GRID_UPDATE_KEYS);
  const layers = kanLayers(model);
  const first = layers[0];
  const fine = kan(kanWidths(model), {
    gridSize: newGridSize, splineOrder: first.splineOrder, gridRange: first.gridRange, scaleNoise: first.scaleNoise,
    scaleBase: first.scaleBase, scaleSpline: first.scaleSpline, gridEps: first.gridEps, gridMargin: first.gridMargin,
    seed: 0,
  });
  const inputs = layerInputs(model, x);
  try {
    const fineLayers = kanLayers(fine);
    for (let l = 0; l < layers.length; l++) {
      const ranges = await hiddenRanges(layers, l, l > 0 ? inputs[l - 1] : null, options);
      const {coef, grid, nKnots} = await layers[l].regrid(inputs[l], newGridSize, ranges);
      const nIn = inputs[l].shape[1], nOut = layers[l].units;
      tf.tidy(() => {
        fineLayers[l].baseWeight.write(layers[l].baseWeight.read());
        fineLayers[l].splineScale.write(layers[l].splineScale.read());
        fineLayers[l].splineCoef.write(tf.tensor(coef, [nIn, newGridSize + first.splineOrder, nOut]));
        fineLayers[l].grid.write(tf.tensor(grid, [nIn, nKnots]));
      });
    }
  } finally {
    tf.dispose(inputs);
  }
  return fine;
}
