/**
 * SAC's gradient step with tfjs gradients (`tf.variableGrads` over the networks' variables, one tape per loss):
 * the path of device backends (webgpu, webgl), where values are not read back during the step. Same mathematics
 * as {@link updateOnHost}.
 */
import * as tf from '@tensorflow/tfjs';
import {actorForward, flatVars, mlp, Tape} from './networks';
import {squashedGaussian} from './policy';
import {softQTarget} from './soft_q_target';
import type {UpdateInputs, UpdateParts} from './agent_parts';

/**
 * One gradient step as SB3's `train`: temperature loss, critic loss against the target, critic step, actor loss on
 * the updated critics, actor step, temperature step, Polyak update of the target critics. Returns
 * `[criticLoss, actorLoss, entCoefLoss, alpha]`.
 */
export function updateWithTape(p: UpdateParts, {batch, eps, epsNext}: UpdateInputs): tf.Tensor1D {
  const B = batch.rewards.length, O = p.obsDim, A = p.actionDim;
  const [c1, c2] = p.criticLayers, [t1, t2] = p.targetLayers;
  const tape: Tape = [];  // forward tensors kept for a backward pass, freed right after it
  try {
    return tf.tidy(() => {
      const obs = tf.tensor2d(batch.observations, [B, O]);
      const nextObs = tf.tensor2d(batch.nextObservations, [B, O]);
      const actions = tf.tensor2d(batch.actions, [B, A]);
      const rewards = tf.tensor2d(batch.rewards, [B, 1]);
      const notDone = tf.tensor2d(batch.terminated.map((d) => 1 - d), [B, 1]);
      const alpha = tf.exp(p.logEntCoef);  // the value before this step's temperature update, as SB3
      // target y = r + gamma (1 - terminated) (min_i Qtarg_i(s', a') - alpha logp'), no gradient
      const next = actorForward(nextObs, p.actorLayers);
      const {action: aNext, logProb: logpNext} = squashedGaussian(next.mu, next.logStd, tf.tensor2d(epsNext, [B, A]));
      const saNext = tf.concat([nextObs, aNext], 1);                                      // [B, O + A]
      const y = softQTarget(rewards, notDone, tf.minimum(mlp(saNext, t1), mlp(saNext, t2)), logpNext, alpha, p.gamma);
      const sa = tf.concat([obs, actions], 1);
      const criticVars = [...flatVars(c1), ...flatVars(c2)];
      const critic = tf.variableGrads(() => tf.mul(0.5, tf.add(tf.mean(tf.squaredDifference(mlp(sa, c1, tape), y)),
                                                                 tf.mean(tf.squaredDifference(mlp(sa, c2, tape), y)))) as tf.Scalar,
                                      criticVars);
      const newCritic = p.criticOptimizer.apply(criticVars, criticVars.map((v) => critic.grads[v.name]));
      tf.dispose(tape.splice(0));
      const epsT = tf.tensor2d(eps, [B, A]);
      let meanLogp: tf.Scalar | null = null;
      const actor = tf.variableGrads(() => {
        const {mu, logStd} = actorForward(obs, p.actorLayers, tape);
        const {action, logProb} = squashedGaussian(mu, logStd, epsT);
        meanLogp = tf.keep(tf.mean(logProb));
        const saPi = tf.concat([obs, action], 1);
        const qPi = tf.minimum(mlp(saPi, c1, tape, true), mlp(saPi, c2, tape, true));  // [B, 1], updated critics
        return tf.mean(tf.sub(tf.mul(alpha, logProb), qPi)) as tf.Scalar;
      }, flatVars(p.actorLayers));
      p.actorOptimizer.apply(flatVars(p.actorLayers), flatVars(p.actorLayers).map((v) => actor.grads[v.name]));
      tf.dispose(tape.splice(0));
      const logp = meanLogp as unknown as tf.Scalar;
      // L_alpha = -mean(logAlpha (logp + targetEntropy)): gradient -mean(logp) - targetEntropy
      const entTerm = tf.add(logp, p.targetEntropy);
      const entLoss = tf.neg(tf.mul(p.logEntCoef, entTerm));
      if (p.entCoefOptimizer !== null) p.entCoefOptimizer.apply([p.logEntCoef], [tf.neg(entTerm)]);
      logp.dispose();
      // Polyak: target <- (1 - tau) target + tau critic (host Adam: over the stepped values it returned)
      [...flatVars(t1), ...flatVars(t2)].forEach((t, i) => {
        if (newCritic !== null) {
          const tv = p.targetMirror.read(t), cv = newCritic[i], out = new Float32Array(tv.length);
          for (let k = 0; k < tv.length; k++) out[k] = (1 - p.tau) * tv[k] + p.tau * cv[k];
          p.targetMirror.write(t, out);
        } else {
          t.assign(tf.add(tf.mul(1 - p.tau, t), tf.mul(p.tau, criticVars[i])));
        }
      });
      return tf.stack([critic.value, actor.value, entLoss, alpha]) as tf.Tensor1D;
    });
  } finally {
    tf.dispose(tape);
  }
}
