/**
 * Trains SAC on Pendulum-v1, MountainCarContinuous-v0 or a MuJoCo inverted pendulum, with a progress bar
 * (episode return), CSV/JSON logs, a learning-curve PNG, a checkpoint every --checkpoint steps (at the next
 * episode end, replay buffer included) that --resume continues exactly (Ctrl-C also saves one), and a final
 * evaluation of 10 deterministic episodes.
 *
 *   node --conditions=tfjs-ext-source --import tsx examples/node/sac/train.ts --env=pendulum --steps=20000 --seed=0
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {initBackend} from '@tfjs-ext/core';
import '@tfjs-ext/core/node';
import {Env, SAC} from '@tfjs-ext/sac';
import {parseFlags, ProgressBar, runExample, writeLinePlot} from '../common';
import {task} from './envs';

interface LogState {
  episodes: Array<{step: number; episodeReturn: number; length: number; criticLoss: number | null;
                   actorLoss: number | null; entCoef: number | null}>;
  evaluations: Array<{step: number; meanReturn: number; returns: number[]}>;
  wallSeconds: number;
}

/** Mean return of `n` deterministic episodes on a fresh env (seeds 1e6 + i, never used in training). */
async function evaluate(agent: SAC, make: () => Env, n: number): Promise<number[]> {
  const env = make();
  const returns: number[] = [];
  for (let i = 0; i < n; i++) {
    let obs = env.reset(1_000_000 + i), total = 0;
    for (;;) {
      const r = env.step(agent.predict(obs, {deterministic: true}));
      total += r.reward;
      obs = r.observation;
      if (r.terminated || r.truncated) break;
    }
    returns.push(total);
  }
  return returns;
}

runExample(async () => {
  const flags = parseFlags('train.ts: Soft Actor-Critic on a continuous-control task', {
    env: {default: 'pendulum', help: 'pendulum | mountaincar | invertedpendulum'},
    steps: {default: 0, help: 'environment steps (0: the task default: 20000 / 50000 / 30000)'},
    seed: {default: 0, help: 'seed of the agent (initialisation, noise, replay, episode resets)'},
    backend: {default: 'wasm', help: 'tfjs backend (wasm: XNNPACK matMuls)'},
    out: {default: '', help: 'output folder (default examples/node/sac/runs/<env>-seed<seed>)'},
    checkpoint: {default: 5000, help: 'checkpoint every this many steps (at the next episode end)'},
    evalEvery: {default: 5000, help: 'evaluate (10 deterministic episodes) every this many steps'},
    evalEpisodes: {default: 10, help: 'evaluation episodes'},
    resume: {default: false, help: 'continue from the checkpoint in --out'},
  });
  const status = await initBackend(flags.backend as any);
  if (!status.available) throw new Error(`backend ${flags.backend} unavailable: ${status.reason}`);
  const t = await task(flags.env);
  const steps = flags.steps > 0 ? flags.steps : t.defaultSteps;
  const out = flags.out || path.join('examples/node/sac/runs', `${flags.env}-seed${flags.seed}`);
  const ckptDir = path.join(out, 'checkpoint');
  fs.mkdirSync(out, {recursive: true});
  let agent: SAC;
  let log: LogState = {episodes: [], evaluations: [], wallSeconds: 0};
  if (flags.resume && fs.existsSync(path.join(ckptDir, 'sac.json'))) {
    agent = await SAC.load(ckptDir, t.make());
    log = JSON.parse(fs.readFileSync(path.join(out, 'log.json'), 'utf8'));
    console.log(`resumed at step ${agent.numTimesteps} (${log.episodes.length} episodes)`);
  } else {
    agent = new SAC(t.make(), {...t.options, seed: flags.seed});
  }
  const startStep = agent.numTimesteps;
  const bar = new ProgressBar(steps, {startAt: startStep});
  const t0 = performance.now(), wall0 = log.wallSeconds;
  let nextCheckpoint = (Math.floor(startStep / flags.checkpoint) + 1) * flags.checkpoint;
  let nextEval = (Math.floor(startStep / flags.evalEvery) + 1) * flags.evalEvery;
  let saving = false;
  const writeLogs = () => {
    log.wallSeconds = wall0 + (performance.now() - t0) / 1000;
    fs.writeFileSync(path.join(out, 'log.json'), JSON.stringify(log));
    fs.writeFileSync(path.join(out, 'episodes.csv'), 'step,return,length,critic_loss,actor_loss,ent_coef\n' +
        log.episodes.map((e) => [e.step, e.episodeReturn, e.length, e.criticLoss, e.actorLoss, e.entCoef].join(',')).join('\n') + '\n');
  };
  let lastReturn = NaN;
  // Ctrl-C / kill: stop after the current step, save a checkpoint (the resumed run starts a new episode)
  let stopRequested = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { stopRequested = true; });
  await agent.learn({totalSteps: steps - startStep, callbacks: {
    onStep: async ({step}) => {
      if (step % 50 === 0 || step === steps) {
        bar.update(step, `return ${lastReturn.toFixed(1)}`);
        await new Promise((resolve) => setImmediate(resolve));  // let signal handlers run (learn only awaits microtasks)
      }
      return !stopRequested;
    },
    onEpisodeEnd: async ({step, episodeReturn, episodeLength}) => {
      lastReturn = episodeReturn;
      const l = await agent.losses();
      log.episodes.push({step, episodeReturn, length: episodeLength, criticLoss: l?.criticLoss ?? null,
                         actorLoss: l?.actorLoss ?? null, entCoef: l?.entCoef ?? null});
      if (step >= nextEval) {
        const returns = await evaluate(agent, t.make, flags.evalEpisodes);
        log.evaluations.push({step, meanReturn: returns.reduce((a, b) => a + b, 0) / returns.length, returns});
        nextEval += flags.evalEvery;
      }
      if (step >= nextCheckpoint && !saving) {
        saving = true;
        await agent.save(ckptDir, {includeReplayBuffer: true});  // the next learn step starts a new episode: exact
        writeLogs();
        nextCheckpoint += flags.checkpoint;
        saving = false;
      }
    },
  }});
  if (stopRequested) {
    await agent.save(ckptDir, {includeReplayBuffer: true});
    writeLogs();
    console.log(`\nstopped at step ${agent.numTimesteps}: checkpoint and logs in ${out}; --resume continues`);
    agent.dispose();
    return;
  }
  const returns = await evaluate(agent, t.make, flags.evalEpisodes);
  const meanReturn = returns.reduce((a, b) => a + b, 0) / returns.length;
  if (log.evaluations.at(-1)?.step !== agent.numTimesteps) log.evaluations.push({step: agent.numTimesteps, meanReturn, returns});
  writeLogs();
  await agent.save(ckptDir, {includeReplayBuffer: true});
  const stepsPerSecond = (agent.numTimesteps - startStep) / ((performance.now() - t0) / 1000);
  const summary = {env: flags.env, seed: flags.seed, steps: agent.numTimesteps, backend: flags.backend,
                   evalEpisodes: flags.evalEpisodes, meanReturn, stdReturn: Math.sqrt(returns.reduce((a, r) => a + (r - meanReturn) ** 2, 0) / returns.length),
                   returns, evaluations: log.evaluations.map(({step, meanReturn: m}) => ({step, meanReturn: m})),
                   stepsPerSecondThisRun: stepsPerSecond, wallSeconds: log.wallSeconds, options: agent.options,
                   date: new Date().toISOString()};
  fs.writeFileSync(path.join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  await writeLinePlot(path.join(out, 'learning_curve.png'), [
    {name: 'training episodes', points: log.episodes.map((e) => [e.step, e.episodeReturn])},
    {name: 'evaluation (deterministic)', points: log.evaluations.map((e) => [e.step, e.meanReturn])},
  ], {title: `SAC on ${flags.env}, seed ${flags.seed}`, x: 'environment step', y: 'return'});
  console.log(`${flags.env} seed ${flags.seed}: mean eval return ${meanReturn.toFixed(1)} over ${flags.evalEpisodes} ` +
              `deterministic episodes after ${agent.numTimesteps} steps (${stepsPerSecond.toFixed(1)} steps/s; ${tf.getBackend()})`);
  console.log(`logs, plot, checkpoint: ${out}`);
  agent.dispose();
});
