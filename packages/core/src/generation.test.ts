import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {generateTokens, TokenDecoder} from './generation';

// A toy "model" over a vocabulary of 5: the next token's logits favour (sum of the sequence so far) mod 5.
const VOCAB = 5;
const logitsOf = (sequence: number[]) => {
  const sum = sequence.reduce((a, t) => a + t, 0);
  return Array.from({length: VOCAB}, (_, k) => (k === sum % VOCAB ? 3 : k * 0.1));
};
const full = (ids: tf.Tensor2D): tf.Tensor3D => {
  const rows = ids.arraySync();
  return tf.tensor3d(rows.map((r) => r.map((_, i) => logitsOf(r.slice(0, i + 1)))));
};

/** A decoder that keeps the sequences itself, as a KV cache or recurrent state would. */
class ToyDecoder implements TokenDecoder {
  seen: number[][] = [];
  disposed = false;
  constructor(readonly batch: number, readonly maxLength: number) {}
  step(ids: tf.Tensor2D): tf.Tensor3D {
    const rows = ids.arraySync();
    this.seen = this.seen.length === 0 ? rows.map((r) => []) : this.seen;
    return tf.tensor3d(rows.map((r, b) => r.map((t) => {
      this.seen[b].push(t);
      expect(this.seen[b].length).to.be.at.most(this.maxLength);
      return logitsOf(this.seen[b]);
    })));
  }
  dispose() {
    this.disposed = true;
  }
}

describe('generateTokens', () => {
  it('the decoder path and the full-recompute path generate the same tokens, greedy and sampled', async () => {
    const prompts = [[1, 2], [4, 4]];
    let made: ToyDecoder | undefined;
    const decoder = (batch: number, maxLength: number) => (made = new ToyDecoder(batch, maxLength));
    const greedy = await generateTokens('toy', prompts, 6, {vocab: VOCAB, full, decoder});
    // greedy: each token is the running sum mod 5
    const expected = prompts.map((p) => {
      const s = p.slice();
      for (let i = 0; i < 6; i++) s.push(s.reduce((a, t) => a + t, 0) % VOCAB);
      return s.slice(p.length);
    });
    expect(greedy).to.deep.equal(expected);
    expect(made!.disposed).to.equal(true);
    expect(made!.maxLength).to.equal(8);
    expect(await generateTokens('toy', prompts, 6, {vocab: VOCAB, full, decoder: null})).to.deep.equal(expected);
    const sampled = await generateTokens('toy', prompts, 8, {vocab: VOCAB, full, decoder}, {temperature: 2, seed: 3});
    expect(await generateTokens('toy', prompts, 8, {vocab: VOCAB, full, decoder: null}, {temperature: 2, seed: 3}))
        .to.deep.equal(sampled);
    // sampling at temperature 2 departs from the greedy tokens somewhere in 16 draws
    expect(sampled).to.not.deep.equal(await generateTokens('toy', prompts, 8, {vocab: VOCAB, full, decoder: null}));
  });

  it('passes every step\'s logits to onLogits and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const steps: number[] = [];
    await generateTokens('toy', [[1]], 3, {vocab: VOCAB, full, decoder: null},
                         {onLogits: (l, s) => { expect(l.length).to.equal(VOCAB); steps.push(s); }});
    expect(steps).to.deep.equal([0, 1, 2]);
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('rejects empty or ragged prompts and bad token counts, naming the caller', async () => {
    const paths = {vocab: VOCAB, full, decoder: null};
    const cases: Array<[number[][], number]> = [[[], 2], [[[1], [1, 2]], 2], [[[]], 2], [[[1]], -1], [[[1]], 1.5]];
    for (const [prompts, n] of cases) {
      let error: Error | undefined;
      try {
        await generateTokens('myGenerate', prompts, n, paths);
      } catch (e) {
        error = e as Error;
      }
      expect(error?.message).to.match(/myGenerate/);
    }
  });
});
