/**
 * `BFN`: ties a Bayesian flow to a tfjs LayersModel network (inputs: the flow parameters as net inputs and
 * t `[batch, 1]`; output: the raw outputs of the spec's "net output" row) and gives the training loss, the
 * evaluation losses and the sampler.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertKnownKeys, assertPositiveInt} from '@tfjs-ext/core';
import {bfnContinuousLoss} from '../continuous_loss/op';
import {bfnDiscreteLoss} from '../discrete_loss/op';
import {bfnDiscretisedLoss} from '../discretised_loss/op';
import {BayesianFlow, ContinuousFlow, DiscreteFlow, DiscretisedFlow, NoiseSource} from '../flows/flows';
import {continuousPrediction, discreteLogits, discretisedBinProbs, discretisedParams} from './output';

/** Options of {@link BFN}. */
export interface BFNOptions {
  /** Seed of the flow, time and sampler noise (default: unseeded). */
  seed?: number;
  /** Bins of the discretised Gaussian used by the continuous flow's reconstruction loss (default 256). */
  reconstructionBins?: number;
}

/** Options of {@link BFN.sample}. */
export interface SampleOptions {
  /** Called after each of the n Bayesian updates with i (1..n). */
  onStep?: (i: number) => void;
  /** Return the final output distribution's mode (default) or a sample of it. */
  final?: 'mode' | 'sample';
}

type Outputs = {kind: 'continuous'; epsHat: tf.Tensor} |
    {kind: 'discretised'; muEps: tf.Tensor; lnSigmaEps: tf.Tensor} | {kind: 'discrete'; logits: tf.Tensor};

/**
 * A Bayesian Flow Network.
 *
 * @example
 * ```ts
 * const flow = new DiscreteFlow({numClasses: 2, sqrtBeta1: 3});
 * const bfn = new BFN(flow, network);          // network: [theta as 2p - 1 [b, 28, 28], t [b, 1]] -> logits [b, 28, 28]
 * const loss = () => tf.mean(bfn.loss(x));     // continuous-time loss, nats/image
 * optimizer.minimize(loss);
 * const images = bfn.sample(16, 100);          // [16, 28, 28] int32
 * ```
 */
export class BFN {
  readonly flow: BayesianFlow;
  readonly network: tf.LayersModel;
  readonly noise: NoiseSource;
  private readonly reconstructionBins: number;

  constructor(flow: BayesianFlow, network: tf.LayersModel, options: BFNOptions = {}) {
    assertKnownKeys('BFN', options, ['seed', 'reconstructionBins']);
    assertArg(flow instanceof ContinuousFlow || flow instanceof DiscreteFlow, 'BFN',
              () => 'flow must be a ContinuousFlow, DiscretisedFlow or DiscreteFlow');
    assertArg(network.inputs.length === 2, 'BFN', () =>
        `network must take two inputs [flow parameters, t [batch, 1]], got ${network.inputs.length}`);
    this.flow = flow;
    this.network = network;
    this.noise = new NoiseSource(options.seed);
    this.reconstructionBins = options.reconstructionBins ?? 256;
  }

  /** Data shape per example, from the network's first input (without the class dim for K > 2). */
  get dataShape(): number[] {
    const s = this.network.inputs[0].shape.slice(1) as number[];
    return this.flow instanceof DiscreteFlow && this.flow.numClasses > 2 ? s.slice(0, -1) : s;
  }

  /** Runs the network on flow parameters (as net inputs) at times t `[batch]`; raw outputs split by kind. */
  private outputs(netInputs: tf.Tensor, t: tf.Tensor, training: boolean): Outputs {
    const batch = netInputs.shape[0];
    const raw = this.network.apply([netInputs, tf.reshape(t, [-1, 1])], {training}) as tf.Tensor;
    if (this.flow instanceof DiscreteFlow) return {kind: 'discrete', logits: discreteLogits(raw, batch, this.flow.numClasses)};
    if (this.flow instanceof DiscretisedFlow) {
      const r = tf.reshape(raw, [batch, -1, 2]);  // [batch, dim, (muEps, lnSigmaEps)]
      const [muEps, lnSigmaEps] = tf.split(r, 2, 2).map((v) => tf.reshape(v, [batch, -1]));
      return {kind: 'discretised', muEps, lnSigmaEps};
    }
    return {kind: 'continuous', epsHat: tf.reshape(raw, [batch, -1])};
  }

  /** Flow sample at t and its net inputs. */
  private flowInputs(x: tf.Tensor, t: tf.Tensor): {params: tf.Tensor; netInputs: tf.Tensor} {
    const flow = this.flow;
    if (flow instanceof DiscreteFlow) {
      const theta = flow.flowSample(x, t, this.noise);
      return {params: theta, netInputs: flow.netInputsFromTheta(theta)};
    }
    const mu = flow.flowSample(x, t, this.noise);
    return {params: mu, netInputs: mu};
  }

  private checkData(x: tf.Tensor, op: string): void {
    assertArg(x instanceof tf.Tensor && x.rank >= 2, op, () => 'x must be a tf.Tensor [batch, ...dataShape]');
    const want = this.flow instanceof DiscreteFlow ? 'int32' : 'float32';
    assertArg(x.dtype === want, op, () => `x must have dtype ${want}, got ${x.dtype}`);
  }

  /** The continuous-time loss at given times (`[batch]`), per example in nats: `[batch]`. */
  lossAt(x: tf.Tensor, t: tf.Tensor, training = true): tf.Tensor1D {
    return tf.tidy(() => {
      const batch = x.shape[0];
      const {params, netInputs} = this.flowInputs(x, t);
      const out = this.outputs(netInputs, t, training);
      const flow = this.flow;
      const xf = tf.reshape(x, [batch, -1]);
      if (out.kind === 'discrete') return bfnDiscreteLoss(xf, out.logits, t, {beta1: (flow as DiscreteFlow).beta1});
      const mu = tf.reshape(params, [batch, -1]);
      if (out.kind === 'discretised') {
        const f = flow as DiscretisedFlow;
        return bfnDiscretisedLoss(xf, mu, out.muEps, out.lnSigmaEps, t, {sigma1: f.sigma1, numBins: f.numBins});
      }
      return bfnContinuousLoss(xf, mu, out.epsHat, t, {sigma1: (flow as ContinuousFlow).sigma1});
    });
  }

  /**
   * Continuous-time loss L^inf (one t ~ U(0, 1) per example), per example in nats `[batch]`; differentiable
   * in the network's weights (train on its mean).
   */
  loss(x: tf.Tensor): tf.Tensor1D {
    this.checkData(x, 'BFN.loss');
    return tf.tidy(() => this.lossAt(x, tf.reshape(this.noise.uniform([x.shape[0]]), [-1])));
  }

  /**
   * n-step discrete-time loss L^n, per example in nats `[batch]` (Monte Carlo as the reference: one step
   * i ~ U{1..n} per example, t = (i - 1)/n, times n; `samples` sender samples for the KL of the discretised and
   * discrete types; the discrete receiver is the paper's mixture over K-dim Gaussians).
   */
  discreteTimeLoss(x: tf.Tensor, n: number, {samples = 10}: {samples?: number} = {}): tf.Tensor1D {
    this.checkData(x, 'BFN.discreteTimeLoss');
    assertPositiveInt(n, 'BFN.discreteTimeLoss', 'n');
    return tf.tidy(() => {
      const batch = x.shape[0];
      const i = tf.add(tf.floor(tf.mul(this.noise.uniform([batch]), n)), 1);  // [batch] in 1..n
      const t = tf.div(tf.sub(i, 1), n);
      return this.discreteTimeLossAt(x, i, n, samples, t);
    });
  }

  /** L^n term at given steps i `[batch]` (float, 1..n) and t = (i - 1)/n. */
  discreteTimeLossAt(x: tf.Tensor, i: tf.Tensor, n: number, samples: number, t: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => {
      const batch = x.shape[0];
      const flow = this.flow;
      const {params, netInputs} = this.flowInputs(x, t);
      const out = this.outputs(netInputs, t, false);
      const alpha = tf.reshape(this.alphaTensor(i, n), [batch, 1]);  // [batch, 1]
      if (out.kind === 'continuous') {
        const f = flow as ContinuousFlow;
        const xHat = continuousPrediction(tf.reshape(params, [batch, -1]), out.epsHat, t, f.sigma1);
        const se = tf.sum(tf.square(tf.sub(tf.reshape(x, [batch, -1]), xHat)), 1);
        return tf.mul(tf.mul(tf.reshape(alpha, [-1]), se), n / 2) as tf.Tensor1D;
      }
      if (out.kind === 'discretised') {
        const f = flow as DiscretisedFlow;
        const {muX, sigmaX} = discretisedParams(tf.reshape(params, [batch, -1]), out.muEps, out.lnSigmaEps, t, f.sigma1);
        const logP = tf.log(tf.maximum(discretisedBinProbs(muX, sigmaX, f.numBins), 1e-10));  // [batch, dim, K]
        const xf = tf.expandDims(tf.reshape(x, [batch, -1]), 2);  // [batch, dim, 1]
        const centres = tf.reshape(tf.tensor1d(f.binCentres()), [1, 1, -1]);
        const a3 = tf.expandDims(alpha, 2);
        let kl: tf.Tensor = tf.zeros([batch]);
        for (let s = 0; s < samples; s++) {
          // y ~ N(x, 1/alpha); log N(y; x) - log sum_k p_k N(y; c_k) = -logsumexp_k(log p_k - alpha (x - c_k)(2y - x - c_k)/2)
          const y = tf.add(xf, tf.div(this.noise.normal(xf.shape), tf.sqrt(a3)));
          const expo = tf.mul(tf.mul(tf.sub(xf, centres), tf.sub(tf.sub(tf.mul(y, 2), xf), centres)), tf.mul(a3, -0.5));
          kl = tf.add(kl, tf.sum(tf.neg(tf.logSumExp(tf.add(logP, expo), 2)), 1));
        }
        return tf.mul(kl, n / samples) as tf.Tensor1D;
      }
      const f = flow as DiscreteFlow;
      const logP = tf.sub(out.logits, tf.logSumExp(out.logits, 2, true));  // [batch, dim, K] (log-softmax)
      const xf = tf.reshape(x, [batch, -1]);
      const a3 = tf.expandDims(alpha, 2);
      let kl: tf.Tensor = tf.zeros([batch]);
      for (let s = 0; s < samples; s++) {
        // y ~ N(alpha (K e_x - 1), alpha K I); log N_x(y) - log sum_k p_k N_k(y) = y_x - logsumexp_k(log p_k + y_k)
        const y = tf.add(tf.mul(tf.sub(tf.mul(this.oneHot(xf, f.numClasses), f.numClasses), 1), a3),
                         tf.mul(this.noise.normal([...xf.shape, f.numClasses]), tf.sqrt(tf.mul(a3, f.numClasses))));
        const yx = tf.sum(tf.mul(y, this.oneHot(xf, f.numClasses)), 2);
        kl = tf.add(kl, tf.sum(tf.sub(yx, tf.logSumExp(tf.add(logP, y), 2)), 1));
      }
      return tf.mul(kl, n / samples) as tf.Tensor1D;
    });
  }

  private oneHot(x: tf.Tensor, K: number): tf.Tensor {
    return tf.cast(tf.equal(tf.expandDims(x, -1), tf.range(0, K, 1, 'int32')), 'float32');
  }

  private alphaTensor(i: tf.Tensor, n: number): tf.Tensor {
    const flow = this.flow;
    if (flow instanceof DiscreteFlow) return tf.mul(tf.sub(tf.mul(i, 2), 1), flow.beta1 / (n * n));
    const ln = Math.log(flow.sigma1);
    return tf.mul(tf.exp(tf.mul(i, -2 * ln / n)), -Math.expm1(2 / n * ln));
  }

  /** Reconstruction loss L^r = -log p_O(x) at t = 1, per example in nats `[batch]`. */
  reconstructionLoss(x: tf.Tensor): tf.Tensor1D {
    this.checkData(x, 'BFN.reconstructionLoss');
    return tf.tidy(() => {
      const batch = x.shape[0];
      const t = tf.ones([batch]);
      const {params, netInputs} = this.flowInputs(x, t);
      const out = this.outputs(netInputs, t, false);
      const flow = this.flow;
      if (out.kind === 'discrete') {
        const xf = tf.reshape(x, [batch, -1]);
        const f = flow as DiscreteFlow;
        const logP = tf.sub(out.logits, tf.logSumExp(out.logits, 2, true));
        return tf.neg(tf.sum(tf.sum(tf.mul(logP, this.oneHot(xf, f.numClasses)), 2), 1)) as tf.Tensor1D;
      }
      const xf = tf.reshape(x, [batch, -1]);
      const mu = tf.reshape(params, [batch, -1]);
      let muX: tf.Tensor, sigmaX: tf.Tensor, numBins: number;
      if (out.kind === 'discretised') {
        const f = flow as DiscretisedFlow;
        ({muX, sigmaX} = discretisedParams(mu, out.muEps, out.lnSigmaEps, t, f.sigma1));
        numBins = f.numBins;
      } else {
        // the reference: a discretised N(xHat, sigma1) over the bins makes the continuous loss comparable
        const f = flow as ContinuousFlow;
        muX = continuousPrediction(mu, out.epsHat, t, f.sigma1);
        sigmaX = tf.fill(muX.shape, f.sigma1);
        numBins = this.reconstructionBins;
      }
      const probs = discretisedBinProbs(muX, sigmaX, numBins);  // [batch, dim, K]
      const bin = tf.clipByValue(tf.floor(tf.mul(tf.add(tf.div(xf, 2), 0.5), numBins)), 0, numBins - 1);
      const p = tf.sum(tf.mul(probs, this.oneHot(tf.cast(bin, 'int32'), numBins)), 2);
      // as the reference: below 1e-5 the bin mass is the density at the centre times the bin width
      const centre = tf.sub(tf.div(tf.add(tf.mul(bin, 2), 1), numBins), 1);
      const logDensity = tf.sub(tf.mul(tf.square(tf.div(tf.sub(centre, muX), sigmaX)), -0.5),
                                tf.log(tf.mul(sigmaX, Math.sqrt(2 * Math.PI))));
      const logP = tf.where(tf.less(p, 1e-5), tf.add(logDensity, Math.log(2 / numBins)), tf.log(tf.maximum(p, 1e-30)));
      return tf.neg(tf.sum(logP, 1)) as tf.Tensor1D;
    });
  }

  /**
   * Samples `count` data points with `nSteps` Bayesian updates (the spec's loop: t = (i - 1)/n, sample the
   * output distribution, send it with accuracy alpha_i, update), then the output distribution's mode at t = 1.
   * Returns `[count, ...dataShape]`: float32 for continuous (xHat) and discretised data (bin centres), int32
   * class indices for discrete data.
   */
  sample(count: number, nSteps: number, options: SampleOptions = {}): tf.Tensor {
    assertPositiveInt(count, 'BFN.sample', 'count');
    assertPositiveInt(nSteps, 'BFN.sample', 'nSteps');
    assertKnownKeys('BFN.sample', options, ['onStep', 'final']);
    const shape = [count, ...this.dataShape];
    const flow = this.flow;
    if (flow instanceof DiscreteFlow) {
      let params = flow.prior(shape);
      for (let i = 1; i <= nSteps; i++) {
        const next = tf.tidy(() => {
          const t = tf.fill([count], (i - 1) / nSteps);
          const out = this.outputs(flow.netInputs(params), t, false) as {logits: tf.Tensor};
          const k = tf.reshape(this.sampleCategorical(out.logits), shape);
          const alpha = flow.alpha(i, nSteps);
          return flow.update(params, flow.senderSample(k, alpha, this.noise));
        });
        params.logits.dispose();
        params = next;
        options.onStep?.(i);
      }
      return tf.tidy(() => {
        const out = this.outputs(flow.netInputs(params), tf.ones([count]), false) as {logits: tf.Tensor};
        params.logits.dispose();
        const k = options.final === 'sample' ? this.sampleCategorical(out.logits) : tf.argMax(out.logits, 2);
        return tf.cast(tf.reshape(k, shape), 'int32');
      });
    }
    let params = flow.prior(shape);
    for (let i = 1; i <= nSteps; i++) {
      const next = tf.tidy(() => {
        const t = tf.fill([count], (i - 1) / nSteps);
        const k = tf.reshape(this.sampleOutput(params.mu, t, false), shape);
        const alpha = flow.alpha(i, nSteps);
        return flow.update(params, flow.senderSample(k, alpha, this.noise), alpha);
      });
      params.mu.dispose();
      params = next;
      options.onStep?.(i);
    }
    return tf.tidy(() => {
      const out = tf.reshape(this.sampleOutput(params.mu, tf.ones([count]), options.final !== 'sample'), shape);
      params.mu.dispose();
      return out;
    });
  }

  /** A sample (or the mode) of the continuous / discretised output distribution `[count, dim]`. */
  private sampleOutput(mu: tf.Tensor, t: tf.Tensor, mode: boolean): tf.Tensor {
    const count = mu.shape[0];
    const out = this.outputs(mu, t, false);
    const muFlat = tf.reshape(mu, [count, -1]);
    const flow = this.flow as ContinuousFlow;
    if (out.kind === 'continuous') return continuousPrediction(muFlat, out.epsHat, t, flow.sigma1);
    const f = flow as DiscretisedFlow;
    const {muX, sigmaX} = discretisedParams(muFlat, (out as {muEps: tf.Tensor}).muEps,
                                            (out as {lnSigmaEps: tf.Tensor}).lnSigmaEps, t, f.sigma1);
    let bin: tf.Tensor;
    if (mode) {
      bin = tf.argMax(discretisedBinProbs(muX, sigmaX, f.numBins), 2);
    } else {
      // sample N(muX, sigmaX) and quantise to its bin (the reference's clip = true sampler)
      const v = tf.add(muX, tf.mul(sigmaX, this.noise.normal(muX.shape)));
      bin = tf.clipByValue(tf.floor(tf.mul(tf.add(tf.div(v, 2), 0.5), f.numBins)), 0, f.numBins - 1);
    }
    return tf.sub(tf.div(tf.add(tf.mul(tf.cast(bin, 'float32'), 2), 1), f.numBins), 1);
  }

  /** Class samples `[batch, dim]` int32 from logits `[batch, dim, K]` (inverse CDF on one uniform per dim). */
  private sampleCategorical(logits: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const cdf = tf.cumsum(tf.softmax(logits), 2);
      const u = tf.expandDims(this.noise.uniform(logits.shape.slice(0, 2)), 2);
      const K = logits.shape[2] as number;
      return tf.minimum(tf.sum(tf.cast(tf.less(cdf, u), 'int32'), 2), K - 1);
    });
  }
}
