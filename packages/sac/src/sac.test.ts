import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {describeBackends, expectClose, expectNoLeaks, expectThrowsMatching, randomArray} from '@tfjs-ext/core/testing';
import {Env} from './envs/env';
import {Pendulum} from './envs/pendulum';
import {SAC, softQTarget} from './sac';
import {squashedGaussian} from './policy';

/** A 3-D observation, 2-D action env with asymmetric bounds; episodes of 7 steps, terminal when obs[0] > 1. */
class ToyEnv implements Env {
  observationSpace = {shape: [3], low: [-Infinity, -Infinity, -Infinity], high: [Infinity, Infinity, Infinity]};
  actionSpace = {shape: [2], low: [-2, 0], high: [2, 1]};
  private s = new Float32Array(3);
  private t = 0;
  reset(seed = 0): Float32Array {
    this.s = Float32Array.of(Math.sin(seed), Math.cos(seed), 0.1);
    this.t = 0;
    return this.s.slice();
  }
  step(a: ArrayLike<number>) {
    this.t++;
    this.s = Float32Array.of(this.s[1] * 0.9 + a[0] * 0.1, this.s[0] - a[1] * 0.2, this.t / 10);
    return {observation: this.s.slice(), reward: -a[0] * a[0] + this.s[0], terminated: this.s[0] > 1, truncated: this.t >= 7};
  }
}

// ---- float64 recomputation, written from the spec (no code shared with the agent) ----
type Mat = {w: Float64Array; b: Float64Array; nIn: number; nOut: number};
async function layersOf(model: tf.LayersModel): Promise<Mat[]> {
  const ws = await Promise.all(model.getWeights().map((t) => t.data()));
  const out: Mat[] = [];
  for (let i = 0; i < ws.length; i += 2) {
    const nOut = ws[i + 1].length;
    out.push({w: Float64Array.from(ws[i]), b: Float64Array.from(ws[i + 1]), nIn: ws[i].length / nOut, nOut});
  }
  return out;
}
function dense(x: number[], m: Mat, relu: boolean): number[] {
  const y: number[] = [];
  for (let j = 0; j < m.nOut; j++) {
    let s = m.b[j];
    for (let i = 0; i < m.nIn; i++) s += x[i] * m.w[i * m.nOut + j];
    y.push(relu ? Math.max(0, s) : s);
  }
  return y;
}
function q(critic: Mat[], s: number[], a: number[]): number {
  let h = [...s, ...a];
  critic.forEach((m, i) => { h = dense(h, m, i < critic.length - 1); });
  return h[0];
}
function actorSample(actor: Mat[], s: number[], eps: number[]): {a: number[]; logp: number} {
  let h = s;
  for (const m of actor.slice(0, -2)) h = dense(h, m, true);
  const mu = dense(h, actor[actor.length - 2], false), logStd = dense(h, actor[actor.length - 1], false);
  const a: number[] = [];
  let logp = 0;
  mu.forEach((m, i) => {
    const ls = Math.min(Math.max(logStd[i], -20), 2), sd = Math.exp(ls);
    const u = m + sd * eps[i];
    a.push(Math.tanh(u));
    logp += -0.5 * ((u - m) / sd) ** 2 - ls - 0.5 * Math.log(2 * Math.PI) - Math.log(1 - Math.tanh(u) ** 2 + 1e-6);
  });
  return {a, logp};
}
const row = (x: Float32Array, i: number, n: number) => Array.from(x.subarray(i * n, i * n + n));

describeBackends('SAC', ({backend}) => {
  // webgpu / webgl here run on SwiftShader (CPU emulation): fewer updates there, the same checks
  const light = backend !== 'cpu' && backend !== 'wasm';
  const B = 8, O = 3, A = 2, gamma = 0.9, tau = 0.05, lr = 1e-3;
  const options = {netArch: [8, 8], batchSize: B, learningStarts: 0, bufferSize: 64, entCoef: 'auto_0.5' as const,
                   gamma, tau, learningRate: lr, seed: 3};
  const batch = {
    observations: Float32Array.from(randomArray(B * O, 1, -1, 1)),
    actions: Float32Array.from(randomArray(B * A, 2, -1, 1)),
    rewards: Float32Array.from(randomArray(B, 3, -1, 1)),
    nextObservations: Float32Array.from(randomArray(B * O, 4, -1, 1)),
    terminated: Float32Array.from([0, 1, 0, 0, 0, 0, 1, 0]),
  };
  const eps = Float32Array.from(randomArray(B * A, 5, -1.5, 1.5));
  const epsNext = Float32Array.from(randomArray(B * A, 6, -1.5, 1.5));

  // both implementations of the step where values read back synchronously (the hand-written one runs by default there)
  const paths = light ? ['auto'] as const : ['host', 'tape'] as const;
  for (const path of paths) it(`one update on a fixed batch (${path}): the three losses, the target update and the temperature step in float64`, async () => {
    const agent = new SAC(new ToyEnv(), options);
    const [actor, c1, c2, t1, t2] = await Promise.all([agent.actor, agent.critic1, agent.critic2, agent.criticTarget1,
                                                       agent.criticTarget2].map(layersOf));
    const logAlpha = Math.log(0.5), alpha = 0.5, H = -A;
    agent.update(batch, eps, epsNext, path);
    const losses = (await agent.losses())!;
    const [c1New, c2New, t1New, t2New] = await Promise.all([agent.critic1, agent.critic2, agent.criticTarget1,
                                                            agent.criticTarget2].map(layersOf));
    let criticLoss = 0, actorLoss = 0, sumLogp = 0;
    for (let i = 0; i < B; i++) {
      const s = row(batch.observations, i, O), s2 = row(batch.nextObservations, i, O), a = row(batch.actions, i, A);
      const next = actorSample(actor, s2, row(epsNext, i, A));
      const y = batch.rewards[i] + gamma * (1 - batch.terminated[i]) *
          (Math.min(q(t1, s2, next.a), q(t2, s2, next.a)) - alpha * next.logp);
      criticLoss += 0.5 * ((q(c1, s, a) - y) ** 2 + (q(c2, s, a) - y) ** 2) / B;
      const pi = actorSample(actor, s, row(eps, i, A));
      actorLoss += (alpha * pi.logp - Math.min(q(c1New, s, pi.a), q(c2New, s, pi.a))) / B;  // critics after their step
      sumLogp += pi.logp;
    }
    const entCoefLoss = -logAlpha * (sumLogp / B + H);
    expectClose([losses.criticLoss, losses.actorLoss, losses.entCoefLoss!, losses.entCoef],
                [criticLoss, actorLoss, entCoefLoss, alpha], {rtol: 1e-4, atol: 1e-5, name: 'losses'});
    // Polyak: target <- (1 - tau) target + tau critic (the stepped critic)
    for (const [tOld, tNew, cNew] of [[t1, t1New, c1New], [t2, t2New, c2New]] as const) {
      tOld.forEach((m, l) => {
        expectClose(tNew[l].w, Array.from(m.w, (v, k) => (1 - tau) * v + tau * cNew[l].w[k]), {rtol: 1e-5, atol: 1e-7});
        expectClose(tNew[l].b, Array.from(m.b, (v, k) => (1 - tau) * v + tau * cNew[l].b[k]), {rtol: 1e-5, atol: 1e-7});
      });
    }
    // Adam's first step moves each parameter by lr * sign(gradient): the temperature's gradient is
    // -(mean logp + targetEntropy)
    const g = -(sumLogp / B + H);
    expectClose([Math.log(await agent.entCoef())], [logAlpha - lr * Math.sign(g)], {rtol: 1e-5, atol: 1e-6, name: 'logAlpha'});
    // the critics' output bias: dL/db = mean(Q_i(s, a) - y), stepped against its sign
    const qBias = c1New[c1New.length - 1].b[0], qBiasOld = c1[c1.length - 1].b[0];
    let dB = 0;
    for (let i = 0; i < B; i++) {
      const s = row(batch.observations, i, O), s2 = row(batch.nextObservations, i, O), a = row(batch.actions, i, A);
      const next = actorSample(actor, s2, row(epsNext, i, A));
      const y = batch.rewards[i] + gamma * (1 - batch.terminated[i]) *
          (Math.min(q(t1, s2, next.a), q(t2, s2, next.a)) - alpha * next.logp);
      dB += (q(c1, s, a) - y) / B;
    }
    expectClose([qBias], [qBiasOld - lr * Math.sign(dB)], {rtol: 1e-5, atol: 1e-6, name: 'critic1 q bias'});
    // the actor's mu-head biases: float64 central differences of the actor loss, stepped against their sign
    const muHead = actor[actor.length - 2];
    const actorLossWith = (bias: Float64Array) => {
      const act = actor.map((m, l) => l === actor.length - 2 ? {...m, b: bias} : m);
      let L = 0;
      for (let i = 0; i < B; i++) {
        const s = row(batch.observations, i, O), pi = actorSample(act, s, row(eps, i, A));
        L += (alpha * pi.logp - Math.min(q(c1New, s, pi.a), q(c2New, s, pi.a))) / B;
      }
      return L;
    };
    const actorNew = await layersOf(agent.actor);
    for (let j = 0; j < A; j++) {
      const plus = muHead.b.slice(), minus = muHead.b.slice();
      plus[j] += 1e-6;
      minus[j] -= 1e-6;
      const grad = (actorLossWith(plus) - actorLossWith(minus)) / 2e-6;
      expectClose([actorNew[actor.length - 2].b[j]], [muHead.b[j] - lr * Math.sign(grad)], {rtol: 1e-5, atol: 1e-6,
        name: `actor mu bias ${j}`});
    }
    agent.dispose();
  });

  if (!light) {
    it('the hand-written step and the tfjs-gradient step agree on every parameter (two updates)', async () => {
      const [hand, taped] = [new SAC(new ToyEnv(), options), new SAC(new ToyEnv(), options)];
      for (let k = 0; k < 2; k++) {
        hand.update(batch, eps, epsNext, 'host');
        taped.update(batch, eps, epsNext, 'tape');
      }
      // Adam's first steps move each parameter by about lr * sign(gradient): every gradient's sign is compared
      for (const key of ['actor', 'critic1', 'critic2', 'criticTarget1', 'criticTarget2'] as const) {
        const a = await Promise.all(hand[key].getWeights().map((t) => t.data()));
        const b = await Promise.all(taped[key].getWeights().map((t) => t.data()));
        a.forEach((w, i) => expectClose(w, b[i], {rtol: 1e-4, atol: 2e-5, name: `${key} weight ${i}`}));
      }
      expectClose([await hand.entCoef()], [await taped.entCoef()], {rtol: 1e-6, atol: 1e-7, name: 'entCoef'});
      hand.dispose();
      taped.dispose();
    });
  }

  it('predicts tanh(mu) deterministically, the squashed Gaussian sample otherwise, scaled to the action box', async () => {
    const agent = new SAC(new ToyEnv(), options);
    const obs = [0.3, -0.2, 0.5];
    const [mu, logStd] = agent.actor.predict(tf.tensor2d([obs])) as tf.Tensor2D[];
    const state = agent.rng.getState();
    const eps = tf.tensor2d([[agent.rng.normal(), agent.rng.normal()]]);
    agent.rng.setState(state);
    const scale = (a: ArrayLike<number>) => [-2 + (a[0] + 1) * 2, 0 + (a[1] + 1) / 2];  // box [-2, 2] x [0, 1]
    const {action} = squashedGaussian(mu, logStd, eps);
    const want = scale(await action.data());
    // predict reads back synchronously, which it refuses on webgpu (tfjs reads through a canvas there: none in
    // Node; in Chromium over SwiftShader it read zeros and broke later reads); predictAsync is the API there, checked on every backend.
    if (tf.getBackend() === 'webgpu') {
      expect(() => agent.predict(obs)).to.throw(/predictAsync/);
    } else {
      expectClose(agent.predict(obs), want, {rtol: 1e-5, atol: 1e-6, name: 'stochastic'});
    }
    agent.rng.setState(state);
    expectClose(await agent.predictAsync(obs), want, {rtol: 1e-5, atol: 1e-6, name: 'stochastic (async)'});
    expectClose(await agent.predictAsync(obs, {deterministic: true}), scale(await tf.tanh(mu).data()),
                {rtol: 1e-5, atol: 1e-6, name: 'deterministic'});
    tf.dispose([mu, logStd, eps, action]);
    agent.dispose();
  });

  it('keeps the target [B, 1]: a [B] reward is refused rather than broadcast to [B, B]', () => {
    const col = tf.zeros([4, 1]);
    const flat = tf.zeros([4]);
    expectThrowsMatching(() => softQTarget(flat, col, col, col, 1, 0.99), ['rewards', '[4, 1]', 'got [4]']);
    const y = softQTarget(col, col, col, col, 1, 0.99);
    expect(y.shape).to.deep.equal([4, 1]);
    tf.dispose([col, flat, y]);
  });

  it('leaks nothing over updates and steps', async () => {
    const agent = new SAC(new ToyEnv(), options);
    if (light) {  // one warm-up update (creates the Adam state), one checked
      for (let i = 0; i < B; i++) agent.replayBuffer.add([i, 0, 1], [0.1, -0.2], 0.5, [0, i, 1], false);
      agent.train(1);
      await expectNoLeaks(async () => {
        agent.train(1);
        await agent.predictAsync([0, 0, 0], {deterministic: true});
      }, 'SAC update');
    } else {
      await agent.learn({totalSteps: 3});  // creates the Adam state
      await expectNoLeaks(async () => {
        agent.train(10);
        await agent.learn({totalSteps: 5});
        await agent.predictAsync([0, 0, 0], {deterministic: true});
        agent.predict([0, 0, 0]);
      }, 'SAC updates');
    }
    agent.dispose();
  });

  it('refuses envs whose spaces do not fit, unknown options and bad values', () => {
    const bad = (space: object) => Object.assign(new ToyEnv(), {actionSpace: space});
    expectThrowsMatching(() => new SAC(bad({n: 3})), ['actionSpace', 'discrete']);
    expectThrowsMatching(() => new SAC(bad({shape: [2, 2], low: [0, 0], high: [1, 1]})), ['actionSpace', 'not 1-D']);
    expectThrowsMatching(() => new SAC(bad({shape: [1], low: [-Infinity], high: [1]})), ['actionSpace', 'unbounded']);
    expectThrowsMatching(() => new SAC(new ToyEnv(), {learningrate: 1e-3} as any), ['learningrate', 'learningRate']);
    expectThrowsMatching(() => new SAC(new ToyEnv(), {batchSize: 0}), ['batchSize', 'positive integer']);
    expectThrowsMatching(() => new SAC(new ToyEnv(), {entCoef: 'sometimes' as any}), ['entCoef']);
    const agent = new SAC(new ToyEnv(), options);
    expectThrowsMatching(() => agent.predict([1, 2]), ['observation', '3 values']);
    agent.dispose();
  });
});

// The training loop, checkpoints and a smoke run: backend-independent logic over the update tested above; on
// cpu and wasm only (SwiftShader's emulated webgpu/webgl would take minutes for these update counts).
describeBackends('SAC training loop', () => {
  const B = 8;
  const options = {netArch: [8, 8], batchSize: B, learningStarts: 5, bufferSize: 64, entCoef: 'auto_0.5' as const,
                   gamma: 0.9, tau: 0.05, learningRate: 1e-3, seed: 3};

  it('save / load restores everything: the next updates are identical', async () => {
    const agent = new SAC(new ToyEnv(), options);
    const first = 12, more = 6;
    await agent.learn({totalSteps: first});
    let saved: tf.io.ModelArtifacts | undefined;
    await agent.save(tf.io.withSaveHandler(async (a) => {
      saved = a;
      return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
    }), {includeReplayBuffer: true});
    const copy = await SAC.load(tf.io.fromMemory(saved!), new ToyEnv());
    expect(copy.numTimesteps).to.equal(first);
    expect(copy.replayBuffer.size).to.equal(first);
    agent.setRunState(agent.getRunState());  // both start a fresh episode
    await agent.learn({totalSteps: more});
    await copy.learn({totalSteps: more});
    for (const key of ['actor', 'critic1', 'critic2', 'criticTarget1', 'criticTarget2'] as const) {
      const a = await Promise.all(agent[key].getWeights().map((t) => t.data()));
      const b = await Promise.all(copy[key].getWeights().map((t) => t.data()));
      a.forEach((w, i) => expect(Array.from(b[i]), `${key} weight ${i}`).to.deep.equal(Array.from(w)));
    }
    expect(await copy.losses()).to.deep.equal(await agent.losses());
    expect(await copy.entCoef()).to.equal(await agent.entCoef());
    agent.dispose();
    copy.dispose();
  });

  it('learns on Pendulum (smoke): episodes, callbacks, finite losses, actions inside the box', async () => {
    const agent = new SAC(new Pendulum(), {netArch: [16, 16], batchSize: 16, learningStarts: 20, seed: 1});
    const episodes: number[] = [];
    let steps = 0;
    const total = 210;
    await agent.learn({totalSteps: total, callbacks: {
      onStep: () => { steps++; },
      onEpisodeEnd: ({episodeReturn, episodeLength}) => { episodes.push(episodeLength); expect(episodeReturn).to.be.below(0); },
    }});
    expect(steps).to.equal(total);
    expect(agent.gradientSteps).to.equal(total - 20);
    expect(episodes).to.deep.equal([200]);
    const l = (await agent.losses())!;
    expect([l.criticLoss, l.actorLoss, l.entCoef].every(Number.isFinite)).to.equal(true);
    const a = await agent.predictAsync(new Pendulum().reset(0));
    expect(a.length).to.equal(1);
    expect(Math.abs(a[0])).to.be.at.most(2);
    agent.dispose();
  });

}, {only: ['cpu', 'wasm']});
