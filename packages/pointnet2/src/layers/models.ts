/**
 * PointNet++ models as tfjs LayersModels (any point count: the input is `[batch, null, 3]`). Defaults are the
 * paper's / yanx27's configurations; options scale them down (narrower MLPs, fewer centres) for CPU training.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertKnownKeys, assertPositiveInt} from '@tfjs-ext/core';
import {FeaturePropagation} from './feature_propagation';
import {SetAbstraction, SetAbstractionMSG} from './set_abstraction';

export interface PointNet2Options {
  /** Multiplies every MLP width (rounded, at least 1; default 1). */
  width?: number;
  /** Centres of the two sampling levels (default [512, 128]). */
  npoints?: [number, number];
  /** Neighbours per ball of the two levels (SSG and part segmentation; default [32, 64]). */
  nsamples?: [number, number];
  /** Ball radii of the two levels (SSG and part segmentation; default [0.2, 0.4]). */
  radii?: [number, number];
  /** Dropout of the head (default 0.4 for classifiers, 0.5 for part segmentation). */
  dropout?: number;
  /** Fixed point count of the input (default null: any). */
  numPoints?: number | null;
}

const OPTION_KEYS = ['width', 'npoints', 'nsamples', 'radii', 'dropout', 'numPoints'];

function resolve(op: string, numOut: number, what: string, options: PointNet2Options) {
  assertPositiveInt(numOut, op, what);
  assertKnownKeys(op, options, OPTION_KEYS);
  const width = options.width ?? 1;
  assertArg(width > 0, op, () => `width must be positive, got ${width}`);
  const w = (list: number[]) => list.map((c) => Math.max(1, Math.round(c * width)));
  const pair = (name: string, v: unknown) =>
      assertArg(v === undefined || (Array.isArray(v) && v.length === 2), op, () => `${name} must be a pair [level1, level2]`);
  pair('npoints', options.npoints);
  pair('nsamples', options.nsamples);
  pair('radii', options.radii);
  return {w, npoints: options.npoints ?? [512, 128], nsamples: options.nsamples ?? [32, 64],
          radii: options.radii ?? [0.2, 0.4], numPoints: options.numPoints ?? null};
}

/** Head: dense (no bias) + BN + ReLU + dropout per width, then logits. */
function head(x: tf.SymbolicTensor, widths: number[], dropout: number, numOut: number): tf.SymbolicTensor {
  let h = x;
  for (const units of widths) {
    h = tf.layers.dense({units, useBias: false}).apply(h) as tf.SymbolicTensor;
    h = tf.layers.batchNormalization({momentum: 0.9}).apply(h) as tf.SymbolicTensor;
    h = tf.layers.activation({activation: 'relu'}).apply(h) as tf.SymbolicTensor;
    if (dropout > 0) h = tf.layers.dropout({rate: dropout}).apply(h) as tf.SymbolicTensor;
  }
  return tf.layers.dense({units: numOut}).apply(h) as tf.SymbolicTensor;
}

/**
 * PointNet++ SSG classifier: SA(512, 0.2, 32, [64, 64, 128]) -> SA(128, 0.4, 64, [128, 128, 256]) ->
 * group-all SA([256, 512, 1024]) -> FC 512 -> FC 256 (BN, ReLU, dropout) -> logits. Input `[B, N, 3]` xyz, output
 * `[B, numClasses]` logits.
 *
 * @example
 * ```ts
 * const model = pointnet2ClsSSG(10);
 * const logits = model.predict(tf.randomUniform([2, 1024, 3])) as tf.Tensor;  // [2, 10]
 * ```
 */
export function pointnet2ClsSSG(numClasses: number, options: PointNet2Options = {}): tf.LayersModel {
  const {w, npoints, nsamples, radii, numPoints} = resolve('pointnet2ClsSSG', numClasses, 'numClasses', options);
  const xyz = tf.input({shape: [numPoints, 3], name: 'xyz'});
  const [l1Xyz, l1F] = new SetAbstraction({npoint: npoints[0], radius: radii[0], nsample: nsamples[0],
                                           mlp: w([64, 64, 128])}).apply(xyz) as tf.SymbolicTensor[];
  const [l2Xyz, l2F] = new SetAbstraction({npoint: npoints[1], radius: radii[1], nsample: nsamples[1],
                                           mlp: w([128, 128, 256])}).apply([l1Xyz, l1F]) as tf.SymbolicTensor[];
  const [, l3F] = new SetAbstraction({groupAll: true, mlp: w([256, 512, 1024])}).apply([l2Xyz, l2F]) as tf.SymbolicTensor[];
  const flat = tf.layers.flatten().apply(l3F) as tf.SymbolicTensor;  // [B, 1024]
  const logits = head(flat, w([512, 256]), options.dropout ?? 0.4, numClasses);
  return tf.model({inputs: xyz, outputs: logits, name: 'pointnet2_cls_ssg'});
}

/**
 * PointNet++ MSG classifier: MSG-SA(512, [0.1, 0.2, 0.4], [16, 32, 128], [[32, 32, 64], [64, 64, 128],
 * [64, 96, 128]]) -> MSG-SA(128, [0.2, 0.4, 0.8], [32, 64, 128], [[64, 64, 128], [128, 128, 256],
 * [128, 128, 256]]) -> group-all SA([256, 512, 1024]) -> FC 512 -> FC 256 -> logits. Options: `width`,
 * `npoints`, `dropout`, `numPoints` (the radii and neighbour counts are the paper's).
 *
 * @example
 * ```ts
 * const model = pointnet2ClsMSG(40);
 * ```
 */
export function pointnet2ClsMSG(numClasses: number, options: PointNet2Options = {}): tf.LayersModel {
  const {w, npoints, numPoints} = resolve('pointnet2ClsMSG', numClasses, 'numClasses', options);
  const xyz = tf.input({shape: [numPoints, 3], name: 'xyz'});
  const [l1Xyz, l1F] = new SetAbstractionMSG({npoint: npoints[0], radii: [0.1, 0.2, 0.4], nsamples: [16, 32, 128],
    mlps: [w([32, 32, 64]), w([64, 64, 128]), w([64, 96, 128])]}).apply(xyz) as tf.SymbolicTensor[];
  const [l2Xyz, l2F] = new SetAbstractionMSG({npoint: npoints[1], radii: [0.2, 0.4, 0.8], nsamples: [32, 64, 128],
    mlps: [w([64, 64, 128]), w([128, 128, 256]), w([128, 128, 256])]}).apply([l1Xyz, l1F]) as tf.SymbolicTensor[];
  const [, l3F] = new SetAbstraction({groupAll: true, mlp: w([256, 512, 1024])}).apply([l2Xyz, l2F]) as tf.SymbolicTensor[];
  const flat = tf.layers.flatten().apply(l3F) as tf.SymbolicTensor;
  const logits = head(flat, w([512, 256]), options.dropout ?? 0.4, numClasses);
  return tf.model({inputs: xyz, outputs: logits, name: 'pointnet2_cls_msg'});
}

/**
 * PointNet++ SSG part segmentation (yanx27's, without the category one-hot): the SSG encoder, then
 * FP([256, 256]) -> FP([256, 128]) -> FP([128, 128, 128]) with the input xyz as skip features -> per-point
 * dense 128 (BN, ReLU, dropout) -> logits. Input `[B, N, 3]`, output `[B, N, numParts]` logits.
 *
 * @example
 * ```ts
 * const model = pointnet2PartSeg(6, {width: 0.25, npoints: [128, 32]});
 * const logits = model.predict(tf.randomUniform([2, 512, 3])) as tf.Tensor;  // [2, 512, 6]
 * ```
 */
export function pointnet2PartSeg(numParts: number, options: PointNet2Options = {}): tf.LayersModel {
  const {w, npoints, nsamples, radii, numPoints} = resolve('pointnet2PartSeg', numParts, 'numParts', options);
  const xyz = tf.input({shape: [numPoints, 3], name: 'xyz'});
  const [l1Xyz, l1F] = new SetAbstraction({npoint: npoints[0], radius: radii[0], nsample: nsamples[0],
                                           mlp: w([64, 64, 128])}).apply(xyz) as tf.SymbolicTensor[];
  const [l2Xyz, l2F] = new SetAbstraction({npoint: npoints[1], radius: radii[1], nsample: nsamples[1],
                                           mlp: w([128, 128, 256])}).apply([l1Xyz, l1F]) as tf.SymbolicTensor[];
  const [l3Xyz, l3F] = new SetAbstraction({groupAll: true, mlp: w([256, 512, 1024])})
      .apply([l2Xyz, l2F]) as tf.SymbolicTensor[];
  const u2 = new FeaturePropagation({mlp: w([256, 256])}).apply([l2Xyz, l3Xyz, l2F, l3F]) as tf.SymbolicTensor;
  const u1 = new FeaturePropagation({mlp: w([256, 128])}).apply([l1Xyz, l2Xyz, l1F, u2]) as tf.SymbolicTensor;
  const u0 = new FeaturePropagation({mlp: w([128, 128, 128])}).apply([xyz, l1Xyz, xyz, u1]) as tf.SymbolicTensor;
  const logits = head(u0, w([128]), options.dropout ?? 0.5, numParts);  // [B, N, numParts]
  return tf.model({inputs: xyz, outputs: logits, name: 'pointnet2_part_seg'});
}
