/**
 * Every public op and config of the package rejects unknown option keys, naming the key and the accepted ones
 * (a misspelt `gridSise` must not silently train with the default grid); Keras base-layer keys pass.
 */
import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {describeBackends, expectThrowsMatching} from '@tfjs-ext/core/testing';
import {autoSymbolic, Float64LBFGS, kan, KANLinear, kanRegularization, LBFGS, prune, refine,
        updateGrid} from './index';

/** Awaits `run` and asserts it rejects with a message containing every fragment. */
async function expectRejectsMatching(run: () => Promise<unknown>, fragments: string[]): Promise<void> {
  let message: string | undefined;
  try {
    await run();
  } catch (e) {
    message = e instanceof Error ? e.message : String(e);
  }
  expect(message, `expected an error mentioning ${fragments.join(', ')}`).to.be.a('string');
  for (const f of fragments) expect(message).to.include(f);
}

// Argument checks run before any backend work: one backend is enough.
describeBackends('kan: unknown option keys', () => {
  it('KANLinear and kan() reject a misspelt key; KANLinear accepts the Keras base-layer keys', () => {
    expectThrowsMatching(() => new KANLinear({units: 2, gridSise: 7} as never),
                         ["KANLinear: unknown config key 'gridSise'", 'gridSize', 'trainable']);
    expect(() => new KANLinear({units: 2, name: 'k', trainable: false, inputShape: [3], dtype: 'float32'}))
        .to.not.throw();
    expectThrowsMatching(() => kan([2, 1], {gridSise: 7} as never), ["kan: unknown option 'gridSise'", 'gridSize']);
    expectThrowsMatching(() => kan([2, 1], {units: 3} as never), ["kan: unknown option 'units'"]);
  });

  it('LBFGS and Float64LBFGS reject unknown options', () => {
    const v = tf.variable(tf.zeros([2]));
    expectThrowsMatching(() => new LBFGS([v], {maxIters: 5} as never),
                         ["LBFGS: unknown option 'maxIters'", 'accepted: historySize, lineSearch, lr, maxEval, maxIter']);
    expectThrowsMatching(() => new Float64LBFGS({history: 5} as never), ["LBFGS: unknown option 'history'"]);
    v.dispose();
  });

  it('updateGrid, refine, prune, kanRegularization and autoSymbolic reject unknown options', async () => {
    const model = kan([2, 2, 1], {gridSize: 3, seed: 0});
    const x = tf.tensor2d([[0.1, 0.2], [-0.3, 0.5], [0.7, -0.6]]);
    await expectRejectsMatching(() => updateGrid(model, x, {range: 'samples'} as never),
                                ["updateGrid: unknown option 'range'", 'accepted: hiddenRange']);
    await expectRejectsMatching(() => refine(model, 5, x, {hidden: 'samples'} as never),
                                ["refine: unknown option 'hidden'", 'accepted: hiddenRange']);
    await expectRejectsMatching(() => prune(model, x, {thresh: 0.1} as never),
                                ["prune: unknown option 'thresh'", 'accepted: threshold']);
    expectThrowsMatching(() => kanRegularization(model, x, {l1: 1} as never),
                         ["kanRegularization: unknown option 'l1'", 'accepted: lambdaEntropy, lambdaL1']);
    await expectRejectsMatching(() => autoSymbolic(model, x, {samples: 8} as never),
                                ["autoSymbolic: unknown option 'samples'", 'maxSamples']);
    x.dispose();
    model.dispose();
  });
}, {only: ['cpu']});
