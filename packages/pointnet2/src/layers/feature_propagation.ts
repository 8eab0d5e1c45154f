/**
 * PointNet++ feature propagation: upsample the features of a sparse level to the points of a denser one by
 * inverse-distance interpolation over the 3 nearest neighbours, concatenate the dense level's skip features and
 * run a shared MLP.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertKnownKeys, assertPositiveInt, KERAS_LAYER_KEYS} from '@tfjs-ext/core';
import {threeNN} from '../three_nn/op';
import {interpolationWeights, threeInterpolate} from '../three_interpolate/op';
import {SharedMLP} from './shared_mlp';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

export interface FeaturePropagationArgs extends LayerArgs {
  /** Widths of the shared MLP. */
  mlp: number[];
  /** Batch-norm momentum of the running statistics (default 0.9). */
  bnMomentum?: number;
}

/**
 * Feature propagation. Inputs `[xyz1 [B, n, 3], xyz2 [B, m, 3], features2 [B, m, C2]]` or, with skip features,
 * `[xyz1, xyz2, features1 [B, n, C1], features2]`; output `[B, n, mlp.at(-1)]`. A sparse level of one point
 * (after a group-all layer) is broadcast to every dense point; otherwise it needs `m >= 3`.
 *
 * @example
 * ```ts
 * const fp = new FeaturePropagation({mlp: [256, 128]});
 * const up = fp.apply([l1Xyz, l2Xyz, l1Features, l2Features]) as tf.SymbolicTensor;  // [B, n1, 128]
 * ```
 */
export class FeaturePropagation extends tf.layers.Layer {
  static className = 'TfjsExtFeaturePropagation';
  readonly mlp: number[];
  readonly bnMomentum: number;
  private shared: SharedMLP | null = null;

  constructor(args: FeaturePropagationArgs) {
    const op = 'FeaturePropagation';
    assertKnownKeys(op, args, ['mlp', 'bnMomentum', ...KERAS_LAYER_KEYS]);
    super(args);
    assertArg(Array.isArray(args.mlp) && args.mlp.length > 0, op, () => 'mlp must be a non-empty array of widths');
    args.mlp.forEach((w, i) => assertPositiveInt(w, op, `mlp[${i}]`));
    this.mlp = [...args.mlp];
    this.bnMomentum = args.bnMomentum ?? 0.9;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shapes = inputShape as tf.Shape[];
    assertArg(Array.isArray(shapes[0]) && (shapes.length === 3 || shapes.length === 4), 'FeaturePropagation',
              () => 'inputs must be [xyz1, xyz2, features2] or [xyz1, xyz2, features1, features2]');
    const channels = shapes.slice(2).reduce((acc, s) => acc + (s[2] as number), 0);
    this.shared = new SharedMLP((name, shape, init, trainable) =>
        this.addWeight(name, shape, 'float32', init, undefined, trainable), 'mlp', channels, this.mlp);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shapes = inputShape as tf.Shape[];
    return [shapes[0][0], shapes[0][1], this.mlp[this.mlp.length - 1]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: {training?: boolean}): tf.Tensor {
    return tf.tidy(() => {
      const list = inputs as tf.Tensor3D[];
      const [xyz1, xyz2] = list;
      const features1 = list.length === 4 ? list[2] : null;
      const features2 = list[list.length - 1];
      const [batch, n] = xyz1.shape;
      let up: tf.Tensor;  // [B, n, C2]
      if (xyz2.shape[1] === 1) {
        up = tf.broadcastTo(features2, [batch, n, features2.shape[2]]);
      } else {
        const {dist2, idx} = threeNN(xyz1, xyz2);
        up = threeInterpolate(features2, idx, interpolationWeights(dist2));
      }
      const parts = features1 === null ? [up] : [features1, up];
      return (this.shared as SharedMLP).apply(parts, kwargs.training ?? false, this.bnMomentum);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), mlp: this.mlp, bnMomentum: this.bnMomentum};
  }
}

tf.serialization.registerClass(FeaturePropagation);
