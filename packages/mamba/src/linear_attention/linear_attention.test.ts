import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {checkGradients, describeBackends, expectClose, expectNoLeaks, expectThrowsMatching, randomArray,
        toFloat64} from '@tfjs-ext/core/testing';
import {linearAttention} from './op';
import {linearAttentionReference} from './reference';

describeBackends('mamba: linearAttention', () => {
  const t4 = (v: Float64Array, shape: number[]) => tf.tensor4d(Float32Array.from(v), shape as never);

  for (const [Hqk, H, Q] of [[2, 2, 4], [1, 3, 64]]) {
    it(`equals causal linear attention (q/k heads ${Hqk}, v heads ${H}, chunk ${Q}, L 11)`, async () => {
      const batch = 2, L = 11, dk = 3, dv = 4;
      const qv = randomArray(batch * L * Hqk * dk, 1), kv = randomArray(batch * L * Hqk * dk, 2);
      const vv = randomArray(batch * L * H * dv, 3);
      const [q, k, v] = [t4(qv, [batch, L, Hqk, dk]), t4(kv, [batch, L, Hqk, dk]), t4(vv, [batch, L, H, dv])];
      const y = linearAttention(q, k, v, {chunkSize: Q});
      expect(y.shape).to.deep.equal([batch, L, H, dv]);
      expectClose(await toFloat64(y), linearAttentionReference(qv, kv, vv, batch, L, Hqk, dk, H, dv),
                  {atol: 2e-5, rtol: 2e-4, name: 'y'});
      tf.dispose([q, k, v, y]);
    });
  }

  it('gradients in q, k, v match finite differences of the reference', async () => {
    const batch = 1, L = 7, Hqk = 1, H = 2, dk = 2, dv = 2;
    await checkGradients({
      f: (q, k, v) => linearAttention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, {chunkSize: 3}),
      reference: (q, k, v) => linearAttentionReference(q, k, v, batch, L, Hqk, dk, H, dv),
      inputs: [{shape: [batch, L, Hqk, dk], values: randomArray(L * dk, 4)},
               {shape: [batch, L, Hqk, dk], values: randomArray(L * dk, 5)},
               {shape: [batch, L, H, dv], values: randomArray(L * H * dv, 6)}],
      eps: 1e-3, rtol: 3e-3, atol: 3e-4,
    });
  });

  it('does not leak; rejects bad input naming the argument', async () => {
    const q = tf.zeros([1, 5, 2, 3]) as tf.Tensor4D, v = tf.zeros([1, 5, 4, 2]) as tf.Tensor4D;
    await expectNoLeaks(() => linearAttention(q, q, v), 'linearAttention');
    await expectNoLeaks(() => tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        tf.sum(linearAttention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D)))([q, q, v]), 'grad');
    expectThrowsMatching(() => linearAttention(tf.zeros([5, 2, 3]) as never, q, v), ['q', 'rank 4']);
    expectThrowsMatching(() => linearAttention(q, tf.zeros([1, 5, 2, 4]) as tf.Tensor4D, v), ['k', 'shape of q']);
    expectThrowsMatching(() => linearAttention(q, q, tf.zeros([1, 6, 4, 2]) as tf.Tensor4D), ['v', 'batch and length']);
    expectThrowsMatching(() => linearAttention(q, q, tf.zeros([1, 5, 3, 2]) as tf.Tensor4D), ['v heads (3)', 'multiple']);
    expectThrowsMatching(() => linearAttention(q, q, v, {chunk: 4} as never), ["unknown option 'chunk'"]);
    tf.dispose([q, v]);
  });
});
