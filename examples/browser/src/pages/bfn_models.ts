/**
 * The two small Bayesian Flow Networks of the BFN page, shared by the page (sampling) and export-models.ts
 * (training, in Node): binarised 14 x 14 digits with the discrete flow (K = 2) and a 2-D two-moons
 * distribution with the continuous flow. Both networks are plain Keras layers (an MLP on [flow parameters, t]),
 * so they save and load as tfjs model files.
 */
import * as tf from '@tensorflow/tfjs';
import {ContinuousFlow, DiscreteFlow} from '@tfjs-ext/bfn';

/** Side of the binarised digits (MNIST's 28 x 28 averaged over 2 x 2 blocks, then thresholded). */
export const DIGIT_SIDE = 14;
/** Digits: beta(1) = 3 as the BFN paper's binarised MNIST. */
export const digitFlow = () => new DiscreteFlow({numClasses: 2, sqrtBeta1: Math.sqrt(3)});
/** 2-D data: sigma1 = 0.02 (the output's final standard deviation relative to the data's unit scale). */
export const pointFlow = () => new ContinuousFlow({sigma1: 0.02});

/** An MLP from [flow parameters `[batch, dim]`, t `[batch, 1]`] to `outputs` raw outputs per example. */
export function bfnMLP(dim: number, outputs: number, hidden: number, layers: number, name: string): tf.LayersModel {
  const params = tf.input({shape: [dim], name: `${name}_params`});
  const t = tf.input({shape: [1], name: `${name}_t`});
  let h = tf.layers.concatenate({name: `${name}_concat`}).apply([params, t]) as tf.SymbolicTensor;  // [batch, dim + 1]
  for (let l = 0; l < layers; l++) {
    h = tf.layers.dense({units: hidden, activation: 'swish' as any, name: `${name}_dense_${l}`}).apply(h) as tf.SymbolicTensor;
  }
  const out = tf.layers.dense({units: outputs, name: `${name}_out`}).apply(h) as tf.SymbolicTensor;
  return tf.model({inputs: [params, t], outputs: out, name});
}

/** Digits network: theta as 2p - 1 `[batch, 196]` and t -> one logit per pixel `[batch, 196]`. */
export const digitNetwork = () => bfnMLP(DIGIT_SIDE * DIGIT_SIDE, DIGIT_SIDE * DIGIT_SIDE, 192, 3, 'bfn_digits');
/** 2-D network: mu `[batch, 2]` and t -> the noise estimate epsHat `[batch, 2]`. */
export const pointNetwork = () => bfnMLP(2, 2, 128, 3, 'bfn_points');

/** `count` points of two interleaved half circles (scaled to about [-1, 1]^2), seeded: `[count, 2]`. */
export function twoMoons(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const random = () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 4294967296;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const out = new Float32Array(count * 2);
  for (let i = 0; i < count; i++) {
    const upper = i % 2 === 0, a = Math.PI * random();
    const x = upper ? Math.cos(a) : 1 - Math.cos(a), y = upper ? Math.sin(a) : 0.5 - Math.sin(a);
    out[2 * i] = (x - 0.5) * 0.8 + 0.05 * gauss();
    out[2 * i + 1] = (y - 0.25) * 0.8 + 0.05 * gauss();
  }
  return out;
}
