/**
 * SAC on Pendulum-v1: the trained policy (the actor exported by export-models.ts) swings the pendulum up and
 * holds it, drawn on a canvas; "Train here" trains a fresh SAC agent in this tab on the selected backend with a
 * live learning curve; between them, the MuJoCo inverted pendulum (cart-pole) under its trained policy
 * (sac_cartpole.ts: @tfjs-ext/sac/mujoco on mujoco-js, MuJoCo's official WebAssembly build, in the page).
 */
import * as tf from '@tensorflow/tfjs';
import {angleNormalize, Pendulum, SAC} from '@tfjs-ext/sac';
import {lineChart} from '../plot';
import {action, demo, el, Page} from '../shell';
import {mountCartPole} from './sac_cartpole';

interface SACMeta {
  source: string;
  steps: number;
  options: {learningRate: number; netArch: number[]; batchSize: number; seed: number};
  worstAngle: number[];
}

/** Draws the pendulum at angle `theta` (0 = upright, as Gymnasium) with the applied torque as an arc. */
function drawPendulum(canvas: HTMLCanvasElement, theta: number, torque: number, caption: string): void {
  const ctx = canvas.getContext('2d')!;
  const {width, height} = canvas;
  const cx = width / 2, cy = height / 2, length = height * 0.38;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  ctx.strokeStyle = '#e8e9ef';
  ctx.beginPath();
  ctx.arc(cx, cy, length, 0, 2 * Math.PI);
  ctx.stroke();
  const x = cx - length * Math.sin(theta), y = cy - length * Math.cos(theta);  // Gymnasium: theta from upright
  ctx.strokeStyle = '#cc4c4c';
  ctx.lineWidth = 12;
  ctx.lineCap = 'round';
  ctx.beginPath();
  ctx.moveTo(cx, cy);
  ctx.lineTo(x, y);
  ctx.stroke();
  ctx.lineWidth = 3;
  ctx.strokeStyle = '#2f6fdf';  // torque: an arc around the pivot, its length proportional to |u| (max 2)
  ctx.beginPath();
  ctx.arc(cx, cy, 28, -Math.PI / 2, -Math.PI / 2 - (torque / 2) * Math.PI, torque > 0);
  ctx.stroke();
  ctx.fillStyle = '#1d2330';
  ctx.beginPath();
  ctx.arc(cx, cy, 6, 0, 2 * Math.PI);
  ctx.fill();
  ctx.font = '13px system-ui, sans-serif';
  ctx.fillText(caption, 10, height - 10);
}

export const sacPage: Page = {
  id: 'sac',
  title: 'SAC',
  async mount(root) {
    const meta = await (await fetch('models/sac/meta.json')).json() as SACMeta;
    const trained = await tf.loadLayersModel('models/sac/actor/model.json');
    // The agent the Node run trained, rebuilt from its actor (critics are not needed to act).
    const agent = new SAC(new Pendulum(), meta.options);
    agent.actor.setWeights(trained.getWeights());
    trained.dispose();
    const canvas = el('canvas', {id: 'sac-pendulum', width: '320', height: '320'});
    const runButton = el('button', {id: 'sac-run'}, 'Run the trained policy');
    const runStatus = el('p', {class: 'stat', id: 'sac-run-status'});
    const trainSteps = el('input', {id: 'sac-train-steps', type: 'number', min: '150', max: '50000', value: '5000',
                                    style: 'width:80px'});
    const trainButton = el('button', {id: 'sac-train'}, 'Train here');
    const trainStatus = el('p', {class: 'stat', id: 'sac-train-status'});
    const chartBox = el('div');
    const cartPoleBox = el('div');
    root.append(
        el('div', {class: 'card'},
           el('h2', {}, 'Soft Actor-Critic: Pendulum-v1'),
           el('p', {class: 'muted'}, `The policy (a ${meta.options.netArch.join(' x ')} actor) was trained ` +
              `${meta.steps} steps by ${meta.source}. From a random start it swings the pole up and holds it ` +
              `(torque at most 2, the blue arc); the check: |angle| < 0.3 rad over the last 100 of 200 steps.`),
           el('div', {class: 'row'}, runButton), canvas, runStatus),
        cartPoleBox,
        el('div', {class: 'card'},
           el('h2', {}, 'Train here'),
           el('p', {class: 'muted'}, `A fresh agent with the same options learns in this tab on ${tf.getBackend()}: ` +
              `100 random steps, then one gradient step per environment step. Pendulum needs a few thousand ` +
              `steps before the pole stays up. SAC uses no tfjs-ext fused op, so the op panel stays empty here.`),
           el('div', {class: 'row'}, 'steps', trainSteps, trainButton), chartBox, trainStatus));
    const chart = lineChart(chartBox, 'learning curve', ['reward per step (mean of the last 200)', 'episode return / 200'],
                            {xLabel: 'environment step'});
    drawPendulum(canvas, Math.PI, 0, 'press Run');

    /** 200 steps of the deterministic policy from `seed`, drawn; the largest |angle| of the last 100 steps. */
    const episode = async (seed: number, draw: boolean) => {
      const env = new Pendulum();
      let obs = env.reset(seed), maxAngle = 0;
      for (let step = 0; step < 200; step++) {
        const u = await agent.predictAsync(obs, {deterministic: true});
        obs = env.step(u).observation;
        const theta = angleNormalize(Math.atan2(obs[1], obs[0]));
        if (step >= 100) maxAngle = Math.max(maxAngle, Math.abs(theta));
        if (draw) {
          drawPendulum(canvas, theta, u[0], `step ${step + 1} / 200   angle ${theta.toFixed(2)} rad   torque ${u[0].toFixed(2)}`);
          await tf.nextFrame();
        }
      }
      return maxAngle;
    };
    let runs = 0;
    const run = async () => {
      runButton.disabled = true;
      try {
        const maxAngle = await episode(1_000_000 + (runs++ % 3), true);
        runStatus.textContent = `largest |angle| over the last 100 steps: ${maxAngle.toFixed(3)} rad ` +
            `(${maxAngle < 0.3 ? 'held up' : 'not held'})`;
      } finally {
        runButton.disabled = false;
      }
    };
    runButton.onclick = () => void action('SAC policy episode', run);
    /**
     * The test: the episodes export-models.ts checks in Node (seeds 1e6 + i), stepped together with one batched
     * actor call per step (the deterministic action `tanh(mu)`, scaled as `SAC.predict` does); the first is drawn.
     */
    demo.actions.evaluate = async () => action('SAC policy, 3 episodes', async () => {
      const envs = [0, 1, 2].map(() => new Pendulum());
      let obs = envs.map((env, e) => env.reset(1_000_000 + e));
      const worst = [0, 0, 0];
      for (let step = 0; step < 200; step++) {
        const squashed = tf.tidy(() => {
          const [mu] = agent.actor.predict(tf.tensor2d(obs.flatMap((o) => Array.from(o)), [3, 3])) as tf.Tensor[];
          return tf.tanh(mu);  // [3, 1]
        });
        const a = await squashed.data();
        squashed.dispose();
        const torques = envs.map((_, e) => agent.scaleAction([a[e]]));
        obs = envs.map((env, e) => env.step(torques[e]).observation);
        const thetas = obs.map((o) => angleNormalize(Math.atan2(o[1], o[0])));
        if (step >= 100) thetas.forEach((t, e) => { worst[e] = Math.max(worst[e], Math.abs(t)); });
        drawPendulum(canvas, thetas[0], torques[0][0], `step ${step + 1} / 200   angle ${thetas[0].toFixed(2)} rad`);
        if (step % 10 === 0) await tf.nextFrame();
      }
      runStatus.textContent = `largest |angle| over the last 100 of 200 steps, 3 episodes: ` +
          `${worst.map((w) => w.toFixed(3)).join(', ')} rad`;
      demo.result.sacPolicy = {worst};
      return demo.result.sacPolicy;
    });

    const train = async () => {
      const total = Math.max(150, Math.min(50000, Math.floor(Number(trainSteps.value))));
      trainButton.disabled = true;
      const fresh = new SAC(new Pendulum(), {...meta.options, seed: 1});
      const xs: number[] = [], meanReward: number[] = [], episodeReturns: Array<number | null> = [];
      const recent: number[] = [];
      let lastReturn: number | null = null;  // drawn as a staircase: the latest finished episode's return
      try {
        await fresh.learn({totalSteps: total, callbacks: {
          onEpisodeEnd: ({episodeReturn}) => { lastReturn = episodeReturn / 200; },
          onStep: async ({step, reward}) => {
            recent.push(reward);
            if (recent.length > 200) recent.shift();
            if (step % 10 === 0) {
              xs.push(step);
              meanReward.push(recent.reduce((a, r) => a + r, 0) / recent.length);
              episodeReturns.push(lastReturn);
              chart.set(xs, meanReward, episodeReturns as number[]);
              trainStatus.textContent = `step ${step} / ${total}`;
              await tf.nextFrame();
            }
          },
        }});
        const losses = await fresh.losses();
        trainStatus.textContent = `${total} steps on ${tf.getBackend()}; last gradient step: critic loss ` +
            `${losses?.criticLoss.toFixed(3)}, actor loss ${losses?.actorLoss.toFixed(3)}, alpha ${losses?.entCoef.toFixed(3)}`;
        demo.result.sacTrain = {steps: fresh.numTimesteps, gradientSteps: fresh.gradientSteps, points: xs.length,
                                losses, meanReward: meanReward[meanReward.length - 1]};
      } finally {
        fresh.dispose();
        trainButton.disabled = false;
      }
    };
    trainButton.onclick = () => void action('SAC training', train);
    demo.actions.train = async () => { await action('SAC training', train); return demo.result.sacTrain; };
    await mountCartPole(cartPoleBox);
  },
};
