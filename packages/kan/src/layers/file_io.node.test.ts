import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {fileRoundTrip} from '@tfjs-ext/core/node';
import {describeBackends} from '@tfjs-ext/core/testing';
import {kan} from '../index';

describeBackends('KANLinear: file:// save and load (Node)', () => {
  it('a [3, 4, 2] KAN (grids and coefficients included) reloads with identical outputs', async () => {
    const model = kan([3, 4, 2], {gridSize: 5, seed: 3});
    const x = tf.randomUniform([7, 3], -1, 1);
    const {maxDiff, reloaded} = await fileRoundTrip(model, x);
    expect(maxDiff).to.equal(0);
    tf.dispose([x]);
    model.dispose();
    reloaded.dispose();
  });
}, {only: ['cpu', 'wasm']});
