/**
 * SAC's gradient step on host backends (cpu, wasm, tensorflow), written out by hand: the networks' matMuls run as
 * tfjs kernels (XNNPACK on wasm), everything of size `[B, A]` or `[B, 1]` (the squashed Gaussian, the target, the
 * three losses and their gradients with respect to the networks' outputs) runs in plain JS in float64, and the
 * backward passes are explicit matMuls, with no gradient tape. Same mathematics as {@link updateWithTape}
 * (SB3's `train`), about a third of the kernels.
 */
import * as tf from '@tensorflow/tfjs';
import {flatVars, DenseVars} from './networks';
import {LOG_STD_MAX, LOG_STD_MIN, TANH_EPSILON} from './policy';
import type {UpdateInputs, UpdateParts} from './agent_parts';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** `x` through the ReLU layers `layers` (fused matMul + bias + ReLU), keeping each layer's input for the backward pass. */
function hidden(x: tf.Tensor2D, layers: DenseVars[]): {inputs: tf.Tensor2D[]; out: tf.Tensor2D} {
  const inputs: tf.Tensor2D[] = [];
  let h = x;
  for (const l of layers) {
    inputs.push(h);
    h = tf.fused.matMul({a: h, b: l.kernel as tf.Tensor2D, bias: l.bias, activation: 'relu'}) as tf.Tensor2D;
  }
  return {inputs, out: h};
}

/**
 * A linear layer whose output is only needed on the host (Q values, the actor's heads): a plain matMul read back,
 * the bias added in JS (on wasm a fused bias costs more than the whole `[B, H] x [H, 1]` product). `[B, out]`.
 */
function linearOnHost(h: tf.Tensor2D, l: DenseVars): Float64Array {
  const y = tf.matMul(h, l.kernel as tf.Tensor2D).dataSync(), bias = l.bias.dataSync(), n = bias.length;
  return Float64Array.from(y, (v, k) => v + bias[k % n]);
}

/** A critic on `sa` `[B, O + A]`: its hidden layers' inputs (for {@link backward}) and the Q values `[B]` on host. */
function critic(sa: tf.Tensor2D, layers: DenseVars[]): {inputs: tf.Tensor2D[]; q: Float64Array} {
  const f = hidden(sa, layers.slice(0, -1));
  return {inputs: [...f.inputs, f.out], q: linearOnHost(f.out, layers[layers.length - 1])};
}

/**
 * `a^T b` and `a b^T`: libtensorflow runs the transposed forms natively (a transpose kernel saved); wasm runs them
 * outside XNNPACK, 5-25x slower than an explicit transpose + plain matMul (cpu: the same explicit form).
 */
const nativeTransposes = () => tf.getBackend() === 'tensorflow';
const matMulTA = (a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D =>
    nativeTransposes() ? tf.matMul(a, b, true, false) : tf.matMul(tf.transpose(a) as tf.Tensor2D, b);
const matMulTB = (a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D =>
    nativeTransposes() ? tf.matMul(a, b, false, true) : tf.matMul(a, tf.transpose(b) as tf.Tensor2D);

/** `d [B, out] x W^T [out, in]` (a broadcast multiply when `out` is 1: ~10x cheaper than a K = 1 matMul on wasm). */
function backInput(d: tf.Tensor2D, kernel: tf.Tensor): tf.Tensor2D {
  return kernel.shape[1] === 1 ? tf.mul(d, tf.reshape(kernel, [1, kernel.shape[0]])) : matMulTB(d, kernel as tf.Tensor2D);
}

/**
 * Backward through the ReLU MLP `layers` (inputs of each layer from {@link critic} / {@link hidden}), from `dOut` (`[B, out]`, the gradient of the
 * loss with respect to the last layer's output). Returns `[dW, db]` per layer (with `weights`) and the gradient
 * with respect to the input `[B, in]` (with `input`). `ones` is `[1, B]` (bias gradients as matMuls: wasm's Sum
 * over axis 0 transposes first).
 */
function backward(inputs: tf.Tensor2D[], layers: DenseVars[], dOut: tf.Tensor2D, ones: tf.Tensor2D,
                  {weights, input}: {weights: boolean; input: boolean}): {grads: tf.Tensor[]; dInput: tf.Tensor2D | null} {
  const grads: tf.Tensor[] = [];
  let d = dOut;
  for (let i = layers.length - 1; i >= 0; i--) {
    const {kernel, bias} = layers[i], x = inputs[i];
    if (weights) {
      grads[2 * i] = matMulTA(x, d);                                                    // dW [in, out]
      grads[2 * i + 1] = tf.reshape(tf.matMul(ones, d), bias.shape);                    // db [out]
    }
    if (i === 0 && !input) break;
    const dx = backInput(d, kernel);                                                    // [B, in]
    d = i > 0 ? tf.mul(dx, tf.sign(x)) : dx;  // x = relu(z) >= 0 below: dz = dx (x > 0), sign(x) = step(x), one kernel everywhere
  }
  return {grads, dInput: input ? d : null};
}

/** `[s | a]` row by row: `s` `[B, O]`, `a` `[B, A]` -> `[B, O + A]`. */
function joinRows(s: Float32Array, a: ArrayLike<number>, B: number, O: number, A: number): tf.Tensor2D {
  const out = new Float32Array(B * (O + A));
  for (let b = 0; b < B; b++) {
    out.set(s.subarray(b * O, b * O + O), b * (O + A));
    for (let j = 0; j < A; j++) out[b * (O + A) + O + j] = a[b * A + j];
  }
  return tf.tensor2d(out, [B, O + A]);
}

/** The squashed Gaussian of the spec on host values (float64), with what its gradient needs. */
function squash(mu: Float64Array, logStd: Float64Array, eps: Float32Array, B: number, A: number) {
  const n = B * A;
  const action = new Float32Array(n), tanhA = new Float64Array(n), sigmaEps = new Float64Array(n);
  const inRange = new Uint8Array(n), logp = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let lp = 0;
    for (let j = 0; j < A; j++) {
      const k = b * A + j;
      const c = Math.min(Math.max(logStd[k], LOG_STD_MIN), LOG_STD_MAX);
      inRange[k] = logStd[k] >= LOG_STD_MIN && logStd[k] <= LOG_STD_MAX ? 1 : 0;  // clipByValue's gradient
      sigmaEps[k] = Math.exp(c) * eps[k];
      const a = Math.tanh(mu[k] + sigmaEps[k]);
      tanhA[k] = a;
      action[k] = a;
      lp += -0.5 * eps[k] * eps[k] - c - HALF_LOG_2PI - Math.log(1 - a * a + TANH_EPSILON);
    }
    logp[b] = lp;
  }
  return {action, tanhA, sigmaEps, inRange, logp};
}

/**
 * One gradient step as SB3's `train` (the order of {@link updateWithTape}): target with the target critics, critic
 * step, actor loss on the stepped critics, actor step, temperature step (alpha of the losses: the value before it),
 * Polyak update of the targets on host copies. Returns `[criticLoss, actorLoss, entCoefLoss, alpha]`.
 */
export function updateOnHost(p: UpdateParts, {batch, eps, epsNext}: UpdateInputs): tf.Tensor1D {
  const B = batch.rewards.length, O = p.obsDim, A = p.actionDim;
  const [c1, c2] = p.criticLayers, [t1, t2] = p.targetLayers;
  const trunk = p.actorLayers.slice(0, -2), [muL, logStdL] = p.actorLayers.slice(-2);
  const logAlpha = (p.logEntCoef.dataSync() as Float32Array)[0], alpha = Math.exp(logAlpha);
  const actorHeads = (obs: tf.Tensor2D) => {
    const f = hidden(obs, trunk), h = f.out;  // h [B, H] after the trunk's ReLU
    return {f, h, mu: linearOnHost(h, muL), logStd: linearOnHost(h, logStdL)};
  };
  return tf.tidy(() => {
    const ones = tf.ones([1, B]) as tf.Tensor2D;
    // target y = r + gamma (1 - terminated) (min_i Qtarg_i(s', a') - alpha logp'), a' ~ pi(s')
    const next = actorHeads(tf.tensor2d(batch.nextObservations, [B, O]));
    const sq = squash(next.mu, next.logStd, epsNext, B, A);
    const saNext = joinRows(batch.nextObservations, sq.action, B, O, A);
    const q1t = critic(saNext, t1).q, q2t = critic(saNext, t2).q;
    const y = new Float64Array(B);
    for (let b = 0; b < B; b++) {
      y[b] = batch.rewards[b] + p.gamma * (1 - batch.terminated[b]) * (Math.min(q1t[b], q2t[b]) - alpha * sq.logp[b]);
    }
    // critics: L_Q = 0.5 sum_i mean((Q_i(s, a) - y)^2); dL/dQ_i = (Q_i - y) / B
    const sa = joinRows(batch.observations, batch.actions, B, O, A);
    let criticLoss = 0;
    const criticGrads = [c1, c2].flatMap((c) => {
      const f = critic(sa, c);
      const q = f.q, dq = new Float32Array(B);
      for (let b = 0; b < B; b++) {
        criticLoss += 0.5 * (q[b] - y[b]) ** 2 / B;
        dq[b] = (q[b] - y[b]) / B;
      }
      return backward(f.inputs, c, tf.tensor2d(dq, [B, 1]), ones, {weights: true, input: false}).grads;
    });
    const criticVars = [...flatVars(c1), ...flatVars(c2)];
    const newCritic = p.criticOptimizer.apply(criticVars, criticGrads)!;
    // actor: L_pi = mean(alpha logp - min_i Q_i(s, a_pi)) on the stepped critics
    const obs = tf.tensor2d(batch.observations, [B, O]);
    const pi = actorHeads(obs);
    const s = squash(pi.mu, pi.logStd, eps, B, A);
    const saPi = joinRows(batch.observations, s.action, B, O, A);
    const f1 = critic(saPi, c1), f2 = critic(saPi, c2);
    const q1 = f1.q, q2 = f2.q;
    const dq1 = new Float32Array(B), dq2 = new Float32Array(B);
    let actorLoss = 0, sumLogp = 0;
    for (let b = 0; b < B; b++) {
      actorLoss += (alpha * s.logp[b] - Math.min(q1[b], q2[b])) / B;
      sumLogp += s.logp[b];
      if (q1[b] <= q2[b]) dq1[b] = -1 / B; else dq2[b] = -1 / B;  // tf.minimum's gradient: ties to the first
    }
    const back = (f: typeof f1, c: DenseVars[], dq: Float32Array) =>
        backward(f.inputs, c, tf.tensor2d(dq, [B, 1]), ones, {weights: false, input: true}).dInput!.dataSync();
    const dsa1 = back(f1, c1, dq1), dsa2 = back(f2, c2, dq2);  // [B, O + A]: the action columns are dL/da
    const dMu = new Float32Array(B * A), dLogStd = new Float32Array(B * A);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < A; j++) {
        const k = b * A + j, a = s.tanhA[k], oneMinusA2 = 1 - a * a;
        const dA = dsa1[b * (O + A) + O + j] + dsa2[b * (O + A) + O + j];
        // d logp / du = 2 a (1 - a^2) / (1 - a^2 + 1e-6) (the -eps^2/2 term is constant in mu and logStd)
        const dU = alpha / B * 2 * a * oneMinusA2 / (oneMinusA2 + TANH_EPSILON) + dA * oneMinusA2;
        dMu[k] = dU;                                                       // du/dmu = 1
        dLogStd[k] = s.inRange[k] * (-alpha / B + dU * s.sigmaEps[k]);   // logp has -c; du/dc = sigma eps
      }
    }
    const dMuT = tf.tensor2d(dMu, [B, A]), dLogStdT = tf.tensor2d(dLogStd, [B, A]);
    const hT = nativeTransposes() ? null : tf.transpose(pi.h) as tf.Tensor2D;  // one transpose for both heads
    const headW = (d: tf.Tensor2D) => hT === null ? matMulTA(pi.h, d) : tf.matMul(hT, d);
    const headGrads = [headW(dMuT), tf.reshape(tf.matMul(ones, dMuT), [A]),
                       headW(dLogStdT), tf.reshape(tf.matMul(ones, dLogStdT), [A])];
    const actorGrads: tf.Tensor[] = [];
    if (trunk.length > 0) {
      const dh = tf.add(backInput(dMuT, muL.kernel), backInput(dLogStdT, logStdL.kernel)) as tf.Tensor2D;  // [B, H]
      actorGrads.push(...backward(pi.f.inputs, trunk, tf.mul(dh, tf.sign(pi.h)) as tf.Tensor2D, ones,
                                  {weights: true, input: false}).grads);
    }
    actorGrads.push(...headGrads);
    p.actorOptimizer.apply(flatVars(p.actorLayers), actorGrads);
    // temperature: L_alpha = -logAlpha (mean logp + targetEntropy); gradient -(mean logp + targetEntropy)
    const entTerm = sumLogp / B + p.targetEntropy;
    const entLoss = -logAlpha * entTerm;
    if (p.entCoefOptimizer !== null) p.entCoefOptimizer.apply([p.logEntCoef], [tf.scalar(-entTerm)]);
    // Polyak: target <- (1 - tau) target + tau critic, over host copies
    [...flatVars(t1), ...flatVars(t2)].forEach((t, i) => {
      const tv = p.targetMirror.read(t), cv = newCritic[i], out = new Float32Array(tv.length);
      for (let k = 0; k < tv.length; k++) out[k] = (1 - p.tau) * tv[k] + p.tau * cv[k];
      p.targetMirror.write(t, out);
    });
    return tf.tensor1d([criticLoss, actorLoss, entLoss, alpha]);
  });
}
