/**
 * `TransformerBlock`: a pre-norm transformer block (GPT-2 / Llama order) on `flashAttention`:
 * `h = x + attn(LN(x))`, `y = h + mlp(LN(h))`.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertKnownKeys, KERAS_LAYER_KEYS} from '@tfjs-ext/core';
import {AttendFn, AttentionWeights, BlockWeights, MlpActivation, transformerBlock} from './math';
import {checkHeads} from './multi_head_attention';
import {maskedAttend} from './padding_mask';

type Shape = Array<number | null>;
type Initializer = ReturnType<typeof tf.initializers.zeros>;

export interface TransformerBlockArgs {
  numHeads: number;
  /** Per-head size. Default `dModel / numHeads`. */
  keyDim?: number;
  /** Key/value heads (grouped-query attention). Default `numHeads`. */
  numKvHeads?: number;
  /** Hidden size of the MLP. Default `4 * dModel`. */
  mlpDim?: number;
  /** MLP activation. Default 'gelu' (tanh approximation). */
  activation?: MlpActivation;
  /** Causal self-attention. Default true. */
  causal?: boolean;
  name?: string;
  trainable?: boolean;
}

const ATTENTION_NAMES: Array<keyof AttentionWeights> =
    ['queryKernel', 'queryBias', 'keyKernel', 'keyBias', 'valueKernel', 'valueBias', 'outputKernel', 'outputBias'];

/**
 * Pre-norm transformer block over `[batch, seq, dModel]` (same shape out), self-attention through
 * `flashAttention`. All weights belong to this one layer, so it saves and loads like any tfjs layer.
 * A Keras padding mask on the input (`supportsMasking`; e.g. from `tf.layers.embedding({maskZero: true})`) masks
 * the padded keys, of any padding pattern (see padding_mask.ts), and passes through to the output.
 *
 * @example
 * ```ts
 * const x = tf.input({shape: [null, 64]});
 * const y = new TransformerBlock({numHeads: 4, numKvHeads: 2}).apply(x) as tf.SymbolicTensor;
 * ```
 */
export class TransformerBlock extends tf.layers.Layer {
  static className = 'TfjsExtTransformerBlock';
  readonly numHeads: number;
  readonly activation: MlpActivation;
  readonly causal: boolean;
  private readonly keyDimArg: number | undefined;
  private readonly numKvHeadsArg: number | undefined;
  private readonly mlpDimArg: number | undefined;
  private vars = new Map<string, tf.LayerVariable>();
  private dims = {numHeads: 0, numKvHeads: 0, headDim: 0};

  constructor(args: TransformerBlockArgs) {
    assertKnownKeys('TransformerBlock', args, ['numHeads', 'keyDim', 'numKvHeads', 'mlpDim', 'activation', 'causal',
      ...KERAS_LAYER_KEYS], 'config key');
    super(args);
    this.numHeads = args.numHeads;
    this.keyDimArg = args.keyDim;
    this.numKvHeadsArg = args.numKvHeads;
    this.mlpDimArg = args.mlpDim;
    this.activation = args.activation ?? 'gelu';
    this.causal = args.causal ?? true;
    assertArg(this.activation === 'gelu' || this.activation === 'relu',
              'TransformerBlock', () => `activation must be 'gelu' or 'relu', got '${this.activation}'`);
    this.supportsMasking = true;  // a padding mask masks the padded keys and passes through (see padding_mask.ts)
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const dModel = shape[shape.length - 1];
    assertArg(dModel !== null, 'TransformerBlock', () => 'the last input dimension (dModel) must be known');
    const headDim = this.keyDimArg ?? dModel! / this.numHeads;
    assertArg(Number.isInteger(headDim),
              'TransformerBlock', () => `dModel (${dModel}) is not divisible by numHeads (${this.numHeads}); set keyDim`);
    const numKvHeads = checkHeads('TransformerBlock', this.numHeads, headDim, this.numKvHeadsArg, undefined);
    this.dims = {numHeads: this.numHeads, numKvHeads, headDim};
    const mlpDim = this.mlpDimArg ?? 4 * dModel!;
    const qWidth = this.numHeads * headDim, kvWidth = numKvHeads * headDim;
    const glorot = () => tf.initializers.glorotUniform({});
    const add = (name: string, shape: number[], init: Initializer) => {
      this.vars.set(name, this.addWeight(name, shape, 'float32', init));
    };
    add('norm1/gamma', [dModel!], tf.initializers.ones());
    add('norm1/beta', [dModel!], tf.initializers.zeros());
    add('attention/query/kernel', [dModel!, qWidth], glorot());
    add('attention/query/bias', [qWidth], tf.initializers.zeros());
    add('attention/key/kernel', [dModel!, kvWidth], glorot());
    add('attention/key/bias', [kvWidth], tf.initializers.zeros());
    add('attention/value/kernel', [dModel!, kvWidth], glorot());
    add('attention/value/bias', [kvWidth], tf.initializers.zeros());
    add('attention/output/kernel', [qWidth, dModel!], glorot());
    add('attention/output/bias', [dModel!], tf.initializers.zeros());
    add('norm2/gamma', [dModel!], tf.initializers.ones());
    add('norm2/beta', [dModel!], tf.initializers.zeros());
    add('mlp/dense1/kernel', [dModel!, mlpDim], glorot());
    add('mlp/dense1/bias', [mlpDim], tf.initializers.zeros());
    add('mlp/dense2/kernel', [mlpDim, dModel!], glorot());
    add('mlp/dense2/bias', [dModel!], tf.initializers.zeros());
    this.built = true;
  }

  /** Head layout once built: query heads, key/value heads, head size. */
  headDims(): {numHeads: number; numKvHeads: number; headDim: number} {
    return {...this.dims};
  }

  /** The current weight values (tensors owned by the layer: do not dispose). */
  blockWeights(): BlockWeights {
    const get = (name: string) => this.vars.get(name)!.read();
    const attention = {} as AttentionWeights;
    ATTENTION_NAMES.forEach((key) => {
      attention[key] = get(`attention/${key.replace(/(Kernel|Bias)$/, (s) => `/${s.toLowerCase()}`)}`);
    });
    return {
      norm1Gamma: get('norm1/gamma'), norm1Beta: get('norm1/beta'), attention,
      norm2Gamma: get('norm2/gamma'), norm2Beta: get('norm2/beta'),
      mlpKernel1: get('mlp/dense1/kernel'), mlpBias1: get('mlp/dense1/bias'),
      mlpKernel2: get('mlp/dense2/kernel'), mlpBias2: get('mlp/dense2/bias'),
    };
  }

  /** The block's math with a caller-supplied attention (the incremental decoder passes its KV-cache path). */
  forward(x: tf.Tensor, attend: AttendFn): tf.Tensor {
    return transformerBlock(this.blockWeights(), this.dims, this.activation, x, attend);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict = {}): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      assertArg(x.rank === 3, 'TransformerBlock', () => `input must have rank 3 [batch, seq, dModel], got shape [${x.shape}]`);
      const given = Array.isArray(kwargs.mask) ? kwargs.mask[0] : kwargs.mask;
      const mask = given instanceof tf.Tensor ? given : null;  // [batch, seq] padding mask
      return this.forward(x, maskedAttend('TransformerBlock', this.causal, mask, mask));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      ...super.getConfig(), numHeads: this.numHeads, activation: this.activation, causal: this.causal,
    };
    if (this.keyDimArg !== undefined) config.keyDim = this.keyDimArg;
    if (this.numKvHeadsArg !== undefined) config.numKvHeads = this.numKvHeadsArg;
    if (this.mlpDimArg !== undefined) config.mlpDim = this.mlpDimArg;
    return config;
  }
}
tf.serialization.registerClass(TransformerBlock);
