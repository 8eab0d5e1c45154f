/**
 * The actor and critic networks as tfjs LayersModels (serialisable with `model.save`), initialised like
 * PyTorch's `nn.Linear` (weights and biases ~ U(-1/sqrt(fanIn), 1/sqrt(fanIn))) as in SB3, plus a fast forward
 * over their variables: fused matMul + bias + ReLU per layer, no Layers bookkeeping on the hot path.
 */
import * as tf from '@tensorflow/tfjs';

/** One dense layer's variables. */
export interface DenseVars {
  kernel: tf.Variable;  // [in, out]
  bias: tf.Variable;    // [out]
}

function dense(units: number, fanIn: number, name: string, seed: number, activation: 'relu' | 'linear') {
  const bound = 1 / Math.sqrt(fanIn);
  return tf.layers.dense({
    units, activation, name,
    kernelInitializer: tf.initializers.randomUniform({minval: -bound, maxval: bound, seed}),
    biasInitializer: tf.initializers.randomUniform({minval: -bound, maxval: bound, seed: seed + 1}),
  });
}

/**
 * Actor: ReLU MLP trunk, then two linear heads `mu` and `logStd` (unclamped here; the policy clamps).
 * Inputs `[B, obsDim]`, outputs `[[B, actionDim], [B, actionDim]]`.
 *
 * @example
 * ```ts
 * const actor = buildActor(3, 1, [256, 256], 0);
 * const [mu, logStd] = actor.predict(tf.zeros([1, 3])) as tf.Tensor[];
 * ```
 */
export function buildActor(obsDim: number, actionDim: number, netArch: number[], seed: number): tf.LayersModel {
  const input = tf.input({shape: [obsDim], name: 'observation'});
  let h: tf.SymbolicTensor = input;
  let fanIn = obsDim;
  netArch.forEach((units, i) => {
    h = dense(units, fanIn, `latent_${i}`, seed + 10 * i, 'relu').apply(h) as tf.SymbolicTensor;
    fanIn = units;
  });
  const mu = dense(actionDim, fanIn, 'mu', seed + 1000, 'linear').apply(h) as tf.SymbolicTensor;
  const logStd = dense(actionDim, fanIn, 'log_std', seed + 2000, 'linear').apply(h) as tf.SymbolicTensor;
  return tf.model({inputs: input, outputs: [mu, logStd], name: 'actor'});
}

/**
 * Critic: `Q(s, a)`, a ReLU MLP on `concat(s, a)`; input `[B, obsDim + actionDim]`, output `[B, 1]`.
 *
 * @example
 * ```ts
 * const q = buildCritic(3, 1, [256, 256], 0, 'critic1').predict(tf.zeros([4, 4]));  // [4, 1]
 * ```
 */
export function buildCritic(obsDim: number, actionDim: number, netArch: number[], seed: number,
                            name: string): tf.LayersModel {
  const input = tf.input({shape: [obsDim + actionDim], name: 'observation_action'});
  let h: tf.SymbolicTensor = input;
  let fanIn = obsDim + actionDim;
  netArch.forEach((units, i) => {
    h = dense(units, fanIn, `qf_${i}`, seed + 10 * i, 'relu').apply(h) as tf.SymbolicTensor;
    fanIn = units;
  });
  const q = dense(1, fanIn, 'q', seed + 1000, 'linear').apply(h) as tf.SymbolicTensor;
  return tf.model({inputs: input, outputs: q, name});
}

/** The dense layers' variables of a model, in layer order. */
export function denseVars(model: tf.LayersModel): DenseVars[] {
  return model.layers.filter((l) => l.weights.length === 2).map((l) => {
    const [kernel, bias] = l.weights.map((w) => w.read() as tf.Variable);
    return {kernel, bias};
  });
}

/** Flat list of a model's variables (kernel, bias per layer). */
export const flatVars = (layers: DenseVars[]): tf.Variable[] => layers.flatMap((l) => [l.kernel, l.bias]);

/**
 * Tensors a differentiable forward pass keeps alive for its backward pass; the caller disposes them once the
 * gradients are taken. (Instead of customGrad's `save`, which clones every saved tensor: on wasm a data copy,
 * and one that tfjs's IS_TEST leak check inside the forward scope counts as a leak.)
 */
export type Tape = tf.Tensor[];

function keepAll(tape: Tape, ...ts: tf.Tensor[]): void {
  for (const t of ts) tape.push(tf.keep(t));
}

/**
 * One dense layer `act(x W + b)`. Without a `tape`: a plain forward (fused matMul + bias + ReLU). With a `tape`,
 * differentiable in `x`, `W`, `b` through its own gradient: tfjs's matMul gradient uses the transposed-operand
 * forms, which the wasm backend runs 5-10x slower than an explicit transpose followed by a plain matMul.
 * With `inputOnly`, differentiable in `x` only (the critics inside the actor loss: no `dW` products).
 * `x` `[B, in]`, `W` `[in, out]`, `b` `[out]` -> `[B, out]`.
 */
export function denseLayer(x: tf.Tensor2D, kernel: tf.Tensor, bias: tf.Tensor, relu: boolean, tape: Tape | null,
                           inputOnly = false): tf.Tensor2D {
  const forward = (xi: tf.Tensor) => tf.fused.matMul({a: xi as tf.Tensor2D, b: kernel as tf.Tensor2D, bias,
                                                       activation: relu ? 'relu' : 'linear'}) as tf.Tensor2D;
  if (tape === null) return forward(x);
  const backward = (xi: tf.Tensor, y: tf.Tensor, dy: tf.Tensor) => {
    const dz = relu ? tf.mul(dy, tf.step(y)) : dy;                                  // [B, out]
    // a one-unit layer (Q, mu, logStd heads): dx is an outer product, a broadcast multiply being ~10x
    // cheaper than a K = 1 matMul on wasm
    const dx = kernel.shape[1] === 1 ? tf.mul(dz, tf.reshape(kernel, [1, kernel.shape[0]])) :
        tf.matMul(dz as tf.Tensor2D, tf.transpose(kernel) as tf.Tensor2D);  // [B, in]
    if (inputOnly) return dx;
    return [dx, tf.matMul(tf.transpose(xi) as tf.Tensor2D, dz as tf.Tensor2D),      // dW [in, out]
            tf.sum(dz, 0)];                                                         // db [out]
  };
  if (inputOnly) {
    const f = tf.customGrad(((xi: tf.Tensor) => {
      const y = forward(xi);
      keepAll(tape, xi, y);
      return {value: y, gradFunc: (dy: tf.Tensor) => backward(xi, y, dy)};
    }) as any);
    return f(x) as tf.Tensor2D;
  }
  const f = tf.customGrad(((xi: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => {
    void w; void b;
    const y = forward(xi);
    keepAll(tape, xi, y);
    return {value: y, gradFunc: (dy: tf.Tensor) => backward(xi, y, dy)};
  }) as any);
  return f(x, kernel, bias) as tf.Tensor2D;
}

/** `x` through the layers: ReLU after each but the last. `x` `[B, in]` -> `[B, out]` (see {@link denseLayer}). */
export function mlp(x: tf.Tensor2D, layers: DenseVars[], tape: Tape | null = null, inputOnly = false): tf.Tensor2D {
  let h = x;
  layers.forEach((l, i) => {
    h = denseLayer(h, l.kernel, l.bias, i < layers.length - 1, tape, inputOnly);
  });
  return h;
}

/** Actor forward over its variables: trunk layers, then the `mu` and `logStd` heads (the last two). */
export function actorForward(obs: tf.Tensor2D, layers: DenseVars[], tape: Tape | null = null):
    {mu: tf.Tensor2D; logStd: tf.Tensor2D} {
  let h = obs;
  for (const l of layers.slice(0, -2)) h = denseLayer(h, l.kernel, l.bias, true, tape);
  const [muL, logStdL] = layers.slice(-2);
  return {mu: denseLayer(h, muL.kernel, muL.bias, false, tape), logStd: denseLayer(h, logStdL.kernel, logStdL.bias, false, tape)};
}
