/**
 * Collects the runs under examples/node/sac/runs/ into examples/node/sac/results/ (a summary JSON per run and a
 * learning-curve PNG per environment, small enough to commit) and writes the SAC results block (between
 * `<!-- sac-results` and `<!-- /sac-results -->` in README.md and packages/sac/README.md) from those files and from
 * bench/results/sac.json. A run still going (or stopped) is reported from its last checkpoint's log: the step
 * reached and its last evaluation. `--check` only prints the block.
 *
 *   node --conditions=tfjs-ext-source --import tsx examples/node/sac/collect.ts
 */
import * as fs from 'fs';
import * as path from 'path';
import {writeLinePlot} from '../common';

const runsDir = 'examples/node/sac/runs', resultsDir = 'examples/node/sac/results';
/** Files with the block (the root README's section "### SAC" and the package README). */
const readmes = ['README.md', 'packages/sac/README.md'];

/** Step budget and the evaluation target per env (MountainCar: Gymnasium's "solved" threshold, for reference). */
const TASKS: Record<string, {steps: number; target: number; what: string}> = {
  pendulum: {steps: 20000, target: -200, what: '>= -200 (issue; SB3 -157 +- 89)'},
  invertedpendulum: {steps: 30000, target: 1000, what: '1000 (issue)'},
  mountaincar: {steps: 50000, target: 90, what: '>= 90 (Gymnasium "solved"; no target in the issue)'},
};

interface Result {
  run: string; env: string; seed: number; finished: boolean; steps: number; targetSteps: number;
  lastEval: {step: number; meanReturn: number; returns: number[]} | null;
  /** First evaluation (10 deterministic episodes) whose mean meets the env's target, if any. */
  targetReachedAt: {step: number; meanReturn: number} | null;
  bestEval: {step: number; meanReturn: number} | null;
  /** Mean return of the last 10 training (stochastic) episodes. */
  lastTrainingMean: number | null;
  evaluations: Array<{step: number; meanReturn: number}>; wallSeconds: number;
}

const fmt = (x: number) => x.toFixed(1);

async function collectRuns(): Promise<void> {
  fs.mkdirSync(resultsDir, {recursive: true});
  const curves: Record<string, Array<{name: string; points: Array<[number, number]>}>> = {};
  for (const run of fs.existsSync(runsDir) ? fs.readdirSync(runsDir).sort() : []) {
    const dir = path.join(runsDir, run), logFile = path.join(dir, 'log.json');
    if (!fs.existsSync(logFile)) continue;
    const log = JSON.parse(fs.readFileSync(logFile, 'utf8'));
    const summaryFile = path.join(dir, 'summary.json');
    const summary = fs.existsSync(summaryFile) ? JSON.parse(fs.readFileSync(summaryFile, 'utf8')) : null;
    const [, env, seed] = /^(.*)-seed(\d+)$/.exec(run) ?? [run, run, '0'];
    const task = TASKS[env];
    if (task === undefined) continue;
    const steps = summary?.steps ?? log.episodes.at(-1)?.step ?? 0;
    const evaluations = log.evaluations.map(({step, meanReturn}: any) => ({step, meanReturn}));
    const reached = evaluations.find((e: any) => e.meanReturn >= task.target) ?? null;
    const best = evaluations.reduce((a: any, e: any) => a === null || e.meanReturn > a.meanReturn ? e : a, null);
    const result: Result = {run, env, seed: Number(seed), finished: summary !== null && steps >= task.steps, steps,
                            targetSteps: task.steps, lastEval: log.evaluations.at(-1) ?? null, targetReachedAt: reached,
                            bestEval: best,
                            lastTrainingMean: log.episodes.length === 0 ? null :
                                log.episodes.slice(-10).reduce((a: number, e: any) => a + e.episodeReturn, 0) /
                                Math.min(10, log.episodes.length),
                            evaluations, wallSeconds: log.wallSeconds};
    fs.writeFileSync(path.join(resultsDir, `${run}.json`), JSON.stringify(result, null, 2) + '\n');
    (curves[env] ??= []).push(
        {name: `seed ${seed} train`, points: log.episodes.map((e: any) => [e.step, e.episodeReturn])},
        {name: `seed ${seed} eval`, points: log.evaluations.map((e: any) => [e.step, e.meanReturn])});
  }
  for (const [env, series] of Object.entries(curves)) {
    await writeLinePlot(path.join(resultsDir, `${env}.png`), series,
                        {title: `SAC on ${env}: training episodes, evaluations (mean of 10 deterministic episodes)`,
                         x: 'environment step', y: 'return', width: 560, height: 280});
  }
}

function learningTable(): string[] {
  const rows = fs.readdirSync(resultsDir).filter((f) => /-seed\d+\.json$/.test(f)).sort()
      .map((f) => JSON.parse(fs.readFileSync(path.join(resultsDir, f), 'utf8')) as Result);
  const out = ['| env | seed | steps run (budget) | target: mean of 10 deterministic episodes | first evaluation at target (step) | ' +
               'last evaluation (step) | mean of the last 10 training episodes | wall time |',
               '|---|---:|---:|---|---:|---:|---:|---:|'];
  for (const r of rows) {
    const at = (e: {step: number; meanReturn: number} | null) => e === null ? '-' : `${fmt(e.meanReturn)} (${e.step})`;
    out.push(`| ${r.env} | ${r.seed} | ${r.steps} (${r.targetSteps})${r.finished ? '' : ', stopped'} | ${TASKS[r.env].what} | ` +
             `${r.targetReachedAt === null ? `not reached (best ${at(r.bestEval)})` : at(r.targetReachedAt)} | ` +
             `${at(r.lastEval)} | ${r.lastTrainingMean === null ? '-' : fmt(r.lastTrainingMean)} | ${(r.wallSeconds / 60).toFixed(0)} min |`);
  }
  out.push('', `Per run: examples/node/sac/results/<env>-seed<k>.json; curves: examples/node/sac/results/<env>.png.`);
  return out;
}

function speedTables(): string[] {
  const benchFile = 'bench/results/sac.json';
  if (!fs.existsSync(benchFile)) return ['(no bench/results/sac.json yet: `npm run bench -- --only=sac`)'];
  const bench = JSON.parse(fs.readFileSync(benchFile, 'utf8'));
  const rows: any[] = bench.rows;
  const ms = (x: number | null) => x === null ? '-' : x >= 10 ? x.toFixed(1) : x.toFixed(2);
  const cpuOp = 'SAC training loop, CPU ms per env step', wallOp = 'SAC training loop, wall ms per env step';
  const peerCpu = rows.find((r) => r.op === cpuOp && r.baseline && r.variant.startsWith('PyTorch'));
  const peerWall = rows.find((r) => r.op === wallOp && r.baseline && r.variant.startsWith('PyTorch'));
  const out = ['CPU time per environment step (user + system of the measuring process: robust to the other jobs on ' +
               'the shared machine; one gradient step of batch 256 on [256, 256] networks per env step, Pendulum):', '',
               '| measure | backend | variant | CPU ms per env step (median) | env steps/s | vs PyTorch |',
               '|---|---|---|---:|---:|---:|'];
  const ratio = (peer: any, r: any) => peer === undefined || r === peer ? (r === peer ? 'baseline' : '-') :
      `${(peer.medianMs / r.medianMs).toFixed(2)}x`;
  for (const r of rows.filter((x) => x.op === cpuOp)) {
    out.push(`| training loop | ${r.variant.startsWith('PyTorch') ? 'PyTorch CPU' : r.backend} | ${r.variant} | ` +
             `${ms(r.medianMs)} | ${(1000 / r.medianMs).toFixed(1)} | ${ratio(peerCpu, r)} |`);
  }
  const best = rows.filter((x) => x.op === cpuOp && !x.variant.startsWith('PyTorch'))
      .sort((a, b) => a.medianMs - b.medianMs)[0];
  if (peerCpu !== undefined && best !== undefined) {
    const x = peerCpu.medianMs / best.medianMs;
    out.push('', `Target >= 1x PyTorch (aim 2x): **${x >= 1 ? 'met' : 'not met'}**: best ${best.backend}, ` +
             `${(1000 / best.medianMs).toFixed(1)} env steps/s of CPU time against PyTorch's ${(1000 / peerCpu.medianMs).toFixed(1)} ` +
             `(${x.toFixed(2)}x).`);
  }
  out.push('', 'Where the CPU time goes (CPU ms, one call each):', '', '| part | backend | note | CPU ms |', '|---|---|---|---:|');
  for (const r of rows.filter((x) => x.op.startsWith('CPU breakdown'))) {
    out.push(`| ${r.op.replace('CPU breakdown: ', '')} | ${r.backend} | ${r.variant} | ${ms(r.medianMs)} |`);
  }
  for (const backend of [...new Set(rows.map((r) => r.backend))]) {
    const part = (what: string) => rows.find((r) => r.backend === backend && r.op.startsWith(`CPU breakdown: ${what}`));
    const step = part('one gradient step, as trained'), fresh = part('one 256 x 256 x 256 matMul, fresh');
    const same = part('one 256 x 256 x 256 matMul, same');
    const loop = rows.find((r) => r.backend === backend && r.op === cpuOp && !r.variant.startsWith('PyTorch'));
    if (step === undefined || fresh === undefined || same === undefined || loop === undefined) continue;
    const mm = 16 * fresh.medianMs;
    out.push('', `${backend}: ${ms(loop.medianMs)} CPU ms per env step; a gradient step (measured apart on a fixed batch; ` +
             `both swing by about 10% with the load) ${ms(step.medianMs)} ms, ${step.variant}: its 16 matMuls of ` +
             `256 x 256 x 256 about 16 x ${ms(fresh.medianMs)} = ${ms(mm)} ms (operands new each step; ` +
             `${ms(same.medianMs)} ms each with a reused right operand), the rest (other kernels and their launches, ` +
             `the JS losses, Adam, Polyak) about ${ms(step.medianMs - mm)} ms` +
             `${peerCpu === undefined ? '' : `; PyTorch's whole env step: ${ms(peerCpu.medianMs)} ms`}.`);
  }
  const wall = rows.filter((x) => x.op === wallOp);
  if (wall.length > 0) {
    out.push('', 'Wall time of the same loops (kept for completeness; they measure the shared machine\'s load more than ' +
             'the code: in this run PyTorch\'s wall time was ' +
             `${peerWall === undefined || peerCpu === undefined ? '-' : `${(peerWall.medianMs / peerCpu.medianMs).toFixed(1)}x`} its CPU time):`, '',
             '| measure | backend | variant | wall ms per env step (median) | vs PyTorch, same run |', '|---|---|---|---:|---:|');
    for (const r of wall) {
      out.push(`| training loop | ${r.backend} | ${r.variant} | ${ms(r.medianMs)} | ` +
               `${peerWall !== undefined && r.backend === peerWall.backend ? ratio(peerWall, r) : '- (other run)'} |`);
    }
  }
  out.push('', `From ${benchFile} (${bench.machine}, ${bench.date.slice(0, 16)}), \`npm run bench -- --only=sac\`.`);
  return out;
}

(async () => {
  const check = process.argv.includes('--check');
  if (!check) await collectRuns();
  const block = ['<!-- sac-results: generated by examples/node/sac/collect.ts from the files it names -->',
                 'Learning (RL Zoo settings, wasm; runs on the shared 2-core machine with `nice -n 5`, resumed from ' +
                 'checkpoints across sessions):', '', ...learningTable(), '', ...speedTables(), '<!-- /sac-results -->'];
  const text = block.join('\n');
  console.log(text);
  if (check) return;
  for (const readme of readmes) {
    const md = fs.readFileSync(readme, 'utf8');
    const start = md.indexOf('<!-- sac-results'), end = md.indexOf('<!-- /sac-results -->');
    if (start < 0 || end < start) throw new Error(`collect.ts: no <!-- sac-results --> block in ${readme}`);
    fs.writeFileSync(readme, md.slice(0, start) + text + md.slice(end + '<!-- /sac-results -->'.length));
    console.log(`wrote the block in ${readme}`);
  }
})();
