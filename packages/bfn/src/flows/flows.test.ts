import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {describeBackends} from '@tfjs-ext/core/testing';
import {ContinuousFlow, DiscreteFlow, NoiseSource} from './flows';

/** Mean and variance of a flat array. */
function moments(v: ArrayLike<number>): [number, number] {
  let m = 0;
  for (let i = 0; i < v.length; i++) m += v[i];
  m /= v.length;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] - m) ** 2;
  return [m, s / (v.length - 1)];
}

describeBackends('bfn: flows', ({backend}) => {
  // N independent chains; the statistical tolerance is 5 standard errors (mean: sqrt(var/N); variance:
  // var sqrt(2/(N-1)) for a normal, and a generous 2x that for the non-normal theta).
  const N = 8192;

  it('continuous: n sender updates reproduce the flow distribution N(gamma x, gamma (1 - gamma)) at t = i/n', async () => {
    const sigma1 = Math.sqrt(1e-3), n = 10;
    const flow = new ContinuousFlow({sigma1});
    const noise = new NoiseSource(11);
    const x = tf.fill([N], 0.4);
    let params = flow.prior([N]);
    for (let i = 1; i <= n; i++) {
      const y = flow.senderSample(x, flow.alpha(i, n), noise);
      const next = flow.update(params, y, flow.alpha(i, n));
      tf.dispose([y, params.mu]);
      params = next;
      if (i !== 3 && i !== n) continue;
      const t = i / n, gamma = 1 - sigma1 ** (2 * t);
      expect(params.rho).to.be.closeTo(sigma1 ** (-2 * t), 1e-9 * params.rho);  // precision 1 + sum alpha
      const [m, v] = moments(await params.mu.data());
      const varExact = gamma * (1 - gamma);
      expect(Math.abs(m - gamma * 0.4)).to.be.lessThan(5 * Math.sqrt(varExact / N));
      expect(Math.abs(v - varExact)).to.be.lessThan(5 * varExact * Math.sqrt(2 / (N - 1)));
      // and the flow sample at the same t has the same moments
      const tT = tf.fill([N], t);
      const direct = flow.flowSample(tf.reshape(x, [N, 1]), tT, noise);
      const [m2, v2] = moments(await direct.data());
      expect(Math.abs(m2 - gamma * 0.4)).to.be.lessThan(5 * Math.sqrt(varExact / N));
      expect(Math.abs(v2 - varExact)).to.be.lessThan(5 * varExact * Math.sqrt(2 / (N - 1)));
      tf.dispose([tT, direct]);
    }
    tf.dispose([x, params.mu]);
  });

  it('discrete: n accumulated sender samples reproduce the flow distribution of theta at t = i/n (K = 3)', async function() {
    // ~20 s of shader compilation on SwiftShader for plain tf ops; the same ops run on every other backend.
    if (backend === 'webgpu') this.skip();
    const K = 3, n = 8;
    const flow = new DiscreteFlow({numClasses: K, sqrtBeta1: 1.5});
    const noise = new NoiseSource(5);
    const x = tf.fill([N], 1, 'int32');
    let params = flow.prior([N]);
    for (let i = 1; i <= n; i++) {
      const next = tf.tidy(() => flow.update(params, flow.senderSample(x, flow.alpha(i, n), noise)));
      params.logits.dispose();
      params = next;
      if (i !== 4 && i !== n) continue;
      const t = i / n, beta = flow.beta(t);
      // accumulated logits: mean beta (K e_x - 1), variance beta K (sum of alpha_j = beta(t))
      const logits = await params.logits.data();
      const col = (k: number) => Float64Array.from({length: N}, (_, j) => logits[j * K + k]);
      for (let k = 0; k < K; k++) {
        const [m, v] = moments(col(k));
        const mean = beta * (k === 1 ? K - 1 : -1);
        expect(Math.abs(m - mean)).to.be.lessThan(5 * Math.sqrt(beta * K / N));
        expect(Math.abs(v - beta * K)).to.be.lessThan(5 * beta * K * Math.sqrt(2 / (N - 1)));
      }
      // theta = softmax(logits) against the flow sample at t
      const theta = tf.softmax(params.logits);
      const tT = tf.fill([N], t);
      const direct = flow.flowSample(x, tT, noise);
      const [a, b] = await Promise.all([theta.data(), direct.data()]);
      const [m1, v1] = moments(Float64Array.from({length: N}, (_, j) => a[j * K + 1]));
      const [m2, v2] = moments(Float64Array.from({length: N}, (_, j) => b[j * K + 1]));
      expect(Math.abs(m1 - m2)).to.be.lessThan(5 * Math.sqrt((v1 + v2) / N));
      expect(Math.abs(v1 - v2)).to.be.lessThan(10 * Math.max(v1, v2) * Math.sqrt(2 / (N - 1)));
      tf.dispose([theta, tT, direct]);
    }
    tf.dispose([x, params.logits]);
  });

  it('schedules: alpha_i sums to beta(1) (continuous: sigma1^-2 - 1; discrete: beta1) and the prior', async () => {
    const c = new ContinuousFlow({sigma1: 0.01}), d = new DiscreteFlow({numClasses: 4, sqrtBeta1: 3});
    for (const n of [1, 7, 100]) {
      let sc = 0, sd = 0;
      for (let i = 1; i <= n; i++) {
        sc += c.alpha(i, n);
        sd += d.alpha(i, n);
      }
      expect(sc).to.be.closeTo(c.beta(1), 1e-9 * c.beta(1));
      expect(sd).to.be.closeTo(9, 1e-12);
    }
    const p = d.prior([2, 3]);
    expect(p.logits.shape).to.deep.equal([2, 3, 4]);
    const theta = tf.softmax(p.logits);
    expect(Array.from(await theta.data()).every((v) => Math.abs(v - 0.25) < 1e-7)).to.equal(true);
    tf.dispose([p.logits, theta]);
    expect(() => new ContinuousFlow({sigma1: 1})).to.throw('sigma1');
    expect(() => new DiscreteFlow({numClasses: 1, sqrtBeta1: 1})).to.throw('numClasses');
  });
});
