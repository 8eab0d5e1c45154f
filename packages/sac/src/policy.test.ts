import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {checkGradients, describeBackends, expectClose, expectNoLeaks, randomArray, randomNormalArray} from '@tfjs-ext/core/testing';
import {squashedGaussian} from './policy';

/** Float64 oracle from the spec: logStd clamped to [-20, 2], u = mu + sigma eps, a = tanh(u),
 *  log pi = sum_i [log N(u_i; mu_i, sigma_i) - log(1 - a_i^2 + 1e-6)], the density evaluated at u. */
function reference(mu: Float64Array, logStd: Float64Array, eps: Float64Array, A: number) {
  const B = mu.length / A;
  const action = new Float64Array(mu.length), logProb = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let lp = 0;
    for (let i = 0; i < A; i++) {
      const k = b * A + i;
      const ls = Math.min(Math.max(logStd[k], -20), 2);
      const sigma = Math.exp(ls);
      const u = mu[k] + sigma * eps[k];
      const a = Math.tanh(u);
      action[k] = a;
      const z = (u - mu[k]) / sigma;
      lp += -0.5 * z * z - Math.log(sigma) - 0.5 * Math.log(2 * Math.PI) - Math.log(1 - a * a + 1e-6);
    }
    logProb[b] = lp;
  }
  return {action, logProb};
}

describeBackends('squashedGaussian', () => {
  const B = 6, A = 2;

  it('matches the float64 log-prob, including clamped logStd and saturated tanh', async () => {
    const mu = randomArray(B * A, 1, -2, 2);
    const logStd = randomArray(B * A, 2, -3, 0);  // |u| <= ~5: away from the float32 rounding zone of tanh
    const eps = randomNormalArray(B * A, 3);
    mu[0] = 12; eps[0] = 1; logStd[0] = 0;      // tanh(13) = 1 in float32: the 1e-6 keeps the log finite
    mu[3] = -15; logStd[3] = 5; eps[3] = 0.5;   // logStd above 2: clamped; u = -15 + 0.5 e^2 saturated
    logStd[5] = -30;                            // below -20: clamped
    const ref = reference(mu, logStd, eps, A);
    const t = (x: Float64Array) => tf.tensor2d(Float32Array.from(x), [B, A]);
    const [m, s, e] = [t(mu), t(logStd), t(eps)];
    const {action, logProb} = squashedGaussian(m, s, e);
    expectClose(await action.data(), ref.action, {rtol: 1e-5, atol: 1e-6, name: 'action'});
    expect(logProb.shape).to.deep.equal([B, 1]);
    expectClose(await logProb.data(), ref.logProb, {rtol: 1e-4, atol: 2e-4, name: 'logProb'});
    const lp = await logProb.data();
    // the saturated rows hit the 1e-6 floor: -log(1e-6) = 13.8 per saturated dimension, finite
    expect(Number.isFinite(lp[0]) && Number.isFinite(lp[1])).to.equal(true);
    tf.dispose([m, s, e, action, logProb]);
  });

  it('has the float64 gradients in mu and logStd (unsaturated)', async () => {
    const eps = randomNormalArray(B * A, 4);
    await checkGradients({
      f: (mu, logStd) => {
        const {action, logProb} = squashedGaussian(mu as tf.Tensor2D, logStd as tf.Tensor2D, tf.tensor2d(Float32Array.from(eps), [B, A]));
        return tf.concat([tf.reshape(action, [-1]), tf.reshape(logProb, [-1])]);
      },
      reference: (mu, logStd) => {
        const r = reference(mu, logStd, Float64Array.from(eps, Math.fround), A);
        return Float64Array.from([...r.action, ...r.logProb]);
      },
      inputs: [{shape: [B, A], values: randomArray(B * A, 5, -1, 1)}, {shape: [B, A], values: randomArray(B * A, 6, -1.5, 0.5)}],
      rtol: 5e-3, atol: 5e-3,
    });
  });

  it('leaks nothing', async () => {
    const mu = tf.zeros([B, A]) as tf.Tensor2D, s = tf.zeros([B, A]) as tf.Tensor2D, e = tf.ones([B, A]) as tf.Tensor2D;
    await expectNoLeaks(() => squashedGaussian(mu, s, e));
    tf.dispose([mu, s, e]);
  });
});

