/**
 * Collects the runs under examples/node/sac/runs/ into examples/node/sac/results/ (summary JSON per run and its
 * learning-curve PNG, small enough to commit) and prints the README's learning-results table from those files.
 * A run still going (or stopped) is reported from its last checkpoint's log: the step reached and its last
 * evaluation.
 *
 *   node --conditions=tfjs-ext-source --import tsx examples/node/sac/collect.ts
 */
import * as fs from 'fs';
import * as path from 'path';
import {writeLinePlot} from '../common';

const runsDir = 'examples/node/sac/runs', resultsDir = 'examples/node/sac/results';

interface Result {
  run: string; env: string; seed: number; finished: boolean; steps: number; target: number;
  lastEval: {step: number; meanReturn: number; returns: number[]} | null;
  /** Mean return of the last 10 training (stochastic) episodes. */
  lastTrainingMean: number | null;
  evaluations: Array<{step: number; meanReturn: number}>; wallSeconds: number;
}

(async () => {
  fs.mkdirSync(resultsDir, {recursive: true});
  for (const run of fs.existsSync(runsDir) ? fs.readdirSync(runsDir).sort() : []) {
    const dir = path.join(runsDir, run), logFile = path.join(dir, 'log.json');
    if (!fs.existsSync(logFile)) continue;
    const log = JSON.parse(fs.readFileSync(logFile, 'utf8'));
    const summaryFile = path.join(dir, 'summary.json');
    const summary = fs.existsSync(summaryFile) ? JSON.parse(fs.readFileSync(summaryFile, 'utf8')) : null;
    const [, env, seed] = /^(.*)-seed(\d+)$/.exec(run) ?? [run, run, '0'];
    const target = {pendulum: 20000, mountaincar: 50000, invertedpendulum: 30000}[env] ?? 0;
    const steps = summary?.steps ?? log.episodes.at(-1)?.step ?? 0;
    const result: Result = {run, env, seed: Number(seed), finished: summary !== null && steps >= target, steps, target,
                            lastEval: log.evaluations.at(-1) ?? null,
                            lastTrainingMean: log.episodes.length === 0 ? null :
                                log.episodes.slice(-10).reduce((a: number, e: any) => a + e.episodeReturn, 0) /
                                Math.min(10, log.episodes.length),
                            evaluations: log.evaluations.map(({step, meanReturn}: any) => ({step, meanReturn})),
                            wallSeconds: log.wallSeconds};
    fs.writeFileSync(path.join(resultsDir, `${run}.json`), JSON.stringify(result, null, 2) + '\n');
    await writeLinePlot(path.join(resultsDir, `${run}.png`), [
      {name: 'training episodes', points: log.episodes.map((e: any) => [e.step, e.episodeReturn])},
      {name: 'evaluation (deterministic)', points: log.evaluations.map((e: any) => [e.step, e.meanReturn])},
    ], {title: `SAC on ${env}, seed ${seed}${result.finished ? '' : ` (step ${steps} of ${target})`}`,
        x: 'environment step', y: 'return', width: 480, height: 240});
  }
  const rows = fs.readdirSync(resultsDir).filter((f) => f.endsWith('.json')).sort()
      .map((f) => JSON.parse(fs.readFileSync(path.join(resultsDir, f), 'utf8')) as Result);
  console.log('| env | seed | steps run (target) | last evaluation: mean return of 10 deterministic episodes (step) | ' +
              'mean of the last 10 training episodes | wall time |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const ev = r.lastEval === null ? '-' : `${r.lastEval.meanReturn.toFixed(1)} (step ${r.lastEval.step})`;
    const train = r.lastTrainingMean === null ? '-' : r.lastTrainingMean.toFixed(1);
    console.log(`| ${r.env} | ${r.seed} | ${r.steps} (${r.target})${r.finished ? '' : ', not finished'} | ${ev} | ${train} | ` +
                `${(r.wallSeconds / 60).toFixed(0)} min |`);
  }
  console.log(`\nfrom examples/node/sac/results/*.json (${rows.length} runs)`);

  // the speed table, from the bench result file
  const benchFile = 'bench/results/sac.json';
  if (fs.existsSync(benchFile)) {
    const bench = JSON.parse(fs.readFileSync(benchFile, 'utf8'));
    console.log('\n| measure | backend | variant | median ms | env steps/s | vs PyTorch (same run) |');
    console.log('|---|---|---|---:|---:|---:|');
    for (const r of bench.rows) {
      const loop = r.op.startsWith('SAC training loop');
      const ms = r.medianMs === null ? '-' : r.medianMs >= 10 ? r.medianMs.toFixed(1) : r.medianMs.toFixed(3);
      console.log(`| ${r.op} | ${r.backend} | ${r.variant} | ${ms} | ${loop && r.medianMs ? (1000 / r.medianMs).toFixed(1) : ''} | ` +
                  `${loop ? (r.baseline ? 'baseline' : r.speedup === null ? '-' : `${r.speedup.toFixed(2)}x`) : ''} |`);
    }
    console.log(`\nfrom ${benchFile} (${bench.machine}, ${bench.date.slice(0, 16)})`);
  }
})();
