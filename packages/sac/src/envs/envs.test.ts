import {expect} from 'chai';
import {MountainCarContinuous} from './mountain_car';
import {angleNormalize, Pendulum} from './pendulum';

const close = (a: number, b: number, tol = 1e-6) => expect(Math.abs(a - b), `${a} vs ${b}`).to.be.lessThan(tol);

describe('Pendulum (Gymnasium Pendulum-v1)', () => {
  it('normalises angles with the floored modulo into [-pi, pi)', () => {
    close(angleNormalize(4), 4 - 2 * Math.PI, 1e-12);
    close(angleNormalize(-4), -4 + 2 * Math.PI, 1e-12);
    close(angleNormalize(Math.PI), -Math.PI, 1e-12);
    close(angleNormalize(7 * Math.PI + 0.5), -Math.PI + 0.5, 1e-12);
  });

  it('steps as hand-computed: cost on the pre-step state, torque and speed clipping', () => {
    const env = new Pendulum();
    env.setState(1, 7.9);
    const {observation, reward, terminated, truncated} = env.step([3]);  // torque clipped to 2
    // cost = 1^2 + 0.1 * 7.9^2 + 0.001 * 2^2 = 7.245 (state before the step)
    close(reward, -7.245, 1e-9);
    // thdot = 7.9 + (15 sin 1 + 3 * 2) * 0.05 = 8.831 -> clipped to 8; th = 1 + 8 * 0.05 = 1.4
    close(env.thdot, 8, 1e-12);
    close(env.th, 1.4, 1e-12);
    expect(Array.from(observation)).to.deep.equal([Math.fround(Math.cos(1.4)), Math.fround(Math.sin(1.4)), 8]);
    expect(terminated).to.equal(false);
    expect(truncated).to.equal(false);
  });

  it('steps without clipping, wrapping the angle in the cost', () => {
    const env = new Pendulum();
    env.setState(4, -1);
    const {reward} = env.step([-0.5]);
    // cost = (4 - 2pi)^2 + 0.1 * 1 + 0.001 * 0.25
    close(reward, -((4 - 2 * Math.PI) ** 2 + 0.1 + 0.00025), 1e-9);
    const thdot = -1 + (15 * Math.sin(4) - 1.5) * 0.05;
    close(env.thdot, thdot, 1e-12);
    close(env.th, 4 + thdot * 0.05, 1e-12);
  });

  it('truncates at 200 steps, never terminates, and resets from U(-pi, pi) x U(-1, 1), seeded', () => {
    const env = new Pendulum();
    const first = env.reset(3);
    expect(Array.from(new Pendulum().reset(3))).to.deep.equal(Array.from(first));
    expect(Math.abs(env.th)).to.be.at.most(Math.PI);
    expect(Math.abs(env.thdot)).to.be.at.most(1);
    for (let t = 1; t <= 200; t++) {
      const r = env.step([0]);
      expect(r.terminated).to.equal(false);
      expect(r.truncated).to.equal(t === 200);
    }
    let maxTh = 0, maxDot = 0;
    for (let i = 0; i < 500; i++) {
      env.reset();
      maxTh = Math.max(maxTh, Math.abs(env.th));
      maxDot = Math.max(maxDot, Math.abs(env.thdot));
    }
    expect(maxTh).to.be.within(3, Math.PI);
    expect(maxDot).to.be.within(0.95, 1);
  });

  it('rejects an action of the wrong length', () => {
    expect(() => new Pendulum().step([1, 2])).to.throw(/Pendulum.step: action must be an array of 1 number/);
  });
});

describe('MountainCarContinuous (Gymnasium MountainCarContinuous-v0)', () => {
  it('steps as hand-computed', () => {
    const env = new MountainCarContinuous();
    env.setState(-0.5, 0);
    const {observation, reward, terminated} = env.step([1]);
    const v = 0.0015 - 0.0025 * Math.cos(-1.5);
    close(observation[1], v, 1e-9);
    close(observation[0], -0.5 + v, 1e-7);
    close(reward, -0.1, 1e-9);
    expect(terminated).to.equal(false);
  });

  it('clips the force but charges the unclipped action; clips the speed', () => {
    const env = new MountainCarContinuous();
    env.setState(-0.5, 0.069);
    const {observation, reward} = env.step([2]);  // force 1; 0.069 + 0.0015 - 0.0025 cos(-1.5) > 0.07
    close(reward, -0.4, 1e-6);
    close(observation[1], 0.07, 1e-8);
    close(observation[0], -0.43, 1e-7);
  });

  it('stops at the left wall', () => {
    const env = new MountainCarContinuous();
    env.setState(-1.19, -0.05);
    const {observation} = env.step([0]);  // -1.19 - 0.0477 < -1.2: clipped, velocity zeroed
    expect(observation[0]).to.equal(Math.fround(-1.2));
    expect(observation[1]).to.equal(0);
  });

  it('terminates at the goal with reward 100', () => {
    const env = new MountainCarContinuous();
    env.setState(0.44, 0.02);
    const {observation, reward, terminated} = env.step([0]);
    close(observation[0], 0.44 + 0.02 - 0.0025 * Math.cos(1.32), 1e-7);
    close(reward, 100, 1e-12);
    expect(terminated).to.equal(true);
  });

  it('truncates at 999 steps; resets position from U(-0.6, -0.4), velocity 0', () => {
    const env = new MountainCarContinuous();
    const obs = env.reset(1);
    expect(obs[0]).to.be.within(-0.6, -0.4);
    expect(obs[1]).to.equal(0);
    for (let t = 1; t <= 999; t++) expect(env.step([0]).truncated).to.equal(t === 999);
  });
});
