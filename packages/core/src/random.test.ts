import {expect} from 'chai';
import {pickTokens, rng} from './random';

describe('pickTokens', () => {
  it('greedy: the argmax of each row, the lower id on ties', () => {
    const logits = Float32Array.from([0.1, 2, 2, -1, /* row 2 */ 5, 1, 4, 5]);
    expect(pickTokens(logits, 2, 4, 0, rng(1))).to.deep.equal([1, 0]);
  });

  it('temperature: draws follow softmax(logits / temperature) (10k draws, 4 standard errors)', () => {
    const logits = Float32Array.from([0, Math.log(2), Math.log(4)]);  // probabilities 1/7, 2/7, 4/7 at T = 1
    const random = rng(7);
    const counts = [0, 0, 0];
    const n = 10000;
    for (let i = 0; i < n; i++) counts[pickTokens(logits, 1, 3, 1, random)[0]]++;
    [1 / 7, 2 / 7, 4 / 7].forEach((p, k) => {
      expect(Math.abs(counts[k] / n - p)).to.be.below(4 * Math.sqrt((p * (1 - p)) / n));
    });
    // T = 0.5 sharpens: probabilities proportional to 1, 4, 16.
    const sharp = [0, 0, 0];
    for (let i = 0; i < n; i++) sharp[pickTokens(logits, 1, 3, 0.5, random)[0]]++;
    expect(Math.abs(sharp[2] / n - 16 / 21)).to.be.below(4 * Math.sqrt((16 / 21) * (5 / 21) / n));
  });
});
