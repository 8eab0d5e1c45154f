import {expect} from 'chai';
import {InvertedPendulum} from './inverted_pendulum';

describe('InvertedPendulum (MuJoCo via mujoco-js)', function() {
  this.timeout(60000);

  it('resets near upright, steps, pays 1 per step and terminates once the pole passes 0.2 rad', async () => {
    const env = await InvertedPendulum.create();
    const obs = env.reset(0);
    expect(obs.length).to.equal(4);
    expect(Math.max(...Array.from(obs, Math.abs))).to.be.at.most(0.01);
    // a constant push to the right accelerates the cart and tips the pole back past 0.2 rad within a few steps
    let r = env.step([3]);
    expect(r.reward).to.equal(1);
    expect(r.observation[2]).to.be.above(0);  // the cart moves right
    let t = 1;
    while (!r.terminated && t < 1000) {
      r = env.step([3]);
      t++;
    }
    expect(r.terminated).to.equal(true);
    expect(r.reward).to.equal(0);
    expect(Math.abs(r.observation[1])).to.be.above(0.2);
    expect(t).to.be.below(50);
    env.dispose();
  });

  it('seeds its reset and truncates at 1000 steps when the pole is held', async () => {
    const make = await InvertedPendulum.factory();
    const a = make(), b = make();
    expect(Array.from(a.reset(5))).to.deep.equal(Array.from(b.reset(5)));
    // a PD controller on the pole angle (moving the cart under the pole) balances it
    let obs = a.reset(1), r = a.step([0]), steps = 1;
    while (!r.terminated && !r.truncated) {
      obs = r.observation;
      r = a.step([Math.max(-3, Math.min(3, 10 * obs[1] + 1 * obs[3] + 0.1 * obs[0] + 0.3 * obs[2]))]);
      steps++;
    }
    expect(r.truncated).to.equal(true);
    expect(steps).to.equal(1000);
    a.dispose();
    b.dispose();
  });
});
