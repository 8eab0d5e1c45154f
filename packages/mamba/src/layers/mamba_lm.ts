/**
 * A Mamba-2 language model as a `tf.LayersModel`: token embedding, N pre-norm residual blocks
 * `x + Mamba2(RMSNorm(x))`, a final RMSNorm and an (untied) output head. No position embeddings: the blocks are
 * causal and recurrent. Recurrent decoding over the blocks' states lives in ./decode.ts.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertKnownKeys, assertPositiveInt, KERAS_LAYER_KEYS} from '@tfjs-ext/core';
import {Mamba2} from './mamba2';
import {rmsNorm} from './mamba2_math';

type Shape = Array<number | null>;
type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/**
 * RMSNorm over the last axis, `x / sqrt(mean(x^2) + 1e-5) * weight`, weight initialised to ones.
 *
 * @example
 * ```ts
 * const y = new RMSNorm().apply(tf.randomNormal([2, 5, 64])) as tf.Tensor;  // [2, 5, 64]
 * ```
 */
export class RMSNorm extends tf.layers.Layer {
  static className = 'TfjsExtRMSNorm';
  private weight: tf.LayerVariable | null = null;

  constructor(args: LayerArgs = {}) {
    assertKnownKeys('RMSNorm', args, KERAS_LAYER_KEYS, 'config key');
    super(args);
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const features = shape[shape.length - 1];
    assertArg(features !== null, 'RMSNorm', () => 'the last input dimension must be known');
    this.weight = this.addWeight('weight', [features!], 'float32', tf.initializers.ones());
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
  }

  /** `x [..., features]` normalised (same shape). */
  normalize(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => rmsNorm(x, this.weight!.read()));
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.normalize(Array.isArray(inputs) ? inputs[0] : inputs);
  }
}
tf.serialization.registerClass(RMSNorm);

export interface OneHotEmbeddingArgs extends LayerArgs {
  vocabSize: number;
  dModel: number;
}

/**
 * Token ids `[batch, seq]` (int32) to vectors `[batch, seq, dModel]` as a one-hot matmul: the gradient of
 * `gather` needs `UnsortedSegmentSum`, which the wasm backend lacks, and small (character) vocabularies make the
 * matmul cheap.
 *
 * @example
 * ```ts
 * const x = new OneHotEmbedding({vocabSize: 96, dModel: 64}).apply(tf.tensor2d([[1, 2]], undefined, 'int32'));
 * ```
 */
export class OneHotEmbedding extends tf.layers.Layer {
  static className = 'TfjsExtOneHotEmbedding';
  readonly vocabSize: number;
  readonly dModel: number;
  private table: tf.LayerVariable | null = null;

  constructor(args: OneHotEmbeddingArgs) {
    assertKnownKeys('OneHotEmbedding', args, ['vocabSize', 'dModel', ...KERAS_LAYER_KEYS], 'config key');
    super(args);
    assertPositiveInt(args.vocabSize, 'OneHotEmbedding', 'vocabSize');
    assertPositiveInt(args.dModel, 'OneHotEmbedding', 'dModel');
    this.vocabSize = args.vocabSize;
    this.dModel = args.dModel;
  }

  override build(): void {
    this.table = this.addWeight('embeddings', [this.vocabSize, this.dModel], 'float32',
                                tf.initializers.randomNormal({mean: 0, stddev: 0.02}));
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return [...(inputShape as Shape), this.dModel];
  }

  /** `ids [batch, seq]` int32 to `[batch, seq, dModel]`. */
  embed(ids: tf.Tensor): tf.Tensor {
    assertArg(ids.rank === 2, 'OneHotEmbedding', () => `ids must have rank 2 [batch, seq], got shape [${ids.shape}]`);
    return tf.tidy(() => {
      // Cast from the int32 one-hot: wasm's float32 oneHot writes int32 bit patterns (TFJS-TRAPS.md).
      const oneHot = tf.cast(tf.oneHot(tf.reshape(tf.cast(ids, 'int32'), [-1]), this.vocabSize), 'float32');
      const flat = tf.matMul(oneHot as tf.Tensor2D, this.table!.read() as tf.Tensor2D);  // [batch * seq, dModel]
      return tf.reshape(flat, [ids.shape[0], ids.shape[1]!, this.dModel]);
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.embed(Array.isArray(inputs) ? inputs[0] : inputs);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), vocabSize: this.vocabSize, dModel: this.dModel};
  }
}
tf.serialization.registerClass(OneHotEmbedding);

export interface MambaLMConfig {
  vocabSize: number;
  dModel: number;
  /** Residual Mamba2 blocks. */
  numLayers: number;
  /** Mamba2 settings of every block (defaults: Mamba2's). */
  dState?: number;
  headDim?: number;
  expand?: number;
  dConv?: number;
  nGroups?: number;
  chunkSize?: number;
  /** Seed of the Mamba2 blocks' initialisation (block i uses seed + i). */
  seed?: number;
  name?: string;
}
const MAMBA_LM_KEYS = ['vocabSize', 'dModel', 'numLayers', 'dState', 'headDim', 'expand', 'dConv', 'nGroups',
  'chunkSize', 'seed', 'name'];

/**
 * Builds a Mamba-2 LM from token ids `[batch, seq]` (int32) to logits `[batch, seq, vocabSize]`. It saves and
 * loads with `model.save` / `tf.loadLayersModel` (the layers register themselves when this module is imported).
 *
 * @example
 * ```ts
 * const model = mambaLM({vocabSize: 96, dModel: 64, numLayers: 5, dState: 64, headDim: 32});
 * const logits = model.predict(tf.tensor2d([[1, 2, 3]], undefined, 'int32')) as tf.Tensor3D;  // [1, 3, 96]
 * ```
 */
export function mambaLM(config: MambaLMConfig): tf.LayersModel {
  assertKnownKeys('mambaLM', config, MAMBA_LM_KEYS, 'config key');
  const {vocabSize, dModel, numLayers} = config;
  assertPositiveInt(vocabSize, 'mambaLM', 'vocabSize');
  assertPositiveInt(dModel, 'mambaLM', 'dModel');
  assertPositiveInt(numLayers, 'mambaLM', 'numLayers');
  const name = config.name ?? 'mamba_lm';
  const blockArgs = Object.fromEntries(
      (['dState', 'headDim', 'expand', 'dConv', 'nGroups', 'chunkSize'] as const)
          .filter((k) => config[k] !== undefined).map((k) => [k, config[k]]));
  const tokens = tf.input({shape: [null], dtype: 'int32', name: `${name}_tokens`});
  let x = new OneHotEmbedding({vocabSize, dModel, name: `${name}_embedding`}).apply(tokens) as tf.SymbolicTensor;
  for (let i = 0; i < numLayers; i++) {
    const normed = new RMSNorm({name: `${name}_block_${i}_norm`}).apply(x) as tf.SymbolicTensor;
    const mixed = new Mamba2({...blockArgs, ...(config.seed === undefined ? {} : {seed: config.seed + i}),
                              name: `${name}_block_${i}_mamba`}).apply(normed) as tf.SymbolicTensor;
    x = tf.layers.add({name: `${name}_block_${i}_residual`}).apply([x, mixed]) as tf.SymbolicTensor;
  }
  x = new RMSNorm({name: `${name}_final_norm`}).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({units: vocabSize, name: `${name}_head`}).apply(x) as tf.SymbolicTensor;
  return tf.model({inputs: tokens, outputs: logits, name});
}

/** The layers of a model built by {@link mambaLM}, in order. */
export interface MambaLMParts {
  embedding: OneHotEmbedding;
  /** Block i: `x + mambas[i](norms[i](x))`. */
  norms: RMSNorm[];
  mambas: Mamba2[];
  finalNorm: RMSNorm;
  head: tf.layers.Layer;
}

/** Finds the parts of a {@link mambaLM} model (also one loaded back with `tf.loadLayersModel`). */
export function mambaLMParts(model: tf.LayersModel): MambaLMParts {
  const embedding = model.layers.find((l) => l instanceof OneHotEmbedding) as OneHotEmbedding | undefined;
  const norms = model.layers.filter((l) => l instanceof RMSNorm) as RMSNorm[];
  const mambas = model.layers.filter((l) => l instanceof Mamba2) as Mamba2[];
  const head = model.layers[model.layers.length - 1];
  assertArg(embedding !== undefined && mambas.length > 0 && norms.length === mambas.length + 1 &&
            head.getClassName() === 'Dense', 'mambaLMParts',
            () => 'model must be built by mambaLM (OneHotEmbedding, RMSNorm + Mamba2 blocks, RMSNorm, Dense head)');
  return {embedding: embedding!, norms: norms.slice(0, -1), mambas, finalNorm: norms[norms.length - 1], head};
}
