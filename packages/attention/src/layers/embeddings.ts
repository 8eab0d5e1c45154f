/**
 * Token and learned-position embeddings for the causal LM. The token lookup is a one-hot matmul rather than
 * `gather`: the gradient of `gather` needs `UnsortedSegmentSum`, which the wasm backend lacks (see
 * TFJS-TRAPS.md), and for the small vocabularies of char/byte-level models the matmul is cheap.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertKnownKeys, assertPositiveInt, KERAS_LAYER_KEYS} from '@tfjs-ext/core';
import {denseMatMul} from '../dense_matmul/op';
import {oneHotFloat} from './math';

type Shape = Array<number | null>;

export interface TokenEmbeddingArgs {
  vocabSize: number;
  dModel: number;
  name?: string;
  trainable?: boolean;
}

/**
 * Token ids `[batch, seq]` (int32) to vectors `[batch, seq, dModel]`.
 *
 * @example
 * ```ts
 * const ids = tf.input({shape: [null], dtype: 'int32'});
 * const x = new TokenEmbedding({vocabSize: 96, dModel: 64}).apply(ids) as tf.SymbolicTensor;
 * ```
 */
export class TokenEmbedding extends tf.layers.Layer {
  static className = 'TfjsExtTokenEmbedding';
  readonly vocabSize: number;
  readonly dModel: number;
  private table: tf.LayerVariable | null = null;

  constructor(args: TokenEmbeddingArgs) {
    assertKnownKeys('TokenEmbedding', args, ['vocabSize', 'dModel', ...KERAS_LAYER_KEYS], 'config key');
    super(args);
    assertPositiveInt(args.vocabSize, 'TokenEmbedding', 'vocabSize');
    assertPositiveInt(args.dModel, 'TokenEmbedding', 'dModel');
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

  /** `ids: [batch, seq]` int32 to `[batch, seq, dModel]`. */
  embed(ids: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      assertArg(ids.rank === 2, 'TokenEmbedding', () => `ids must have rank 2 [batch, seq], got shape [${ids.shape}]`);
      const oneHot = oneHotFloat(tf.reshape(ids, [-1]), this.vocabSize);  // [batch * seq, vocab]
      const flat = denseMatMul(oneHot as tf.Tensor2D, this.table!.read() as tf.Tensor2D);  // [batch * seq, dModel]
      const [batch, seq] = ids.shape as [number, number];
      return tf.reshape(flat, [batch, seq, this.dModel]);
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.embed(Array.isArray(inputs) ? inputs[0] : inputs);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), vocabSize: this.vocabSize, dModel: this.dModel};
  }
}
tf.serialization.registerClass(TokenEmbedding);

export interface PositionEmbeddingArgs {
  /** Longest sequence the model accepts. */
  maxLength: number;
  name?: string;
  trainable?: boolean;
}

/**
 * Adds a learned position vector to `[batch, seq, dModel]`: row `offset + t` to position `t` (offset 0 in the
 * layer graph; the incremental decoder passes the cache length).
 */
export class PositionEmbedding extends tf.layers.Layer {
  static className = 'TfjsExtPositionEmbedding';
  readonly maxLength: number;
  private table: tf.LayerVariable | null = null;

  constructor(args: PositionEmbeddingArgs) {
    assertKnownKeys('PositionEmbedding', args, ['maxLength', ...KERAS_LAYER_KEYS], 'config key');
    super(args);
    assertPositiveInt(args.maxLength, 'PositionEmbedding', 'maxLength');
    this.maxLength = args.maxLength;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = inputShape as Shape;
    this.table = this.addWeight('embeddings', [this.maxLength, shape[shape.length - 1]!], 'float32',
                                tf.initializers.randomNormal({mean: 0, stddev: 0.02}));
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return inputShape as Shape;
  }

  /** `x: [batch, seq, dModel]` plus the position rows `offset .. offset + seq - 1`. */
  addPositions(x: tf.Tensor, offset = 0): tf.Tensor {
    return tf.tidy(() => {
      const seq = x.shape[1]!;
      assertArg(offset + seq <= this.maxLength,
                'PositionEmbedding', () => `positions up to ${offset + seq} exceed maxLength ${this.maxLength}`);
      const table = this.table!.read();
      return tf.add(x, tf.slice(table, [offset, 0], [seq, table.shape[1]!]));  // broadcast over batch
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.addPositions(Array.isArray(inputs) ? inputs[0] : inputs);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), maxLength: this.maxLength};
  }
}
tf.serialization.registerClass(PositionEmbedding);
