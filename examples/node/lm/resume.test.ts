/**
 * Kill and resume: a short training run is killed with SIGKILL after a checkpoint, resumed with --resume, and
 * its losses must equal, exactly, those of an uninterrupted run with the same seed (weights, Adam slots and
 * accumulators, step, batch RNG state and loss history all come back from the checkpoint).
 */
import {ChildProcess, spawn} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {expect} from 'chai';

const root = path.resolve(__dirname, '../../..');
const ARGS = ['--backend=cpu', '--steps=12', '--batch=2', '--context=16', '--dModel=16', '--layers=1', '--heads=2',
              '--kvHeads=1', '--maxLength=32', '--evalEvery=4', '--checkpointEvery=4', '--sampleLength=0'];

function train(out: string, extra: string[] = []): ChildProcess {
  return spawn(process.execPath, ['--conditions=tfjs-ext-source', '--import', 'tsx', 'examples/node/lm/train.ts',
                                  ...ARGS, `--out=${out}`, ...extra], {cwd: root, stdio: ['ignore', 'pipe', 'pipe']});
}

function finished(child: ChildProcess): Promise<{code: number | null; signal: string | null; output: string}> {
  let output = '';
  child.stdout!.on('data', (d) => { output += d; });
  child.stderr!.on('data', (d) => { output += d; });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({code, signal, output})));
}

const savedStep = (out: string): number => {
  try {
    return JSON.parse(fs.readFileSync(path.join(out, 'training', 'state.json'), 'utf8')).step;
  } catch {
    return 0;  // no checkpoint yet (or being replaced: the rename is atomic, the read may race it)
  }
};

describe('LM example: kill -9 between checkpoints, then --resume', function() {
  this.timeout(240000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-ext-lm-resume-'));
  after(() => fs.rmSync(dir, {recursive: true, force: true}));

  it('gives exactly the losses of an uninterrupted run', async () => {
    const whole = await finished(train(path.join(dir, 'whole')));
    expect(whole.code, whole.output).to.equal(0);

    const killedOut = path.join(dir, 'killed');
    const child = train(killedOut);
    const done = finished(child);
    // Kill as soon as the step-4 checkpoint exists (before the step-8 one): steps after it are lost and redone.
    while (savedStep(killedOut) < 4 && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    const killed = await done;
    expect(killed.signal, killed.output).to.equal('SIGKILL');
    const resumedFrom = savedStep(killedOut);
    expect(resumedFrom).to.be.within(4, 11);
    expect(fs.existsSync(path.join(killedOut, 'loss.json'))).to.equal(false);

    const resumed = await finished(train(killedOut, ['--resume']));
    expect(resumed.code, resumed.output).to.equal(0);
    expect(resumed.output).to.contain(`resumed from`);
    const a = JSON.parse(fs.readFileSync(path.join(dir, 'whole', 'loss.json'), 'utf8'));
    const b = JSON.parse(fs.readFileSync(path.join(killedOut, 'loss.json'), 'utf8'));
    expect(b.train).to.have.length(12);
    expect(b.train).to.deep.equal(a.train);
    expect(b.validation).to.deep.equal(a.validation);
  });

  it('refuses --resume with different model flags, and unknown or malformed flags, without a stack trace', async () => {
    const out = path.join(dir, 'whole');
    const mismatch = await finished(train(out, ['--resume', '--dModel=32']));
    expect(mismatch.code).to.not.equal(0);
    expect(mismatch.output).to.contain('--dModel is 32 but the checkpoint used 16');
    const bad = await finished(spawn(process.execPath, ['--conditions=tfjs-ext-source', '--import', 'tsx',
                                     'examples/node/lm/train.ts', '--steps=abc'], {cwd: root}));
    expect(bad.code).to.equal(2);
    expect(bad.output).to.contain("--steps expects a number, got 'abc'");
    expect(bad.output).to.not.contain('    at ');
  });
});
