/**
 * The SAC page's MuJoCo card: Gymnasium's InvertedPendulum (a cart on a rail balancing a pole) simulated by the
 * official MuJoCo WebAssembly build (npm `mujoco-js`, through `@tfjs-ext/sac/mujoco`) in the page, driven by the
 * actor of `examples/node/sac/train.ts --env=invertedpendulum` (exported by export-models.ts) and drawn on a 2-D
 * canvas. mujoco-js is an ES module with its wasm inlined; the package imports it by name at run time, which
 * index.html's import map points at the copy the app server serves (server.ts): nothing comes from the network.
 */
import * as tf from '@tensorflow/tfjs';
import {SAC} from '@tfjs-ext/sac';
import {InvertedPendulum} from '@tfjs-ext/sac/mujoco';
import {action, demo, el, showError} from '../shell';
import {CARTPOLE_SEEDS, CARTPOLE_STEPS, CartPoleMeta, runCartPoles} from './cartpole';

/** Draws the cart at `x` (m, rail [-1, 1]) with the pole at `angle` (rad from upright) and the force (|u| <= 3). */
function drawCartPole(canvas: HTMLCanvasElement, x: number, angle: number, force: number, caption: string): void {
  const ctx = canvas.getContext('2d')!;
  const {width, height} = canvas;
  const s = width / 2.6, y0 = height - 70, cx = width / 2 + x * s;  // s: pixels per metre
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  ctx.lineCap = 'round';
  ctx.strokeStyle = '#4d4db3';  // the rail (the slider's range)
  ctx.lineWidth = 4;
  ctx.beginPath();
  ctx.moveTo(width / 2 - s, y0);
  ctx.lineTo(width / 2 + s, y0);
  ctx.stroke();
  ctx.strokeStyle = '#e8e9ef';  // the task's limits: the episode ends once |angle| > 0.2 rad
  ctx.lineWidth = 1;
  for (const a of [-0.2, 0.2]) {
    ctx.beginPath();
    ctx.moveTo(cx, y0);
    ctx.lineTo(cx + 0.7 * s * Math.sin(a), y0 - 0.7 * s * Math.cos(a));
    ctx.stroke();
  }
  ctx.fillStyle = '#b3b300';  // the cart: MJCF capsule, radius 0.1, length 0.4
  ctx.beginPath();
  ctx.roundRect(cx - 0.2 * s, y0 - 0.1 * s, 0.4 * s, 0.2 * s, 0.1 * s);
  ctx.fill();
  ctx.strokeStyle = '#00a3a3';  // the pole: 0.6 m, hinged at the cart; a positive angle leans it to +x
  ctx.lineWidth = 0.098 * s;
  ctx.beginPath();
  ctx.moveTo(cx, y0);
  ctx.lineTo(cx + 0.6 * s * Math.sin(angle), y0 - 0.6 * s * Math.cos(angle));
  ctx.stroke();
  ctx.strokeStyle = '#2f6fdf';  // the motor force, as an arrow (none when too small to see)
  ctx.lineWidth = 3;
  const tip = cx + (force / 3) * 0.4 * s, ya = y0 + 0.16 * s, head = Math.sign(force) * Math.min(6, Math.abs(tip - cx));
  if (Math.abs(tip - cx) >= 2) {
    ctx.beginPath();
    ctx.moveTo(cx, ya);
    ctx.lineTo(tip, ya);
    ctx.lineTo(tip - head, ya - 5);
    ctx.moveTo(tip, ya);
    ctx.lineTo(tip - head, ya + 5);
    ctx.stroke();
  }
  ctx.fillStyle = '#1d2330';
  ctx.font = '13px system-ui, sans-serif';
  ctx.fillText(caption, 10, height - 10);
}

/** Builds the card into `root` and loads MuJoCo; a failure to load is shown in the card and the page. */
export async function mountCartPole(root: HTMLElement): Promise<void> {
  const meta = await (await fetch('models/sac/invertedpendulum.json')).json() as CartPoleMeta;
  const actor = await tf.loadLayersModel('models/sac/invertedpendulum/model.json');
  const canvas = el('canvas', {id: 'sac-cartpole', width: '600', height: '260'});
  const runButton = el('button', {id: 'sac-cp-run'}, 'Run the trained policy');
  const status = el('p', {class: 'stat', id: 'sac-cp-status'});
  root.append(el('div', {class: 'card'},
      el('h2', {}, 'Soft Actor-Critic: the MuJoCo inverted pendulum'),
      el('p', {class: 'muted'}, `Gymnasium's InvertedPendulum simulated by MuJoCo's official WebAssembly build ` +
         `(npm mujoco-js) in this tab: a cart on a rail, pushed with a force in [-3, 3] (the blue arrow), keeps ` +
         `the pole within 0.2 rad of upright (the grey lines) or the episode ends; an episode lasts at most ` +
         `${CARTPOLE_STEPS} steps of 0.04 s. The policy (a ${meta.options.netArch.join(' x ')} actor) was trained ` +
         `${meta.steps} steps by ${meta.source}; in Node it held the pole ${meta.held.join(', ')} of ` +
         `${CARTPOLE_STEPS} steps on the check's ${meta.seeds.length} episodes.`),
      el('div', {class: 'row'}, runButton), canvas, status));
  drawCartPole(canvas, 0, 0, 0, 'loading MuJoCo');
  runButton.disabled = true;
  let make: () => InvertedPendulum;
  let agent: SAC;
  try {
    const t0 = performance.now();
    make = await InvertedPendulum.factory();
    // The agent rebuilt around the trained actor: only its action scaling and actor are used.
    agent = new SAC(make(), meta.options);
    agent.actor.setWeights(actor.getWeights());
    status.textContent = `MuJoCo loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
  } catch (e) {
    status.textContent = `MuJoCo (mujoco-js) failed to load in this browser: ${e instanceof Error ? e.message : e}`;
    showError(e);
    return;
  } finally {
    actor.dispose();
  }
  drawCartPole(canvas, 0, 0, 0, 'press Run');
  runButton.disabled = false;

  /** The episodes of `seeds`, the first drawn every `drawEvery` steps (yielding a frame each time). */
  const episodes = async (seeds: number[], drawEvery: number) => {
    const envs = seeds.map(() => make());
    try {
      return await runCartPoles(agent.actor, (a) => agent.scaleAction(a), envs, seeds, CARTPOLE_STEPS,
                                async (step, force) => {
        const {x, angle} = envs[0].state;
        drawCartPole(canvas, x, angle, force, `step ${step + 1} / ${CARTPOLE_STEPS}   cart ${x.toFixed(2)} m   ` +
                     `pole ${angle.toFixed(3)} rad   force ${force.toFixed(2)}`);
        if (step % drawEvery === 0) await tf.nextFrame();
      });
    } finally {
      envs.forEach((env) => env.dispose());
    }
  };
  let runs = 0;
  runButton.onclick = () => void action('SAC cart-pole episode', async () => {
    runButton.disabled = true;
    try {
      const {held, maxAngle} = await episodes([CARTPOLE_SEEDS[runs++ % CARTPOLE_SEEDS.length]], 1);
      status.textContent = `pole within 0.2 rad for ${held[0]} of ${CARTPOLE_STEPS} steps (largest |angle| ` +
          `${maxAngle[0].toFixed(3)} rad) on ${tf.getBackend()}`;
    } finally {
      runButton.disabled = false;
    }
  });
  /** The test: the episodes Node checked (CARTPOLE_SEEDS), stepped together; the first is drawn. */
  demo.actions.cartpole = async () => action(`SAC cart-pole, ${CARTPOLE_SEEDS.length} episodes`, async () => {
    const t0 = performance.now();
    const {held, maxAngle} = await episodes(CARTPOLE_SEEDS, 10);
    const seconds = (performance.now() - t0) / 1000;
    status.textContent = `pole within 0.2 rad for ${held.join(', ')} of ${CARTPOLE_STEPS} steps in ` +
        `${CARTPOLE_SEEDS.length} episodes (largest |angle| ${maxAngle.map((m) => m.toFixed(3)).join(', ')} rad; ` +
        `Node: ${meta.held.join(', ')}) on ${tf.getBackend()}`;
    demo.result.sacCartPole = {held, maxAngle, nodeHeld: meta.held, steps: CARTPOLE_STEPS, seconds};
    return demo.result.sacCartPole;
  });
}
