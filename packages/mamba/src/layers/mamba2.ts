/**
 * `Mamba2`: the Mamba-2 block (Dao & Gu 2024; `mamba_ssm/modules/mamba2.py`) as a serializable tfjs layer over
 * `[batch, L, dModel]`, with recurrent decoding (`step`) that reproduces the full-sequence output token by token.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertKnownKeys, assertPositiveInt, KERAS_LAYER_KEYS, rng} from '@tfjs-ext/core';
import {convDim, Mamba2Dims, mamba2Forward, Mamba2State, mamba2Step, Mamba2Weights, zeroState} from './mamba2_math';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = Array<number | null>;

export interface Mamba2Args extends LayerArgs {
  /** SSM state size N (default 128). */
  dState?: number;
  /** Causal depthwise conv kernel width (default 4). */
  dConv?: number;
  /** dInner = expand * dModel (default 2). */
  expand?: number;
  /** Head size P (default 64); dInner must be a multiple of it. */
  headDim?: number;
  /** Groups of B and C (default 1); the head count must be a multiple of it. */
  nGroups?: number;
  /** Chunk length of the SSD scan (default 64: the reference's 256 is tuned for GPUs). */
  chunkSize?: number;
  /** Initial dt is log-uniform in [dtMin, dtMax] (defaults 1e-3, 0.1), floored at dtInitFloor (1e-4). */
  dtMin?: number;
  dtMax?: number;
  dtInitFloor?: number;
  /** Initial -A is uniform in this range (default [1, 16]). */
  aInitRange?: [number, number];
  /** Seed of the initialisation (default: random). */
  seed?: number;
}

/** The keys of {@link Mamba2Args} besides the Keras layer ones. */
export const MAMBA2_KEYS = ['dState', 'dConv', 'expand', 'headDim', 'nGroups', 'chunkSize', 'dtMin', 'dtMax',
  'dtInitFloor', 'aInitRange', 'seed'] as const;

/** `tf.tidy` for a function returning an output and a state (which tidy's types do not describe). */
function tidyResult(fn: () => {output: tf.Tensor; state: Mamba2State}): {output: tf.Tensor; state: Mamba2State} {
  const [output, convState, ssmState] = tf.tidy(() => {
    const r = fn();
    return [r.output, r.state.convState, r.state.ssmState];
  });
  return {output, state: {convState: convState as tf.Tensor3D, ssmState: ssmState as tf.Tensor4D}};
}

/**
 * The Mamba-2 block: in-projection to z | xBC | dt, causal depthwise conv1d + SiLU on xBC, `dt = softplus(dt +
 * dtBias)`, `A = -exp(ALog)`, the SSD scan (`ssd`, with the `D` skip), gated RMSNorm per group and the
 * out-projection. Input and output `[batch, L, dModel]`. No bias in the projections, bias in the conv.
 *
 * @example
 * ```ts
 * const block = new Mamba2({dState: 64, headDim: 32});
 * const y = block.apply(tf.randomNormal([2, 100, 64])) as tf.Tensor;  // [2, 100, 64]
 * // Recurrent decoding: the same outputs, one token at a time.
 * let state = block.initialState(2);
 * const {output, state: next} = block.step(tf.randomNormal([2, 64]), state);  // output [2, 64]
 * ```
 */
export class Mamba2 extends tf.layers.Layer {
  static className = 'TfjsExtMamba2';
  readonly dState: number;
  readonly dConv: number;
  readonly expand: number;
  readonly headDim: number;
  readonly nGroups: number;
  readonly chunkSize: number;
  readonly dtMin: number;
  readonly dtMax: number;
  readonly dtInitFloor: number;
  readonly aInitRange: [number, number];
  readonly seed: number | undefined;
  private vars: Record<keyof Mamba2Weights, tf.LayerVariable> | null = null;
  private sizes: Mamba2Dims | null = null;

  constructor(args: Mamba2Args = {}) {
    assertKnownKeys('Mamba2', args, [...MAMBA2_KEYS, ...KERAS_LAYER_KEYS], 'config key');
    super(args);
    this.dState = args.dState ?? 128;
    this.dConv = args.dConv ?? 4;
    this.expand = args.expand ?? 2;
    this.headDim = args.headDim ?? 64;
    this.nGroups = args.nGroups ?? 1;
    this.chunkSize = args.chunkSize ?? 64;
    for (const key of ['dState', 'dConv', 'expand', 'headDim', 'nGroups', 'chunkSize'] as const) {
      assertPositiveInt(this[key], 'Mamba2', key);
    }
    this.dtMin = args.dtMin ?? 1e-3;
    this.dtMax = args.dtMax ?? 0.1;
    this.dtInitFloor = args.dtInitFloor ?? 1e-4;
    assertArg(this.dtMin > 0 && this.dtMax >= this.dtMin, 'Mamba2',
              () => `dtMin and dtMax must satisfy 0 < dtMin <= dtMax, got ${this.dtMin}, ${this.dtMax}`);
    this.aInitRange = args.aInitRange ?? [1, 16];
    assertArg(Array.isArray(this.aInitRange) && this.aInitRange.length === 2 && this.aInitRange[0] > 0 &&
              this.aInitRange[1] >= this.aInitRange[0], 'Mamba2',
              () => `aInitRange must be [lo, hi] with 0 < lo <= hi, got [${this.aInitRange}]`);
    this.seed = args.seed;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const dModel = shape[shape.length - 1];
    assertArg(shape.length === 3 && dModel !== null, 'Mamba2',
              () => `input must have shape [batch, L, dModel] with dModel known, got [${shape}]`);
    const dInner = this.expand * dModel!;
    assertArg(dInner % this.headDim === 0, 'Mamba2',
              () => `expand * dModel (${dInner}) must be a multiple of headDim (${this.headDim})`);
    const nHeads = dInner / this.headDim;
    assertArg(nHeads % this.nGroups === 0, 'Mamba2',
              () => `the head count (${nHeads}) must be a multiple of nGroups (${this.nGroups})`);
    const d: Mamba2Dims = {dModel: dModel!, dInner, dState: this.dState, dConv: this.dConv, headDim: this.headDim,
                           nHeads, nGroups: this.nGroups, chunkSize: this.chunkSize};
    this.sizes = d;
    const cDim = convDim(d), dProj = 2 * dInner + 2 * this.nGroups * this.dState + nHeads;
    const seed = this.seed ?? Math.floor(Math.random() * 2 ** 31);
    // PyTorch's defaults for nn.Linear / nn.Conv1d: uniform in +-1/sqrt(fanIn).
    const torchUniform = (fanIn: number, k: number) =>
        tf.initializers.randomUniform({minval: -1 / Math.sqrt(fanIn), maxval: 1 / Math.sqrt(fanIn), seed: seed + k});
    const zeros = tf.initializers.zeros();
    this.vars = {
      inProjKernel: this.addWeight('in_proj/kernel', [dModel!, dProj], 'float32', torchUniform(dModel!, 1)),
      convKernel: this.addWeight('conv1d/kernel', [this.dConv, cDim], 'float32', torchUniform(this.dConv, 2)),
      convBias: this.addWeight('conv1d/bias', [cDim], 'float32', torchUniform(this.dConv, 3)),
      dtBias: this.addWeight('dt_bias', [nHeads], 'float32', zeros),
      aLog: this.addWeight('A_log', [nHeads], 'float32', zeros),
      d: this.addWeight('D', [nHeads], 'float32', tf.initializers.ones()),
      normWeight: this.addWeight('norm/weight', [dInner], 'float32', tf.initializers.ones()),
      outProjKernel: this.addWeight('out_proj/kernel', [dInner, dModel!], 'float32', torchUniform(dInner, 4)),
    };
    // dt log-uniform in [dtMin, dtMax], floored, stored as its inverse softplus; A uniform, stored as log(-A).
    const random = rng(seed + 5);
    const [logMin, logMax] = [Math.log(this.dtMin), Math.log(this.dtMax)];
    const dtBias = Float32Array.from({length: nHeads}, () => {
      const dt = Math.max(Math.exp(logMin + random() * (logMax - logMin)), this.dtInitFloor);
      return dt + Math.log(-Math.expm1(-dt));
    });
    const [aLo, aHi] = this.aInitRange;
    const aLog = Float32Array.from({length: nHeads}, () => Math.log(aLo + random() * (aHi - aLo)));
    tf.tidy(() => {
      this.vars!.dtBias.write(tf.tensor1d(dtBias));
      this.vars!.aLog.write(tf.tensor1d(aLog));
    });
    this.built = true;
  }

  /** Sizes once built (dModel, dInner, heads, ...). */
  dims(): Mamba2Dims {
    assertArg(this.sizes !== null, 'Mamba2', () => 'the layer is not built yet (apply it to an input first)');
    return {...this.sizes};
  }

  /** The current weight values (tensors owned by the layer: do not dispose). */
  weightsOf(): Mamba2Weights {
    assertArg(this.vars !== null, 'Mamba2', () => 'the layer is not built yet (apply it to an input first)');
    const out = {} as Record<keyof Mamba2Weights, tf.Tensor>;
    for (const [k, v] of Object.entries(this.vars!)) out[k as keyof Mamba2Weights] = v.read();
    return out;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const u = Array.isArray(inputs) ? inputs[0] : inputs;
      this.checkInput(u, 'input', 3);
      return mamba2Forward(this.weightsOf(), this.sizes!, u).output;  // [batch, L, dModel]
    });
  }

  /** A zero state for `batch` rows (the start of a sequence). The caller owns (disposes) it. */
  initialState(batch: number): Mamba2State {
    assertPositiveInt(batch, 'Mamba2.initialState', 'batch');
    return zeroState(this.dims(), batch);
  }

  /**
   * Runs `u [batch, L, dModel]` through the chunked scan, continuing from `state` (default: a fresh sequence),
   * and returns the output `[batch, L, dModel]` and the state after the last token (a prompt's prefill). The
   * input state is not disposed.
   */
  forwardWithState(u: tf.Tensor, state?: Mamba2State): {output: tf.Tensor; state: Mamba2State} {
    this.checkInput(u, 'u', 3);
    if (state !== undefined) this.checkState(state, u.shape[0]);
    return tidyResult(() => mamba2Forward(this.weightsOf(), this.sizes!, u, state));
  }

  /**
   * One token per batch row, `u [batch, dModel]`, by the recurrence (conv state + SSM state): returns the output
   * `[batch, dModel]` and the next state, equal to the full-sequence call at this position up to float32
   * round-off. The input state is not disposed.
   */
  step(u: tf.Tensor, state: Mamba2State): {output: tf.Tensor; state: Mamba2State} {
    this.checkInput(u, 'u', 2);
    this.checkState(state, u.shape[0]);
    return tidyResult(() => {
      const [batch, dModel] = u.shape;
      const {output, state: next} = mamba2Step(this.weightsOf(), this.sizes!, tf.reshape(u, [batch, 1, dModel]), state);
      return {output: tf.reshape(output, [batch, dModel]), state: next};
    });
  }

  private checkInput(u: tf.Tensor, name: string, rank: 2 | 3): void {
    if (!this.built && u instanceof tf.Tensor && u.rank === rank) {
      // Called before any apply(): build from the input, as apply() would (and count the use, so dispose works).
      this.build([null, null, u.shape[rank - 1]]);
      this.built = true;
      const self = this as unknown as {_refCount: number | null};
      if (self._refCount === null) self._refCount = 1;
    }
    const d = this.dims();
    const layout = rank === 3 ? '[batch, L, dModel]' : '[batch, dModel]';
    assertArg(u instanceof tf.Tensor && u.rank === rank && u.shape[rank - 1] === d.dModel, 'Mamba2',
              () => `${name} must have shape ${layout} with dModel ${d.dModel}, got [${u?.shape}]`);
    assertArg(u.dtype === 'float32', 'Mamba2', () => `${name} must have dtype float32, got ${u.dtype}`);
  }

  private checkState(state: Mamba2State, batch: number): void {
    const d = this.dims();
    const conv = [batch, d.dConv - 1, convDim(d)], ssm = [batch, d.nHeads, d.headDim, d.dState];
    const same = (t: tf.Tensor | undefined, s: number[]) =>
        t instanceof tf.Tensor && t.rank === s.length && t.shape.every((v, i) => v === s[i]);
    assertArg(same(state?.convState, conv), 'Mamba2',
              () => `state.convState must have shape [batch, dConv - 1, convDim] = [${conv}], got [${state?.convState?.shape}]`);
    assertArg(same(state.ssmState, ssm), 'Mamba2',
              () => `state.ssmState must have shape [batch, H, headDim, dState] = [${ssm}], got [${state.ssmState?.shape}]`);
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      ...super.getConfig(), dState: this.dState, dConv: this.dConv, expand: this.expand, headDim: this.headDim,
      nGroups: this.nGroups, chunkSize: this.chunkSize, dtMin: this.dtMin, dtMax: this.dtMax,
      dtInitFloor: this.dtInitFloor, aInitRange: [...this.aInitRange],
    };
    if (this.seed !== undefined) config.seed = this.seed;
    return config;
  }
}
tf.serialization.registerClass(Mamba2);
