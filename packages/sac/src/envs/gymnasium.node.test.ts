/**
 * Oracle: our Pendulum and MountainCarContinuous against Gymnasium's (Python, when `gymnasium` is importable;
 * skipped with the reason otherwise) from the same state under the same float32 actions, through the time limit.
 */
import {spawnSync} from 'child_process';
import * as path from 'path';
import {expect} from 'chai';
import {Random} from '../random';
import {Env} from './env';
import {MountainCarContinuous} from './mountain_car';
import {Pendulum} from './pendulum';

interface OracleStep {action: number; observation: number[]; reward: number; terminated: boolean; truncated: boolean}

const python = process.env.PYTHON ?? 'python3';
const probe = spawnSync(python, ['-c', 'import gymnasium, numpy; print(numpy.__version__)'], {encoding: 'utf8'});
const unavailable = probe.status !== 0 ? `${python} cannot import gymnasium (pip install gymnasium)` :
    Number(probe.stdout.split('.')[0]) < 2 ? `NumPy ${probe.stdout.trim()} < 2 (the envs follow NumPy 2 promotion)` :
    null;

function oracle(job: object): OracleStep[] {
  const r = spawnSync(python, [path.join(__dirname, 'gymnasium_oracle.py')],
                      {input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 1 << 26});
  if (r.status !== 0) throw new Error(`gymnasium oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout).steps;
}

function replay(env: Env, steps: OracleStep[], obsTol: number, rewardTol: number): void {
  steps.forEach((s, t) => {
    const r = env.step([s.action]);
    for (let i = 0; i < s.observation.length; i++) {
      expect(Math.abs(r.observation[i] - s.observation[i]), `step ${t} obs[${i}]`).to.be.at.most(obsTol);
    }
    expect(Math.abs(r.reward - s.reward), `step ${t} reward`).to.be.at.most(rewardTol * Math.max(1, Math.abs(s.reward)));
    expect([r.terminated, r.truncated], `step ${t} flags`).to.deep.equal([s.terminated, s.truncated]);
  });
}

describe('envs vs Gymnasium (Python oracle)', function() {
  this.timeout(60000);
  before(function() {
    if (unavailable !== null) {
      console.log(`      skipped: ${unavailable}`);
      this.skip();
    }
  });

  it('Pendulum-v1: 200 steps with clipped and unclipped torques, truncated at 200', () => {
    const rnd = new Random(7);
    const actions = Array.from({length: 200}, () => Math.fround(rnd.uniform(-3, 3)));
    const steps = oracle({env: 'Pendulum-v1', state: [2.5, -0.7], actions, steps: 200});
    expect(steps.length).to.equal(200);
    const env = new Pendulum();
    env.setState(2.5, -0.7);
    // sin/cos of libm and V8 may differ in the last bit; nothing else differs
    replay(env, steps, 1e-5, 1e-9);
  });

  it('MountainCarContinuous-v0: random forces bit for bit through the 999-step limit', () => {
    const rnd = new Random(11);
    const actions = Array.from({length: 999}, () => Math.fround(rnd.uniform(-1.5, 1.5)));
    const steps = oracle({env: 'MountainCarContinuous-v0', state: [-0.52, 0], actions, steps: 999});
    expect(steps.length).to.equal(999);
    const env = new MountainCarContinuous();
    env.setState(-0.52, 0);
    replay(env, steps, 0, 1e-15);
  });

  it('MountainCarContinuous-v0: an energy-pumping episode reaches the goal, bit for bit', () => {
    const steps = oracle({env: 'MountainCarContinuous-v0', state: [-0.45, 0], policy: 'pump', steps: 999});
    expect(steps[steps.length - 1].terminated).to.equal(true);
    const env = new MountainCarContinuous();
    env.setState(-0.45, 0);
    replay(env, steps, 0, 1e-15);
  });
});
