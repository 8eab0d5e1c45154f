// The checks a user's code runs against the installed tarballs, shared by the Node (ESM, CJS) and browser
// consumers: forward + gradient of flashAttention against plain tf ops, a KAN layer, and (Node) file:// round trips.
export async function runChecks(tf, {flashAttention, causalLM}, {kan}, backend, log) {
  await tf.setBackend(backend);
  await tf.ready();
  const q = tf.randomNormal([1, 16, 2, 8], 0, 1, 'float32', 1);
  const k = tf.randomNormal([1, 16, 2, 8], 0, 1, 'float32', 2);
  const v = tf.randomNormal([1, 16, 2, 8], 0, 1, 'float32', 3);
  const naive = (q, k, v) => tf.tidy(() => {
    const [qh, kh, vh] = [q, k, v].map((x) => tf.transpose(x, [0, 2, 1, 3]));  // [B, H, N, D]
    const mask = tf.linalg.bandPart(tf.ones([16, 16]), -1, 0);
    const scores = tf.add(tf.mul(tf.matMul(qh, kh, false, true), 1 / Math.sqrt(8)), tf.mul(tf.sub(1, mask), -1e9));
    return tf.transpose(tf.matMul(tf.softmax(scores), vh), [0, 2, 1, 3]);
  });
  const diff = async (a, b) => (await tf.max(tf.abs(tf.sub(a, b))).data())[0];
  const out = flashAttention(q, k, v, {causal: true});
  const fwd = await diff(out, naive(q, k, v));
  const [gq] = tf.grads((q) => tf.sum(tf.square(flashAttention(q, k, v, {causal: true}))))([q]);
  const [gqNaive] = tf.grads((q) => tf.sum(tf.square(naive(q, k, v))))([q]);
  const bwd = await diff(gq, gqNaive);
  if (!(fwd < 1e-4 && bwd < 1e-3)) throw new Error(`flashAttention on ${backend}: forward diff ${fwd}, gradient diff ${bwd}`);
  const model = kan([2, 3, 1], {gridSize: 5, seed: 1});
  const y = model.predict(tf.ones([4, 2]));
  if (y.shape.join() !== '4,1' || !(await y.data()).every(Number.isFinite)) throw new Error(`KAN output ${y.shape}`);
  log(`${backend}: flashAttention forward diff ${fwd.toExponential(1)}, gradient diff ${bwd.toExponential(1)}; KAN ok`);
  return {model, lm: causalLM({vocabSize: 7, maxLength: 8, dModel: 8, numLayers: 1, numHeads: 2})};
}

/** Saves with model.save('file://...') and reloads with tf.loadLayersModel('file://...'); outputs must match. */
export async function fileRoundTrip(tf, model, input, dir) {
  await model.save(`file://${dir}`);
  const again = await tf.loadLayersModel(`file://${dir}/model.json`);
  const d = (await tf.max(tf.abs(tf.sub(model.predict(input), again.predict(input)))).data())[0];
  if (d !== 0) throw new Error(`file:// round trip changed the outputs by ${d}`);
}
