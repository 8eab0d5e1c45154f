/**
 * useBestBackend chooses by measurement: a probe made slow on every backend but one (a busy wait of 25 ms,
 * against well under a millisecond of work) must put the user on that one, whichever it is.
 */
import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {BackendName, initBackend} from './index';
import {useBestBackend} from './best';

function slowExceptOn(fast: BackendName) {
  return () => {
    const x = tf.ones([4, 4]);
    if (tf.getBackend() !== fast) {
      const until = performance.now() + 25;
      while (performance.now() < until) { /* the slow backend */ }
    }
    return tf.matMul(x, x);
  };
}

describe('core: useBestBackend', () => {
  after(async () => {
    await initBackend('cpu');
  });

  for (const fast of ['wasm', 'cpu'] as BackendName[]) {
    it(`picks the backend that runs the probe fastest (${fast} here)`, async () => {
      const best = await useBestBackend({candidates: ['cpu', 'wasm'], probe: slowExceptOn(fast), repeats: 1});
      expect(best.name).to.equal(fast);
      expect(tf.getBackend()).to.equal(fast);
      expect(Object.keys(best.probeMs).sort()).to.deep.equal(['cpu', 'wasm']);
      expect(best.probeMs[fast]!).to.be.lessThan(25);
    });
  }

  it('leaves out a backend whose probe throws', async () => {
    const best = await useBestBackend({candidates: ['cpu', 'wasm'], repeats: 1, probe: () => {
      if (tf.getBackend() === 'cpu') throw new Error('no kernel here');
      return tf.ones([2]);
    }});
    expect(best.name).to.equal('wasm');
    expect(best.probeMs.cpu).to.equal(undefined);
  });

  it('times the registered probes (or the default one) on every available backend', async () => {
    const best = await useBestBackend({candidates: ['cpu', 'wasm', 'tensorflow'], repeats: 1});
    const available = [];
    for (const name of ['cpu', 'wasm', 'tensorflow'] as BackendName[]) {
      if ((await initBackend(name)).available) available.push(name);
    }
    expect(Object.keys(best.probeMs).sort()).to.deep.equal(available.sort());
    expect(best.probeMs[best.name]).to.equal(Math.min(...Object.values(best.probeMs) as number[]));
    expect(best.probes.length).to.be.greaterThan(0);
  });
});
