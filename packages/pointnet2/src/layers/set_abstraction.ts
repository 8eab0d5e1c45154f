/**
 * PointNet++ set abstraction layers: sample centres (FPS), group neighbourhoods (ball query), run a shared MLP on
 * each neighbour's relative position (divided by the radius, PointNeXt) and features, max-pool each group.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertKnownKeys, assertPositiveInt, KERAS_LAYER_KEYS} from '@tfjs-ext/core';
import {ballQuery} from '../ball_query/op';
import {farthestPointSample} from '../fps/op';
import {groupPoints} from '../group_points/op';
import {groupMax} from './fused';
import {SharedMLP} from './shared_mlp';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Kwargs = {training?: boolean};

export interface SetAbstractionArgs extends LayerArgs {
  /** Centres sampled by FPS (clamped to the input's point count). Ignored with `groupAll`. */
  npoint?: number;
  /** Ball radius. Ignored with `groupAll`. */
  radius?: number;
  /** Neighbours per ball. Ignored with `groupAll`. */
  nsample?: number;
  /** Widths of the shared MLP. */
  mlp: number[];
  /** One group of all points around the origin (the last, global layer of a classifier). */
  groupAll?: boolean;
  /** Divide the relative coordinates by the radius (default true). */
  normalizeXyz?: boolean;
  /** Batch-norm momentum of the running statistics (default 0.9). */
  bnMomentum?: number;
}

export interface SetAbstractionMSGArgs extends LayerArgs {
  npoint: number;
  /** One radius per scale. */
  radii: number[];
  /** Neighbours per ball, one per scale. */
  nsamples: number[];
  /** Shared MLP widths, one list per scale; the outputs are concatenated. */
  mlps: number[][];
  normalizeXyz?: boolean;
  bnMomentum?: number;
}

const SA_KEYS = ['npoint', 'radius', 'nsample', 'mlp', 'groupAll', 'normalizeXyz', 'bnMomentum'];
const MSG_KEYS = ['npoint', 'radii', 'nsamples', 'mlps', 'normalizeXyz', 'bnMomentum'];

function checkWidths(op: string, name: string, widths: unknown): void {
  assertArg(Array.isArray(widths) && widths.length > 0, op, () => `${name} must be a non-empty array of widths`);
  (widths as unknown[]).forEach((w, i) => assertPositiveInt(w, op, `${name}[${i}]`));
}

function checkRadius(op: string, name: string, radius: unknown): void {
  assertArg(typeof radius === 'number' && Number.isFinite(radius) && radius > 0, op,
            () => `${name} must be a positive finite number, got ${radius}`);
}

/** `[xyz]` or `[xyz, features]` from a layer's inputs. */
function splitInputs(inputs: tf.Tensor | tf.Tensor[]): [tf.Tensor3D, tf.Tensor3D | null] {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  return [list[0] as tf.Tensor3D, (list[1] ?? null) as tf.Tensor3D | null];
}

function inputShapes(inputShape: tf.Shape | tf.Shape[]): tf.Shape[] {
  return Array.isArray(inputShape[0]) ? inputShape as tf.Shape[] : [inputShape as tf.Shape];
}

/**
 * Sampled centres and grouped neighbourhoods `[B, S, K, 3 (+ C)]`: relative xyz (divided by `radius` if
 * `normalize`), then the neighbours' features.
 */
function sampleAndGroup(xyz: tf.Tensor3D, features: tf.Tensor3D | null, centres: tf.Tensor3D, radius: number,
                        nsample: number, normalize: boolean): tf.Tensor[] {
  const idx = ballQuery(xyz, centres, radius, nsample);  // [B, S, K]
  let rel: tf.Tensor = tf.sub(groupPoints(xyz, idx), tf.expandDims(centres, 2));  // [B, S, K, 3]
  if (normalize) rel = tf.div(rel, radius);
  return features === null ? [rel] : [rel, groupPoints(features, idx)];  // channels concatenated by the MLP
}

/** FPS centres `[B, min(npoint, N), 3]`. */
function sampleCentres(xyz: tf.Tensor3D, npoint: number): tf.Tensor3D {
  const s = Math.min(npoint, xyz.shape[1]);
  const fps = farthestPointSample(xyz, s);  // [B, S]
  return tf.squeeze(groupPoints(xyz, tf.expandDims(fps, 2) as tf.Tensor3D), [2]) as tf.Tensor3D;
}

/**
 * Set abstraction (single scale). Inputs `[xyz [B, N, 3]]` or `[xyz, features [B, N, C]]`; outputs
 * `[newXyz [B, S, 3], newFeatures [B, S, mlp.at(-1)]]` with `S = min(npoint, N)` (1 with `groupAll`).
 *
 * @example
 * ```ts
 * const sa = new SetAbstraction({npoint: 512, radius: 0.2, nsample: 32, mlp: [64, 64, 128]});
 * const [l1Xyz, l1Features] = sa.apply(xyz) as tf.Tensor[];  // [B, 512, 3], [B, 512, 128]
 * ```
 */
export class SetAbstraction extends tf.layers.Layer {
  static className = 'TfjsExtSetAbstraction';
  readonly npoint: number;
  readonly radius: number;
  readonly nsample: number;
  readonly mlp: number[];
  readonly groupAll: boolean;
  readonly normalizeXyz: boolean;
  readonly bnMomentum: number;
  private shared: SharedMLP | null = null;

  constructor(args: SetAbstractionArgs) {
    const op = 'SetAbstraction';
    assertKnownKeys(op, args, [...SA_KEYS, ...KERAS_LAYER_KEYS]);
    super(args);
    checkWidths(op, 'mlp', args.mlp);
    this.groupAll = args.groupAll ?? false;
    if (!this.groupAll) {
      assertPositiveInt(args.npoint, op, 'npoint');
      checkRadius(op, 'radius', args.radius);
      assertPositiveInt(args.nsample, op, 'nsample');
    }
    this.npoint = args.npoint ?? 1;
    this.radius = args.radius ?? 1;
    this.nsample = args.nsample ?? 1;
    this.mlp = [...args.mlp];
    this.normalizeXyz = args.normalizeXyz ?? true;
    this.bnMomentum = args.bnMomentum ?? 0.9;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shapes = inputShapes(inputShape);
    const channels = 3 + (shapes.length > 1 ? shapes[1][2] as number : 0);
    this.shared = new SharedMLP((name, shape, init, trainable) =>
        this.addWeight(name, shape, 'float32', init, undefined, trainable), 'mlp', channels, this.mlp);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape[] {
    const [xyzShape] = inputShapes(inputShape);
    const n = xyzShape[1];
    const s = this.groupAll ? 1 : n == null ? null : Math.min(this.npoint, n);
    return [[xyzShape[0], s, 3], [xyzShape[0], s, this.mlp[this.mlp.length - 1]]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor[] {
    return tf.tidy(() => {
      const [xyz, features] = splitInputs(inputs);
      const training = kwargs.training ?? false;
      let centres: tf.Tensor3D, grouped: tf.Tensor[];
      if (this.groupAll) {
        centres = tf.zeros([xyz.shape[0], 1, 3]);
        grouped = (features === null ? [xyz] : [xyz, features]).map((t) => tf.expandDims(t, 1));  // [B, 1, N, *]
      } else {
        centres = sampleCentres(xyz, this.npoint);
        grouped = sampleAndGroup(xyz, features, centres, this.radius, this.nsample, this.normalizeXyz);
      }
      const h = (this.shared as SharedMLP).apply(grouped, training, this.bnMomentum);  // [B, S, K, C']
      return [centres, groupMax(h as tf.Tensor4D)];
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), npoint: this.npoint, radius: this.radius, nsample: this.nsample, mlp: this.mlp,
            groupAll: this.groupAll, normalizeXyz: this.normalizeXyz, bnMomentum: this.bnMomentum};
  }
}

/**
 * Multi-scale set abstraction: one FPS, then per scale a ball query of its radius, a shared MLP and a max-pool;
 * the scales' features are concatenated. Inputs and outputs as {@link SetAbstraction}.
 *
 * @example
 * ```ts
 * const sa = new SetAbstractionMSG({npoint: 512, radii: [0.1, 0.2, 0.4], nsamples: [16, 32, 128],
 *                                   mlps: [[32, 32, 64], [64, 64, 128], [64, 96, 128]]});
 * const [l1Xyz, l1Features] = sa.apply(xyz) as tf.Tensor[];  // [B, 512, 3], [B, 512, 320]
 * ```
 */
export class SetAbstractionMSG extends tf.layers.Layer {
  static className = 'TfjsExtSetAbstractionMSG';
  readonly npoint: number;
  readonly radii: number[];
  readonly nsamples: number[];
  readonly mlps: number[][];
  readonly normalizeXyz: boolean;
  readonly bnMomentum: number;
  private shared: SharedMLP[] = [];

  constructor(args: SetAbstractionMSGArgs) {
    const op = 'SetAbstractionMSG';
    assertKnownKeys(op, args, [...MSG_KEYS, ...KERAS_LAYER_KEYS]);
    super(args);
    assertPositiveInt(args.npoint, op, 'npoint');
    assertArg(Array.isArray(args.radii) && args.radii.length > 0, op, () => 'radii must be a non-empty array');
    args.radii.forEach((r, i) => checkRadius(op, `radii[${i}]`, r));
    assertArg(Array.isArray(args.nsamples) && args.nsamples.length === args.radii.length, op,
              () => `nsamples must have one entry per radius (${args.radii.length})`);
    args.nsamples.forEach((k, i) => assertPositiveInt(k, op, `nsamples[${i}]`));
    assertArg(Array.isArray(args.mlps) && args.mlps.length === args.radii.length, op,
              () => `mlps must have one list of widths per radius (${args.radii.length})`);
    args.mlps.forEach((m, i) => checkWidths(op, `mlps[${i}]`, m));
    this.npoint = args.npoint;
    this.radii = [...args.radii];
    this.nsamples = [...args.nsamples];
    this.mlps = args.mlps.map((m) => [...m]);
    this.normalizeXyz = args.normalizeXyz ?? true;
    this.bnMomentum = args.bnMomentum ?? 0.9;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shapes = inputShapes(inputShape);
    const channels = 3 + (shapes.length > 1 ? shapes[1][2] as number : 0);
    this.shared = this.mlps.map((widths, scale) => new SharedMLP((name, shape, init, trainable) =>
        this.addWeight(name, shape, 'float32', init, undefined, trainable), `scale${scale}_mlp`, channels, widths));
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape[] {
    const [xyzShape] = inputShapes(inputShape);
    const n = xyzShape[1];
    const s = n == null ? null : Math.min(this.npoint, n);
    const channels = this.mlps.reduce((acc, m) => acc + m[m.length - 1], 0);
    return [[xyzShape[0], s, 3], [xyzShape[0], s, channels]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor[] {
    return tf.tidy(() => {
      const [xyz, features] = splitInputs(inputs);
      const training = kwargs.training ?? false;
      const centres = sampleCentres(xyz, this.npoint);
      const perScale = this.radii.map((radius, i) => {
        const grouped = sampleAndGroup(xyz, features, centres, radius, this.nsamples[i], this.normalizeXyz);
        return groupMax(this.shared[i].apply(grouped, training, this.bnMomentum) as tf.Tensor4D);  // [B, S, C_i]
      });
      return [centres, tf.concat(perScale, 2)];
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), npoint: this.npoint, radii: this.radii, nsamples: this.nsamples, mlps: this.mlps,
            normalizeXyz: this.normalizeXyz, bnMomentum: this.bnMomentum};
  }
}

tf.serialization.registerClass(SetAbstraction);
tf.serialization.registerClass(SetAbstractionMSG);
