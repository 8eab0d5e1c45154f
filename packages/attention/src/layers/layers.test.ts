/**
 * Attention layers: outputs and gradients equal an independent plain-tf reimplementation (full softmax,
 * explicit mask) with the same weights; training reduces the loss; save/load round trips; no leaks.
 */
import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {checkGradients, describeBackends, expectClose, expectNoLeaks, expectThrowsMatching,
        randomArray} from '@tfjs-ext/core/testing';
import {flashAttentionReference} from '../flash_attention/reference';
import {lastDispatch} from '@tfjs-ext/core';
import {causalLM, causalLMLoss} from './causal_lm';
import {PositionEmbedding, TokenEmbedding} from './embeddings';
import {FlashMultiHeadAttention} from './multi_head_attention';
import {TransformerBlock} from './transformer_block';

const TOL = {rtol: 1e-3, atol: 1e-4};

// ---- plain-tf reference (deliberately not reusing ./math.ts) ----

function denseRef(x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  const [b, t, d] = x.shape;
  return tf.reshape(tf.add(tf.matMul(tf.reshape(x, [b * t, d]), kernel as tf.Tensor2D), bias), [b, t, kernel.shape[1]!]);
}

/** `[B, T, H*D]` to `[B, H, T, D]`, then each head repeated `repeat` times (slices: gather/tile lack gradients). */
function headsRef(x: tf.Tensor, heads: number, d: number, repeat = 1): tf.Tensor {
  const [b, t] = x.shape;
  const split = tf.transpose(tf.reshape(x, [b, t, heads, d]), [0, 2, 1, 3]);  // [B, heads, T, D]
  if (repeat === 1) return split;
  const perQueryHead = Array.from({length: heads * repeat},
                                  (_, h) => tf.slice(split, [0, Math.floor(h / repeat), 0, 0], [b, 1, t, d]));
  return tf.concat(perQueryHead, 1);
}

/** Weights in the layer's order: qK, qB, kK, kB, vK, vB, oK, oB. */
function mhaRef(w: tf.Tensor[], query: tf.Tensor, value: tf.Tensor, h: number, hkv: number, d: number,
                causal: boolean): tf.Tensor {
  const [qK, qB, kK, kB, vK, vB, oK, oB] = w;
  const q = headsRef(denseRef(query, qK, qB), h, d);               // [B, H, Tq, D]
  const k = headsRef(denseRef(value, kK, kB), hkv, d, h / hkv);    // [B, H, Tk, D]
  const v = headsRef(denseRef(value, vK, vB), hkv, d, h / hkv);
  let scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d));  // [B, H, Tq, Tk]
  const [tq, tk] = [query.shape[1]!, value.shape[1]!];
  if (causal) {
    // bottom-right aligned: query i sees key j iff j <= i + (tk - tq)
    const allowed = tf.tensor2d(Array.from({length: tq}, (_, i) =>
        Array.from({length: tk}, (_, j) => (j <= i + tk - tq ? 0 : -1e9))));
    scores = tf.add(scores, allowed);
  }
  const out = tf.matMul(tf.softmax(scores), v);                     // [B, H, Tq, D]
  const merged = tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [query.shape[0], tq, h * d]);
  return denseRef(merged, oK, oB);
}

/** Float64 `x [rows, n] @ w [n, m] + bias`. */
function denseF64(x: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number>, rows: number, n: number,
                  m: number): Float64Array {
  const out = new Float64Array(rows * m);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < m; c++) {
      let acc = bias[c];
      for (let i = 0; i < n; i++) acc += x[r * n + i] * w[i * m + c];
      out[r * m + c] = acc;
    }
  }
  return out;
}

/** Float64 self-attention layer (weights as in mhaRef) on the flash-attention float64 oracle. */
function mhaF64(w: Float64Array[], x: Float64Array, b: number, t: number, dm: number, h: number, hkv: number,
                d: number, causal: boolean): Float64Array {
  const rows = b * t;
  const q = denseF64(x, w[0], w[1], rows, dm, h * d);
  const k = denseF64(x, w[2], w[3], rows, dm, hkv * d);
  const v = denseF64(x, w[4], w[5], rows, dm, hkv * d);
  const {output} = flashAttentionReference(q, k, v, new Array(b).fill(t), {batch: b, nq: t, nk: t, hq: h, hkv, d},
                                           {scale: 1 / Math.sqrt(d), causal, windowLeft: -1, windowRight: -1});
  return denseF64(output, w[6], w[7], rows, h * d, w[7].length);
}

function layerNormRef(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const mean = tf.mean(x, -1, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), -1, true);
  return tf.add(tf.mul(tf.div(centered, tf.sqrt(tf.add(variance, 1e-5))), gamma), beta);
}

function geluRef(x: tf.Tensor): tf.Tensor {
  const c = Math.sqrt(2 / Math.PI);
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), c)), 1));
}

/** Weights in TransformerBlock's order: n1g, n1b, 8 attention weights, n2g, n2b, m1K, m1B, m2K, m2B. */
function blockRef(w: tf.Tensor[], x: tf.Tensor, h: number, hkv: number, d: number): tf.Tensor {
  const n1 = layerNormRef(x, w[0], w[1]);
  const a = tf.add(x, mhaRef(w.slice(2, 10), n1, n1, h, hkv, d, true));
  const n2 = layerNormRef(a, w[10], w[11]);
  return tf.add(a, denseRef(geluRef(denseRef(n2, w[12], w[13])), w[14], w[15]));
}

/** Sets every weight of `layer` to seeded random values (biases and norms too, so all terms are tested). */
function randomizeWeights(layer: tf.layers.Layer, seed: number, scale = 0.5): void {
  tf.tidy(() => layer.setWeights(layer.getWeights().map((w, i) => tf.tensor(
      Float32Array.from(randomArray(w.size, seed + i, -scale, scale),
                        (v) => ((w as tf.Variable).name.includes('gamma') ? 1 + v : v)), w.shape))));
}

async function values(t: tf.Tensor): Promise<Float32Array> {
  return await t.data() as Float32Array;
}

/** Gradients of `sum(f(x) * cot)` wrt `x` and every tensor in `ws`. */
function gradsOf(f: (x: tf.Tensor, ...ws: tf.Tensor[]) => tf.Tensor, x: tf.Tensor, ws: tf.Tensor[], cot: tf.Tensor) {
  return tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(f(args[0], ...args.slice(1)), cot)))([x, ...ws]);
}

async function saveAndLoad(model: tf.LayersModel): Promise<tf.LayersModel> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    saved = artifacts;
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
  }));
  return tf.loadLayersModel(tf.io.fromMemory(saved!));
}

describeBackends('attention layers', () => {
  const B = 2, T = 5, DM = 12;
  const x = () => tf.tensor3d(Array.from(randomArray(B * T * DM, 7)), [B, T, DM]);

  for (const [h, hkv, causal] of [[4, 4, false], [4, 2, true], [4, 1, true]] as const) {
    it(`FlashMultiHeadAttention equals plain tf (heads ${h}, kv heads ${hkv}, causal ${causal})`, async () => {
      const layer = new FlashMultiHeadAttention({numHeads: h, numKvHeads: hkv, keyDim: 3, causal, outputDim: 7});
      const input = x();
      layer.apply(input);  // builds
      randomizeWeights(layer, 11);
      const got = layer.apply(input) as tf.Tensor;
      expect(got.shape).to.deep.equal([B, T, 7]);
      const want = tf.tidy(() => mhaRef(layer.getWeights(), input, input, h, hkv, 3, causal));
      expectClose(await values(got), await values(want), {...TOL, name: 'output'});
      tf.dispose([got, want, input]);
      layer.dispose();
    });
  }

  it('FlashMultiHeadAttention gradient wrt its input matches float64 finite differences (GQA, causal)', async () => {
    const [b, t, dm, h, hkv, d] = [1, 4, 6, 4, 2, 2];
    const layer = new FlashMultiHeadAttention({numHeads: h, numKvHeads: hkv, keyDim: d, causal: true});
    const input = tf.zeros([b, t, dm]);
    tf.dispose(layer.apply(input) as tf.Tensor);
    randomizeWeights(layer, 61);
    const weights = await Promise.all(layer.getWeights().map(async (w) => Float64Array.from(await values(w))));
    await checkGradients({
      f: (xi) => layer.apply(xi) as tf.Tensor,
      reference: (xi) => mhaF64(weights, xi, b, t, dm, h, hkv, d, true),
      inputs: [{shape: [b, t, dm], values: randomArray(b * t * dm, 62)}],
    });
    input.dispose();
    layer.dispose();
  });

  it('FlashMultiHeadAttention cross-attention [query, value] equals plain tf', async () => {
    const layer = new FlashMultiHeadAttention({numHeads: 2, keyDim: 4, causal: true});
    const query = tf.tensor3d(Array.from(randomArray(B * 3 * 6, 1)), [B, 3, 6]);
    const value = tf.tensor3d(Array.from(randomArray(B * 7 * 5, 2)), [B, 7, 5]);
    layer.apply([query, value]);
    randomizeWeights(layer, 21);
    const got = layer.apply([query, value]) as tf.Tensor;
    expect(got.shape).to.deep.equal([B, 3, 6]);
    const want = tf.tidy(() => mhaRef(layer.getWeights(), query, value, 2, 2, 4, true));
    expectClose(await values(got), await values(want), {...TOL, name: 'output'});
    tf.dispose([got, want, query, value]);
    layer.dispose();
  });

  it('TransformerBlock (GQA) output and gradients equal plain tf', async () => {
    const block = new TransformerBlock({numHeads: 4, numKvHeads: 2, mlpDim: 16});
    const input = x();
    block.apply(input);
    randomizeWeights(block, 31, 0.4);
    const weights = block.trainableWeights.map((v) => v.read());
    const got = block.apply(input) as tf.Tensor;
    const want = tf.tidy(() => blockRef(block.getWeights(), input, 4, 2, 3));
    expectClose(await values(got), await values(want), {...TOL, name: 'output'});

    // Gradients through the layer (flashAttention's own backward) vs tfjs autograd of the reference.
    const cot = tf.tensor3d(Array.from(randomArray(B * T * DM, 41)), [B, T, DM]);
    const gotGrads = gradsOf((xi) => block.apply(xi) as tf.Tensor, input, [], cot);
    const gotWeightGrads = tf.variableGrads(() => tf.sum(tf.mul(block.apply(input) as tf.Tensor, cot)),
                                            block.trainableWeights.map((v) => v.read() as tf.Variable));
    const wantGrads = gradsOf((xi, ...ws) => blockRef(ws, xi, 4, 2, 3), input, weights, cot);
    expectClose(await values(gotGrads[0]), await values(wantGrads[0]), {...TOL, name: 'd/dx'});
    for (let i = 0; i < weights.length; i++) {
      const name = (weights[i] as tf.Variable).name;
      expectClose(await values(gotWeightGrads.grads[name]), await values(wantGrads[i + 1]),
                  {...TOL, name: `d/d(${block.trainableWeights[i].originalName})`});
    }
    tf.dispose([got, want, cot, input, gotGrads, wantGrads, gotWeightGrads.value, gotWeightGrads.grads]);
    block.dispose();
  });

  it('a few training steps of a tiny causal LM reduce the loss', async () => {
    const model = causalLM({vocabSize: 11, maxLength: 16, dModel: 16, numLayers: 1, numHeads: 2, numKvHeads: 1});
    // A learnable pattern: next token = (token + 3) mod 11.
    const seq = Array.from({length: 2}, (_, b) => Array.from({length: 9}, (_, t) => (b * 5 + 3 * t) % 11));
    const inputs = tf.tensor2d(seq.map((s) => s.slice(0, 8)), undefined, 'int32');
    const targets = tf.tensor2d(seq.map((s) => s.slice(1)), undefined, 'int32');
    // Seeded Glorot-uniform matrices (biases and norms keep their fixed initial values), so every run starts
    // from the same weights: the default initializers draw from Math.random.
    tf.tidy(() => model.setWeights(model.getWeights().map((w, i) => {
      if (w.rank < 2) return w.clone();
      const limit = Math.sqrt(6 / (w.shape[0] + w.shape[w.rank - 1]));
      return tf.tensor(Float32Array.from(randomArray(w.size, 100 + i, -limit, limit)), w.shape);
    })));
    const optimizer = tf.train.adam(0.03);
    const lossOf = () => causalLMLoss(model.apply(inputs) as tf.Tensor, targets);
    const losses: number[] = [];
    for (let step = 0; step < 8; step++) {
      const loss = optimizer.minimize(lossOf, true)!;
      losses.push((await loss.data())[0]);
      loss.dispose();
    }
    expect(losses.every(Number.isFinite)).to.equal(true);
    expect(losses[losses.length - 1]).to.be.lessThan(0.5 * losses[0], `losses ${losses.map((l) => l.toFixed(3))}`);
    tf.dispose([inputs, targets]);
    optimizer.dispose();
    model.dispose();
  });

  it('save / load round trip gives identical predictions (causal LM with GQA; attention layer model)', async () => {
    const lm = causalLM({vocabSize: 13, maxLength: 8, dModel: 8, numLayers: 2, numHeads: 2, numKvHeads: 1});
    const ids = tf.tensor2d([[1, 5, 7, 12, 0, 3], [2, 2, 9, 4, 11, 6]], undefined, 'int32');
    const input = tf.input({shape: [null, 6]});
    const mha = new FlashMultiHeadAttention({numHeads: 4, numKvHeads: 2, keyDim: 2, causal: true, useBias: false});
    const mhaModel = tf.model({inputs: input, outputs: mha.apply(input) as tf.SymbolicTensor});
    const xs = tf.tensor3d(Array.from(randomArray(2 * 4 * 6, 3)), [2, 4, 6]);
    for (const [model, arg] of [[lm, ids], [mhaModel, xs]] as const) {
      const loaded = await saveAndLoad(model);
      expect(loaded.layers.map((l) => l.getClassName())).to.deep.equal(model.layers.map((l) => l.getClassName()));
      const before = model.predict(arg) as tf.Tensor, after = loaded.predict(arg) as tf.Tensor;
      expect(Array.from(await values(after))).to.deep.equal(Array.from(await values(before)));
      tf.dispose([before, after]);
      loaded.dispose();
    }
    const config = mhaModel.layers[1].getConfig();
    expect(config).to.include({numHeads: 4, numKvHeads: 2, keyDim: 2, causal: true, useBias: false});
    tf.dispose([ids, xs]);
    lm.dispose();
    mhaModel.dispose();
  });

  it('TokenEmbedding and PositionEmbedding pick the table rows', async () => {
    const tokens = new TokenEmbedding({vocabSize: 5, dModel: 3});
    const positions = new PositionEmbedding({maxLength: 6});
    const ids = tf.tensor2d([[4, 0, 2], [1, 1, 3]], undefined, 'int32');
    const embedded = tokens.apply(ids) as tf.Tensor;
    randomizeWeights(tokens, 51);
    positions.apply(embedded);
    randomizeWeights(positions, 52);
    const got = tf.tidy(() => positions.addPositions(tokens.apply(ids) as tf.Tensor, 2));
    const [tokenTable, positionTable] = [await values(tokens.getWeights()[0]), await values(positions.getWeights()[0])];
    const want = [[4, 0, 2], [1, 1, 3]].flatMap((row) => row.flatMap((id, t) => [0, 1, 2].map(
        (c) => Math.fround(tokenTable[id * 3 + c] + positionTable[(t + 2) * 3 + c]))));
    expectClose(await values(got), want, {rtol: 1e-6, atol: 1e-7, name: 'embeddings'});
    tf.dispose([ids, embedded, got]);
    tokens.dispose();
    positions.dispose();
  });

  it('does not leak tensors', async () => {
    const block = new TransformerBlock({numHeads: 2});
    const input = x();
    tf.dispose(block.apply(input) as tf.Tensor);  // build outside the check (weights are kept)
    await expectNoLeaks(() => block.apply(input) as tf.Tensor, 'TransformerBlock.apply');
    const mha = new FlashMultiHeadAttention({numHeads: 2, keyDim: 4});
    tf.dispose(mha.apply(input) as tf.Tensor);
    await expectNoLeaks(() => mha.apply(input) as tf.Tensor, 'FlashMultiHeadAttention.apply');
    input.dispose();
    block.dispose();
    mha.dispose();
  });

  it('rejects bad configurations and inputs with clear messages', () => {
    expectThrowsMatching(() => new FlashMultiHeadAttention({numHeads: 4, numKvHeads: 3, keyDim: 2}),
                         ['numKvHeads', 'dividing numHeads']);
    expectThrowsMatching(() => new FlashMultiHeadAttention({numHeads: 2, keyDim: 4, valueDim: 8}), ['valueDim', 'keyDim']);
    expectThrowsMatching(() => new TransformerBlock({numHeads: 5}).apply(tf.input({shape: [null, 12]})),
                         ['dModel (12)', 'numHeads (5)']);
    const mha = new FlashMultiHeadAttention({numHeads: 2, keyDim: 4});
    const bad = tf.zeros([2, 3, 4, 5]);
    expectThrowsMatching(() => mha.apply(bad), ['query', 'rank 3']);
    bad.dispose();
  });
});
