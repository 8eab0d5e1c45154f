/**
 * Puts the two character LMs side by side from their training logs: the validation loss at the same steps (same
 * batches, same validation windows), parameters and training time. Either log may be a checkpoint's
 * `training/state.json` (a run still under way or stopped early: its steps so far). Writes `results/lm-comparison.{json,md}` and
 * `results/validation-loss.png` (the README's table is this Markdown).
 *
 *   node --conditions=tfjs-ext-source --import tsx examples/node/mamba/compare.ts \
 *     --transformer examples/node/lm/checkpoint/loss.json --mamba examples/node/mamba/checkpoint/loss.json
 */
import * as fs from 'fs';
import * as path from 'path';
import {causalLM} from '@tfjs-ext/attention';
import {mambaLM} from '@tfjs-ext/mamba';
import {parseFlags, runExample, writeLinePlot} from '../common';
import {VOCAB} from '../lm/corpus';

const FLAGS = {
  transformer: {default: path.join(__dirname, '..', 'lm', 'checkpoint', 'loss.json'), help: 'lm/train.ts loss.json'},
  mamba: {default: path.join(__dirname, 'checkpoint', 'loss.json'), help: 'mamba/train.ts loss.json'},
  transformerSeconds: {default: 0, help: 'wall seconds of the transformer run\'s steps (printed by train.ts; 0: unknown)'},
  mambaSeconds: {default: 0, help: 'wall seconds of the Mamba run\'s steps (0: from its loss.json, else unknown)'},
  steps: {default: '0,50,100,200,300,400,500,600,700,800,900,1000', help: 'steps shown in the table'},
  out: {default: path.join(__dirname, 'results'), help: 'output folder'},
};

/** A loss.json written at the end of a run, or a checkpoint's state.json (`losses`) of an unfinished one. */
interface LossLog {
  validation: Array<{step: number; loss: number}>;
  train: number[];
  losses?: number[];
  seconds?: number;
  parameters?: number;
  transformerParameters?: number;
  backend?: string;
  /** The run's flags (checkpoint state.json). */
  flags?: Record<string, any>;
}

/** Parameter counts of the two models as their runs' flags built them. */
function parameterCounts(transformer: LossLog, mamba: LossLog): {transformer: number; mamba: number} {
  const t = transformer.flags, m = mamba.flags;
  const tModel = causalLM({vocabSize: VOCAB.length, maxLength: t?.maxLength ?? 1280, dModel: t?.dModel ?? 64,
                           numLayers: t?.layers ?? 2, numHeads: t?.heads ?? 4, numKvHeads: t?.kvHeads ?? 2});
  const mModel = mambaLM({vocabSize: VOCAB.length, dModel: m?.dModel ?? 64, numLayers: m?.layers ?? 5,
                          dState: m?.dState ?? 64, headDim: m?.headDim ?? 32, expand: m?.expand ?? 2});
  const counts = {transformer: tModel.countParams(), mamba: mModel.countParams()};
  tModel.dispose();
  mModel.dispose();
  return counts;
}

runExample(async () => {
  const flags = parseFlags('compare.ts: validation loss of the transformer and the Mamba-2 LM', FLAGS);
  const read = (file: string): LossLog => {
    const log = JSON.parse(fs.readFileSync(file, 'utf8'));
    return {...log, train: log.train ?? log.losses};
  };
  const transformer = read(flags.transformer), mamba = read(flags.mamba);
  const params = parameterCounts(transformer, mamba);
  const backend = mamba.backend ?? mamba.flags?.backend;
  const at = (log: LossLog, step: number) => log.validation.find((v) => v.step === step)?.loss;
  const steps = flags.steps.split(',').map(Number)
      .filter((s) => at(transformer, s) !== undefined || at(mamba, s) !== undefined);
  const cell = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(3));
  const rate = (log: LossLog, seconds: number | undefined) =>
      seconds ? `${((log.train.length * 16 * 64) / seconds).toFixed(0)}` : '-';
  const md = [
    `| step | ${steps.join(' | ')} |`,
    `|---|${steps.map(() => '---:').join('|')}|`,
    `| transformer (${params.transformer} parameters) | ${steps.map((s) => cell(at(transformer, s))).join(' | ')} |`,
    `| Mamba-2 (${params.mamba} parameters) | ${steps.map((s) => cell(at(mamba, s))).join(' | ')} |`,
    '',
    `Validation loss (nats/char) on the same ${16} x ${64}-character validation windows; backend ${backend}; steps trained: transformer ${transformer.train.length}, Mamba-2 ${mamba.train.length}; ` +
        `training tokens/s: transformer ${rate(transformer, flags.transformerSeconds || transformer.seconds)}, ` +
        `Mamba-2 ${rate(mamba, flags.mambaSeconds || mamba.seconds)} (a shared, loaded machine: times are indicative only).`,
  ].join('\n');
  fs.mkdirSync(flags.out, {recursive: true});
  fs.writeFileSync(path.join(flags.out, 'lm-comparison.md'), md + '\n');
  fs.writeFileSync(path.join(flags.out, 'lm-comparison.json'), JSON.stringify({
    date: new Date().toISOString(), backend,
    transformer: {parameters: params.transformer, seconds: flags.transformerSeconds || transformer.seconds,
                  validation: transformer.validation},
    mamba: {parameters: params.mamba, seconds: flags.mambaSeconds || mamba.seconds, validation: mamba.validation},
  }, null, 1));
  await writeLinePlot(path.join(flags.out, 'validation-loss.png'), [
    {name: 'transformer', points: transformer.validation.map((v) => [v.step, v.loss])},
    {name: 'Mamba-2', points: mamba.validation.map((v) => [v.step, v.loss])},
  ], {title: 'fortunes character LMs: validation loss', x: 'step', y: 'nats/char'});
  console.log(md);
  console.log(`\nwrote lm-comparison.md, lm-comparison.json and validation-loss.png to ${flags.out}`);
});
