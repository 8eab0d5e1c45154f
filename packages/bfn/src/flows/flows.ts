/**
 * Bayesian flows for the three data types (the spec's table): prior input parameters, the Bayesian flow
 * sample at time t (training input), the sender distribution, the Bayesian update, and the accuracy schedule
 * alpha_i for n steps. All sampling draws from a {@link NoiseSource} so runs can be seeded.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg} from '@tfjs-ext/core';

/** Standard-normal / uniform noise; seeded sources give reproducible flows. */
export class NoiseSource {
  /** Draws made so far: a seeded source's whole state (save it with a checkpoint, set it back to resume). */
  counter = 0;
  constructor(private readonly seed?: number) {}
  private next(): number | undefined {
    return this.seed === undefined ? undefined : this.seed + 7919 * this.counter++;
  }
  normal(shape: number[]): tf.Tensor {
    return tf.randomNormal(shape, 0, 1, 'float32', this.next());
  }
  uniform(shape: number[]): tf.Tensor {
    return tf.randomUniform(shape, 0, 1, 'float32', this.next());
  }
}

/** Input parameters of continuous / discretised data: mean `[batch, ...]` and precision (a scalar per step). */
export type GaussianParams = {
  mu: tf.Tensor;
  rho: number;
};

/**
 * The flow of continuous (and discretised) data: beta(t) = sigma1^(-2t) - 1, prior N(0, 1), flow sample
 * mu = gamma x + sqrt(gamma (1 - gamma)) eps with gamma = 1 - sigma1^(2t), sender N(x, 1/alpha), update
 * rho' = rho + alpha, mu' = (rho mu + alpha y) / rho'.
 */
export class ContinuousFlow {
  readonly sigma1: number;
  constructor({sigma1}: {sigma1: number}) {
    assertArg(typeof sigma1 === 'number' && sigma1 > 0 && sigma1 < 1, 'ContinuousFlow',
              () => `sigma1 must be a number in (0, 1), got ${sigma1}`);
    this.sigma1 = sigma1;
  }

  /** beta(t) = sigma1^(-2t) - 1. */
  beta(t: number): number {
    return Math.pow(this.sigma1, -2 * t) - 1;
  }

  /** alpha_i = sigma1^(-2i/n) (1 - sigma1^(2/n)), i = 1..n. */
  alpha(i: number, n: number): number {
    return Math.pow(this.sigma1, -2 * i / n) * -Math.expm1(2 / n * Math.log(this.sigma1));
  }

  prior(shape: number[]): GaussianParams {
    return {mu: tf.zeros(shape), rho: 1};
  }

  /** The input mean at time t (one t per example, `[batch]`): `[batch, ...]`. */
  flowSample(x: tf.Tensor, t: tf.Tensor, noise: NoiseSource): tf.Tensor {
    return tf.tidy(() => {
      const tb = tf.reshape(t, [-1, ...x.shape.slice(1).map(() => 1)]);
      const gamma = tf.sub(1, tf.pow(this.sigma1, tf.mul(tb, 2)));
      const std = tf.sqrt(tf.mul(gamma, tf.sub(1, gamma)));
      return tf.add(tf.mul(gamma, x), tf.mul(std, noise.normal(x.shape)));
    });
  }

  /** A sample of the sender N(x, 1/alpha). */
  senderSample(x: tf.Tensor, alpha: number, noise: NoiseSource): tf.Tensor {
    return tf.tidy(() => tf.add(x, tf.mul(noise.normal(x.shape), 1 / Math.sqrt(alpha))));
  }

  update(params: GaussianParams, y: tf.Tensor, alpha: number): GaussianParams {
    const rho = params.rho + alpha;
    const mu = tf.tidy(() => tf.div(tf.add(tf.mul(params.mu, params.rho), tf.mul(y, alpha)), rho));
    return {mu, rho};
  }

  /** The network sees the input mean. */
  netInputs(params: GaussianParams): tf.Tensor {
    return params.mu;
  }
}

/** The flow of discretised data (K bins on [-1, 1]): the continuous flow, plus the bins. */
export class DiscretisedFlow extends ContinuousFlow {
  readonly numBins: number;
  constructor({sigma1, numBins}: {sigma1: number; numBins: number}) {
    super({sigma1});
    assertArg(Number.isInteger(numBins) && numBins >= 2, 'DiscretisedFlow',
              () => `numBins must be an integer >= 2, got ${numBins}`);
    this.numBins = numBins;
  }

  /** Bin centres (2k + 1)/K - 1 by closed form, k = 0..K-1. */
  binCentres(): Float32Array {
    return Float32Array.from({length: this.numBins}, (_, k) => (2 * k + 1) / this.numBins - 1);
  }
}

/** Input parameters of discrete data: accumulated log-probabilities (theta = softmax(logits)) `[batch, ..., K]`. */
export type CategoricalParams = {
  logits: tf.Tensor;
};

/**
 * The flow of discrete data (K classes): beta(t) = beta1 t^2 (beta1 = sqrtBeta1^2), prior theta = 1/K, flow
 * sample theta = softmax(y), y ~ N(beta (K e_x - 1), beta K I), sender N(alpha (K e_x - 1), alpha K I), update
 * theta' proportional to theta exp(y) (accumulated as logits).
 */
export class DiscreteFlow {
  readonly numClasses: number;
  readonly sqrtBeta1: number;
  readonly beta1: number;
  constructor({numClasses, sqrtBeta1}: {numClasses: number; sqrtBeta1: number}) {
    assertArg(Number.isInteger(numClasses) && numClasses >= 2, 'DiscreteFlow',
              () => `numClasses must be an integer >= 2, got ${numClasses}`);
    assertArg(typeof sqrtBeta1 === 'number' && sqrtBeta1 > 0, 'DiscreteFlow',
              () => `sqrtBeta1 must be a positive number, got ${sqrtBeta1}`);
    this.numClasses = numClasses;
    this.sqrtBeta1 = sqrtBeta1;
    this.beta1 = sqrtBeta1 * sqrtBeta1;
  }

  beta(t: number): number {
    return this.beta1 * t * t;
  }

  /** alpha_i = beta1 (2i - 1) / n^2. */
  alpha(i: number, n: number): number {
    return this.beta1 * (2 * i - 1) / (n * n);
  }

  /** Uniform theta: zero logits `[...shape, K]`. */
  prior(shape: number[]): CategoricalParams {
    return {logits: tf.zeros([...shape, this.numClasses])};
  }

  /** Mean of the sender / flow: scale (K e_x - 1) `[..., K]`, from int32 x. */
  private centred(x: tf.Tensor): tf.Tensor {
    const K = this.numClasses;
    const oneHot = tf.cast(tf.equal(tf.expandDims(x, -1), tf.range(0, K, 1, 'int32')), 'float32');
    return tf.sub(tf.mul(oneHot, K), 1);
  }

  /**
   * theta at time t (`[batch]`) for int32 x `[batch, ...]`: `[batch, ..., K]`; uniform where sqrt(beta) < 1e-10,
   * t clamped to 1 - 1e-6 (as the reference code).
   */
  flowSample(x: tf.Tensor, t: tf.Tensor, noise: NoiseSource): tf.Tensor {
    return tf.tidy(() => {
      const K = this.numClasses;
      const tb = tf.reshape(tf.minimum(t, 1 - 1e-6), [-1, ...x.shape.slice(1).map(() => 1), 1]);
      const sqrtBeta = tf.maximum(tf.mul(tb, this.sqrtBeta1), 1e-10);
      const beta = tf.square(sqrtBeta);
      const mean = tf.mul(beta, this.centred(x));
      const y = tf.add(mean, tf.mul(tf.sqrt(tf.mul(beta, K)), noise.normal([...x.shape, K])));
      const theta = tf.softmax(y);
      const uniform = tf.lessEqual(tf.mul(tb, this.sqrtBeta1), 1e-10);
      return tf.where(tf.broadcastTo(uniform, theta.shape), tf.fill(theta.shape, 1 / K), theta);
    });
  }

  /** A sample of the sender N(alpha (K e_x - 1), alpha K I) for int32 x: `[..., K]`. */
  senderSample(x: tf.Tensor, alpha: number, noise: NoiseSource): tf.Tensor {
    return tf.tidy(() => tf.add(tf.mul(this.centred(x), alpha),
                                tf.mul(noise.normal([...x.shape, this.numClasses]), Math.sqrt(alpha * this.numClasses))));
  }

  /** theta' proportional to theta exp(y): the logits accumulate y. */
  update(params: CategoricalParams, y: tf.Tensor): CategoricalParams {
    return {logits: tf.add(params.logits, y)};
  }

  /** theta `[..., K]` as network input: for K = 2 one channel 2 theta_1 - 1 (data shape), else theta. */
  netInputsFromTheta(theta: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      if (this.numClasses !== 2) return tf.clone(theta);
      const last = theta.rank - 1;
      const p1 = tf.squeeze(tf.slice(theta, [...theta.shape.slice(0, last).map(() => 0), 1],
                                     [...theta.shape.slice(0, last), 1]), [last]);
      return tf.sub(tf.mul(p1, 2), 1);
    });
  }

  netInputs(params: CategoricalParams): tf.Tensor {
    return tf.tidy(() => this.netInputsFromTheta(tf.softmax(params.logits)));
  }
}

export type BayesianFlow = ContinuousFlow | DiscretisedFlow | DiscreteFlow;
