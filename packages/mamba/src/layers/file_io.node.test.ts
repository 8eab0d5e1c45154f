import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {fileRoundTrip} from '@tfjs-ext/core/node';
import {describeBackends} from '@tfjs-ext/core/testing';
import {mambaLM} from '../index';

// Every custom layer of @tfjs-ext/mamba (OneHotEmbedding, RMSNorm, Mamba2) through file:// save and load.
describeBackends('mamba layers: file:// save and load (Node)', () => {
  it('mambaLM reloads with identical logits', async () => {
    const model = mambaLM({vocabSize: 9, dModel: 8, numLayers: 2, dState: 4, headDim: 4, chunkSize: 4, seed: 3});
    const tokens = tf.tensor2d([[1, 2, 3, 4, 5], [6, 7, 8, 0, 1]], undefined, 'int32');
    const {maxDiff, reloaded} = await fileRoundTrip(model, tokens);
    expect(maxDiff).to.equal(0);
    expect(reloaded.layers.map((l) => l.getClassName())).to.deep.equal(model.layers.map((l) => l.getClassName()));
    tf.dispose([tokens]);
    model.dispose();
    reloaded.dispose();
  });
}, {only: ['cpu', 'wasm']});
