/**
 * A small causal transformer language model: token embedding + learned positions, N pre-norm
 * {@link TransformerBlock}s on `flashAttention`, final layer norm and an (untied) output head.
 * Incremental decoding with one `KVCache` per block and `flashDecode` lives in ./decode.ts.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertKnownKeys, assertPositiveInt, KERAS_LAYER_KEYS} from '@tfjs-ext/core';
import {PositionEmbedding, TokenEmbedding} from './embeddings';
import {dense, layerNorm, MlpActivation, oneHotFloat} from './math';
import {TransformerBlock} from './transformer_block';

type Shape = Array<number | null>;

export interface LMHeadArgs {
  vocabSize: number;
  name?: string;
  trainable?: boolean;
}

/** Final layer norm and projection to vocabulary logits: `[batch, seq, dModel]` to `[batch, seq, vocabSize]`. */
export class LMHead extends tf.layers.Layer {
  static className = 'TfjsExtLMHead';
  readonly vocabSize: number;
  private vars: tf.LayerVariable[] = [];

  constructor(args: LMHeadArgs) {
    assertKnownKeys('LMHead', args, ['vocabSize', ...KERAS_LAYER_KEYS], 'config key');
    super(args);
    assertPositiveInt(args.vocabSize, 'LMHead', 'vocabSize');
    this.vocabSize = args.vocabSize;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = inputShape as Shape;
    const dModel = shape[shape.length - 1]!;
    this.vars = [
      this.addWeight('norm/gamma', [dModel], 'float32', tf.initializers.ones()),
      this.addWeight('norm/beta', [dModel], 'float32', tf.initializers.zeros()),
      this.addWeight('kernel', [dModel, this.vocabSize], 'float32', tf.initializers.glorotUniform({})),
      this.addWeight('bias', [this.vocabSize], 'float32', tf.initializers.zeros()),
    ];
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return [...(inputShape as Shape).slice(0, -1), this.vocabSize];
  }

  /** Logits of `x: [batch, seq, dModel]`. */
  project(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [gamma, beta, kernel, bias] = this.vars.map((v) => v.read());
      return dense(layerNorm(x, gamma, beta), kernel, bias);
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.project(Array.isArray(inputs) ? inputs[0] : inputs);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), vocabSize: this.vocabSize};
  }
}
tf.serialization.registerClass(LMHead);

export interface CausalLMConfig {
  vocabSize: number;
  /** Longest context (positions are learned). */
  maxLength: number;
  dModel: number;
  numLayers: number;
  numHeads: number;
  /** Key/value heads per block (grouped-query attention). Default `numHeads`. */
  numKvHeads?: number;
  /** MLP hidden size. Default `4 * dModel`. */
  mlpDim?: number;
  activation?: MlpActivation;
  name?: string;
}

/**
 * Builds the causal LM as a `tf.LayersModel` from token ids `[batch, seq]` (int32) to logits
 * `[batch, seq, vocabSize]`. It saves and loads with `model.save` / `tf.loadLayersModel` (the custom layers
 * register themselves when this module is imported).
 *
 * @example
 * ```ts
 * const model = causalLM({vocabSize: 96, maxLength: 256, dModel: 64, numLayers: 2, numHeads: 4});
 * const logits = model.predict(tf.tensor2d([[1, 2, 3]], undefined, 'int32')) as tf.Tensor3D;  // [1, 3, 96]
 * ```
 */
export function causalLM(config: CausalLMConfig): tf.LayersModel {
  assertKnownKeys('causalLM', config, ['vocabSize', 'maxLength', 'dModel', 'numLayers', 'numHeads', 'numKvHeads',
    'mlpDim', 'activation', 'name'], 'config key');
  const {vocabSize, maxLength, dModel, numLayers, numHeads} = config;
  assertArg(Number.isInteger(numLayers) && numLayers >= 0,
            'causalLM', () => `numLayers must be a non-negative integer, got ${numLayers}`);
  assertArg(dModel % numHeads === 0, 'causalLM', () => `dModel (${dModel}) must be divisible by numHeads (${numHeads})`);
  const name = config.name ?? 'causal_lm';
  const tokens = tf.input({shape: [null], dtype: 'int32', name: `${name}_tokens`});
  let x = new TokenEmbedding({vocabSize, dModel, name: `${name}_token_embedding`}).apply(tokens) as tf.SymbolicTensor;
  x = new PositionEmbedding({maxLength, name: `${name}_position_embedding`}).apply(x) as tf.SymbolicTensor;
  for (let i = 0; i < numLayers; i++) {
    x = new TransformerBlock({
      numHeads, numKvHeads: config.numKvHeads, mlpDim: config.mlpDim, activation: config.activation, causal: true,
      name: `${name}_block_${i}`,
    }).apply(x) as tf.SymbolicTensor;
  }
  const logits = new LMHead({vocabSize, name: `${name}_head`}).apply(x) as tf.SymbolicTensor;
  return tf.model({inputs: tokens, outputs: logits, name});
}

/**
 * Mean next-token cross-entropy (nats) of `logits [batch, seq, vocab]` against int32 `targets [batch, seq]`.
 * Written with `logSumExp` because `tf.losses.softmaxCrossEntropy` and `tf.logSoftmax` leak a backend data id in
 * their gradients (caught by `IS_TEST`); a one-hot product instead of `gather`, whose gradient wasm lacks.
 *
 * @example
 * ```ts
 * const loss = optimizer.minimize(() => causalLMLoss(model.apply(inputs) as tf.Tensor3D, targets), true);
 * ```
 */
export function causalLMLoss(logits: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const vocab = logits.shape[logits.rank - 1]!;
    const logProbs = tf.sub(logits, tf.logSumExp(logits, -1, true));  // [batch, seq, vocab]
    const picked = tf.sum(tf.mul(oneHotFloat(targets, vocab), logProbs), -1);
    return tf.neg(tf.mean(picked));
  });
}

/** The layers of a model built by {@link causalLM}, in order. */
export interface CausalLMParts {
  tokenEmbedding: TokenEmbedding;
  positionEmbedding: PositionEmbedding;
  blocks: TransformerBlock[];
  head: LMHead;
}

/** Finds the parts of a {@link causalLM} model (also one loaded back with `tf.loadLayersModel`). */
export function causalLMParts(model: tf.LayersModel): CausalLMParts {
  const find = <T>(cls: new (...a: any[]) => T): T[] => model.layers.filter((l) => l instanceof cls) as T[];
  const [tokenEmbedding] = find(TokenEmbedding);
  const [positionEmbedding] = find(PositionEmbedding);
  const [head] = find(LMHead);
  assertArg(tokenEmbedding !== undefined && positionEmbedding !== undefined && head !== undefined,
            'causalLMParts', () => 'model must be built by causalLM (TokenEmbedding, PositionEmbedding, LMHead)');
  return {tokenEmbedding, positionEmbedding, blocks: find(TransformerBlock), head};
}
