/**
 * SAC benchmark: environment steps per second of the full training loop (policy action, env step, replay insert,
 * one gradient step of batch 256 on [256, 256] networks per env step) on Pendulum-v1, on each backend, beside the
 * PyTorch peer (an SB3-equivalent SAC in plain PyTorch, one thread, timed inside a child Python process; skipped
 * with the reason when torch is absent), measured in the same run. Breakdown rows say where our time goes.
 */
import {spawnSync} from 'child_process';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {BenchRow, BenchSuite, measureVariant} from '@tfjs-ext/core/bench';
import {Pendulum} from './envs/pendulum';
import {SAC} from './sac';

const BLOCK = 20;  // env steps per timed run
const SIZE = 'Pendulum, batch 256, [256, 256]';

function row(op: string, variant: string, msPerStep: number | null, runs: number, baseline: boolean,
             extra: Partial<BenchRow> = {}): BenchRow {
  return {op, backend: tf.getBackend(), size: SIZE, variant, baseline, medianMs: msPerStep, minMs: null, runs,
          gflops: null, gbps: null, speedup: null, peakMB: null, ...extra};
}

function torchPeer(repeats: number): {msPerStep: number; minMsPerStep: number; runs: number; version: string} | string {
  const res = spawnSync('python3', [path.join(__dirname, 'bench', 'torch_peer.py'), JSON.stringify({block: BLOCK, repeats})],
                        {encoding: 'utf8', timeout: 900_000});
  if (res.status !== 0) {
    return res.error?.message ?? (res.stderr.includes('No module named') ?
        'torch is not installed (pip install torch from the local index)' : res.stderr.trim().split('\n').pop()!);
  }
  const out = JSON.parse(res.stdout.trim().split('\n').pop()!);
  return {...out, version: `${out.torch}, ${out.threads} thread`};
}

const suite: BenchSuite = {
  name: 'sac',
  backends: ['cpu', 'wasm'],
  async run(backend, {quick}) {
    const rows: BenchRow[] = [];
    const repeats = quick ? 3 : 7;
    const agent = new SAC(new Pendulum(), {seed: 0});
    await agent.learn({totalSteps: 100 + 2 * BLOCK});  // past learningStarts, Adam slots created
    const loop = await measureVariant({name: 'learn', run: async () => { await agent.learn({totalSteps: BLOCK}); }},
                                      {warmup: 1, repeats, maxMsPerVariant: 60000});
    const ours = loop.medianMs / BLOCK;
    // PyTorch first in the table (the baseline of the speed-up column); timed now, beside ours
    const peer = backend === 'wasm' || quick ? torchPeer(repeats) : null;
    if (typeof peer === 'string') console.log(`      PyTorch peer skipped: ${peer}`);
    if (peer !== null && typeof peer !== 'string') {
      rows.push(row('SAC training loop, ms per env step', `PyTorch ${peer.version} (SB3-equivalent)`, peer.msPerStep,
                    peer.runs, true, {minMs: peer.minMsPerStep}));
    }
    const base = peer !== null && typeof peer !== 'string' ? peer.msPerStep : null;
    rows.push(row('SAC training loop, ms per env step', 'tfjs-ext SAC', ours, loop.runs, base === null,
                  {minMs: loop.minMs / BLOCK, speedup: base === null ? null : base / ours}));
    // where our time goes: one update, one policy action, one env step + replay insert
    const b = agent.replayBuffer.sample(256, agent.rng);
    const eps = new Float32Array(256), epsNext = new Float32Array(256);
    const upd = await measureVariant({name: 'update', run: () => agent.update(b, eps, epsNext)}, {warmup: 1, repeats});
    const act = await measureVariant({name: 'predict', run: () => { agent.predict([1, 0, 0]); }}, {warmup: 2, repeats: 50});
    const env = new Pendulum();
    env.reset(0);
    const envStep = await measureVariant({name: 'env', run: () => {
      for (let i = 0; i < 100; i++) {
        const r = env.step([0.1]);
        agent.replayBuffer.add(r.observation, [0.05], r.reward, r.observation, false);
      }
    }}, {warmup: 1, repeats});
    const info = await tf.profile(() => { agent.update(b, eps, epsNext); });
    let matMulMs = 0, otherMs = 0, matMuls = 0;
    for (const k of info.kernels) {
      // top-level kernels only: fused ops record their inner kernels too
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      if (/MatMul/.test(k.name)) { matMulMs += ms; matMuls++; } else otherMs += ms;
    }
    rows.push(row('breakdown: one gradient step', `${info.kernels.length} kernels`, upd.medianMs, upd.runs, false));
    rows.push(row('breakdown: matMul kernels in one step (profiled)', `${matMuls} kernels`, matMulMs, 1, false));
    rows.push(row('breakdown: other kernels in one step (profiled)', `${info.kernels.length - matMuls} kernels`, otherMs, 1, false));
    rows.push(row('breakdown: policy action (batch 1, read back)', 'predict', act.medianMs, act.runs, false));
    rows.push(row('breakdown: env step + replay insert', 'Pendulum (JS)', envStep.medianMs / 100, envStep.runs, false));
    agent.dispose();
    return rows;
  },
  notes(rows) {
    const notes: string[] = ['medianMs is per environment step (one gradient step each); steps/s = 1000 / medianMs.',
      'The target from the issue: >= 1x PyTorch (66 steps/s measured on a quiet machine), aim 2x.'];
    for (const r of rows.filter((x) => x.op.startsWith('SAC training loop') && x.medianMs !== null)) {
      notes.push(`${r.backend} ${r.variant}: ${(1000 / r.medianMs!).toFixed(1)} env steps/s` +
                 (r.speedup !== null && !r.baseline ? ` (${r.speedup.toFixed(2)}x PyTorch in the same run)` : ''));
    }
    return notes;
  },
};

export default suite;
