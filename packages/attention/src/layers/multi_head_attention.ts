/**
 * `FlashMultiHeadAttention`: a tfjs-layers multi-head attention layer (in the spirit of Keras
 * `MultiHeadAttention`) that runs on `flashAttention`, with grouped-query attention (`numKvHeads`) and causal
 * masking.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertKnownKeys, assertPositiveInt, KERAS_LAYER_KEYS} from '@tfjs-ext/core';
import {AttentionWeights, multiHeadAttention} from './math';
import {maskedAttend} from './padding_mask';

type Shape = Array<number | null>;
type Initializer = ReturnType<typeof tf.initializers.zeros>;

export interface FlashMultiHeadAttentionArgs {
  /** Number of query heads. */
  numHeads: number;
  /** Size of each query and key head. */
  keyDim: number;
  /** Size of each value head; must equal `keyDim` (flashAttention takes one head size). Default `keyDim`. */
  valueDim?: number;
  /** Number of key/value heads (grouped-query attention); must divide `numHeads`. Default `numHeads`. */
  numKvHeads?: number;
  /** Biases on the four projections. Default true. */
  useBias?: boolean;
  /** Last dimension of the output. Default: the query's last dimension. */
  outputDim?: number;
  /** Causal mask (bottom-right aligned, as flashAttention's). Default false. */
  causal?: boolean;
  name?: string;
  trainable?: boolean;
}

/** Validates the head configuration shared by the attention layers; returns `numKvHeads`. */
export function checkHeads(layer: string, numHeads: number, keyDim: number, numKvHeads: number | undefined,
                           valueDim: number | undefined): number {
  const kv = numKvHeads ?? numHeads;
  assertPositiveInt(numHeads, layer, 'numHeads');
  assertPositiveInt(keyDim, layer, 'keyDim');
  assertArg(Number.isInteger(kv) && kv > 0 && numHeads % kv === 0,
            layer, () => `numKvHeads (${kv}) must be a positive integer dividing numHeads (${numHeads})`);
  assertArg(valueDim === undefined || valueDim === keyDim,
            layer, () => `valueDim (${valueDim}) must equal keyDim (${keyDim}): flashAttention uses one head size`);
  return kv;
}

/**
 * Multi-head attention on `flashAttention`. Self-attention with one input `[batch, seq, dim]`;
 * cross-attention with `[query, value]` or `[query, value, key]`. Weights: `query/kernel [dq, H*D]`,
 * `key/kernel` and `value/kernel [dkv, Hkv*D]`, `output/kernel [H*D, outputDim]`, plus biases when `useBias`.
 *
 * Keras masks (`supportsMasking`): a padding mask on the input (e.g. from `tf.layers.embedding({maskZero: true})`)
 * masks the padded keys, of any padding pattern, with or without `causal` (see padding_mask.ts), and is passed on
 * as the output's mask. In cross-attention the query's mask is honoured and passed on; a mask on the value or
 * key input is too when tfjs hands it to the layer, else (`model.predict` passes only the first input's mask) it
 * is rejected with an error rather than ignored.
 *
 * @example
 * ```ts
 * const x = tf.input({shape: [null, 64]});
 * const y = new FlashMultiHeadAttention({numHeads: 8, numKvHeads: 2, keyDim: 8, causal: true}).apply(x);
 * const model = tf.model({inputs: x, outputs: y as tf.SymbolicTensor});
 * ```
 */
export class FlashMultiHeadAttention extends tf.layers.Layer {
  static className = 'TfjsExtFlashMultiHeadAttention';
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly keyDim: number;
  readonly useBias: boolean;
  readonly causal: boolean;
  private outputDim: number | undefined;
  private weightsByName: Partial<Record<keyof AttentionWeights, tf.LayerVariable>> = {};
  /** Whether the last call saw the key/value mask of a cross-attention (computeMask rejects unseen ones). */
  private keyMaskSeen = false;

  constructor(args: FlashMultiHeadAttentionArgs) {
    assertKnownKeys('FlashMultiHeadAttention', args, ['numHeads', 'keyDim', 'valueDim', 'numKvHeads', 'useBias',
      'outputDim', 'causal', ...KERAS_LAYER_KEYS], 'config key');
    super(args);
    this.numKvHeads = checkHeads('FlashMultiHeadAttention', args.numHeads, args.keyDim, args.numKvHeads, args.valueDim);
    this.numHeads = args.numHeads;
    this.keyDim = args.keyDim;
    this.useBias = args.useBias ?? true;
    this.causal = args.causal ?? false;
    this.outputDim = args.outputDim;
    this.supportsMasking = true;
  }

  private static splitShapes(inputShape: Shape | Shape[]): {query: Shape; value: Shape; key: Shape} {
    const shapes = Array.isArray(inputShape[0]) ? inputShape as Shape[] : [inputShape as Shape];
    const [query, value = query, key = value] = shapes;
    return {query, value, key};
  }

  override build(inputShape: Shape | Shape[]): void {
    const {query, value, key} = FlashMultiHeadAttention.splitShapes(inputShape);
    const dq = query[query.length - 1]!, dk = key[key.length - 1]!, dv = value[value.length - 1]!;
    const outDim = this.outputDim ?? dq;
    const qWidth = this.numHeads * this.keyDim, kvWidth = this.numKvHeads * this.keyDim;
    const add = (name: keyof AttentionWeights, shape: number[], init: Initializer) => {
      this.weightsByName[name] = this.addWeight(name.replace(/(Kernel|Bias)$/, (s) => `/${s.toLowerCase()}`),
                                                shape, 'float32', init);
    };
    // Weight order (getWeights/setWeights): each projection's kernel, then its bias when useBias.
    for (const [proj, inDim, width] of [['query', dq, qWidth], ['key', dk, kvWidth], ['value', dv, kvWidth],
                                        ['output', qWidth, outDim]] as const) {
      add(`${proj}Kernel`, [inDim, width], tf.initializers.glorotUniform({}));
      if (this.useBias) add(`${proj}Bias`, [width], tf.initializers.zeros());
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const {query} = FlashMultiHeadAttention.splitShapes(inputShape);
    return [...query.slice(0, -1), this.outputDim ?? query[query.length - 1]];
  }

  /** The current weight values (tensors owned by the layer: do not dispose). */
  attentionWeights(): AttentionWeights {
    const out: Partial<AttentionWeights> = {};
    for (const [name, variable] of Object.entries(this.weightsByName)) {
      out[name as keyof AttentionWeights] = variable!.read();
    }
    return out as AttentionWeights;
  }

  /**
   * Keras masks per input `[query, value, key]`: `mask` is what tfjs passes, one mask (self-attention, or the
   * first input's from model.predict) or one per input; a key mask defaults to the value mask.
   */
  private static splitMasks(inputCount: number, mask: unknown): {query: tf.Tensor | null; key: tf.Tensor | null} {
    const masks = (Array.isArray(mask) ? mask : [mask]).map((m) => m instanceof tf.Tensor ? m : null);
    if (inputCount === 1) return {query: masks[0], key: masks[0]};
    return {query: masks[0], key: masks[2] ?? masks[1] ?? null};
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict = {}): tf.Tensor {
    return tf.tidy(() => {
      const list = Array.isArray(inputs) ? inputs : [inputs];
      const [query, value = query, key = value] = list;
      for (const [name, t] of [['query', query], ['key', key], ['value', value]] as const) {
        assertArg(t.rank === 3, 'FlashMultiHeadAttention',
                  () => `${name} must have rank 3 [batch, seq, dim], got shape [${t.shape}]`);
      }
      const masks = FlashMultiHeadAttention.splitMasks(list.length, kwargs.mask);
      this.keyMaskSeen = list.length > 1 && masks.key !== null;
      return multiHeadAttention(
          this.attentionWeights(), {numHeads: this.numHeads, numKvHeads: this.numKvHeads, headDim: this.keyDim},
          query, key, value, maskedAttend('FlashMultiHeadAttention', this.causal, masks.query, masks.key));
    });
  }

  /** The output's mask is the query's (Keras MultiHeadAttention's rule). */
  override computeMask(inputs: tf.Tensor | tf.Tensor[], mask?: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const inputCount = Array.isArray(inputs) ? inputs.length : 1;
    const masks = FlashMultiHeadAttention.splitMasks(inputCount, mask);
    assertArg(inputCount === 1 || masks.key === null || this.keyMaskSeen, 'FlashMultiHeadAttention', () =>
        'the value/key input of cross-attention carries a Keras mask that did not reach the layer (tfjs passes ' +
        'only the first input\'s mask to call in model.predict / model.execute): it cannot be honoured. Remove ' +
        'the mask from the value/key branch, or call the layer directly with a mask per input');
    // null = no mask, as tfjs's own computeMask returns (its declared type omits null)
    return masks.query as tf.Tensor;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      numHeads: this.numHeads,
      numKvHeads: this.numKvHeads,
      keyDim: this.keyDim,
      useBias: this.useBias,
      causal: this.causal,
      ...(this.outputDim === undefined ? {} : {outputDim: this.outputDim}),
    };
  }
}
tf.serialization.registerClass(FlashMultiHeadAttention);
