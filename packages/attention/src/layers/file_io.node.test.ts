import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {fileRoundTrip} from '@tfjs-ext/core/node';
import {describeBackends} from '@tfjs-ext/core/testing';
import {causalLM, FlashMultiHeadAttention, TransformerBlock} from '../index';

// Every custom layer of @tfjs-ext/attention through model.save('file://...') and tf.loadLayersModel('file://...').
describeBackends('attention layers: file:// save and load (Node)', () => {
  it('causalLM (TokenEmbedding, PositionEmbedding, TransformerBlock, LMHead) reloads with identical logits', async () => {
    const model = causalLM({vocabSize: 11, maxLength: 16, dModel: 8, numLayers: 2, numHeads: 2, numKvHeads: 1});
    const tokens = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8]], undefined, 'int32');
    const {maxDiff, reloaded, files} = await fileRoundTrip(model, tokens);
    expect(files).to.deep.equal(['model.json', 'weights.bin']);
    expect(maxDiff).to.equal(0);
    expect(reloaded.layers.map((l) => l.getClassName())).to.deep.equal(model.layers.map((l) => l.getClassName()));
    tf.dispose([tokens]);
    model.dispose();
    reloaded.dispose();
  });

  it('FlashMultiHeadAttention and TransformerBlock in a functional model reload with identical outputs', async () => {
    const input = tf.input({shape: [6, 8]});
    let x = new FlashMultiHeadAttention({numHeads: 2, keyDim: 4, causal: true}).apply(input) as tf.SymbolicTensor;
    x = new TransformerBlock({numHeads: 2}).apply(x) as tf.SymbolicTensor;
    const model = tf.model({inputs: input, outputs: x});
    const data = tf.randomNormal([2, 6, 8]);
    const {maxDiff, reloaded} = await fileRoundTrip(model, data);
    expect(maxDiff).to.equal(0);
    tf.dispose([data]);
    model.dispose();
    reloaded.dispose();
  });
}, {only: ['cpu', 'wasm']});
