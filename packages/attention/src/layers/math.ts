/**
 * The math every attention layer shares, as plain functions of tensors. The layers (full-sequence path, run by
 * tfjs-layers) and the incremental decoder (KV cache + flashDecode) call the very same functions with the same
 * weights, so both paths compute identical numbers up to the attention kernel itself.
 */
import * as tf from '@tensorflow/tfjs';
import {denseMatMul} from '../dense_matmul/op';

/** Epsilon of every layer norm in this package (PyTorch's default). */
export const LAYER_NORM_EPSILON = 1e-5;

/**
 * One-hot float32 rows of int32 `ids`. Cast from the int32 one-hot: on the wasm backend (tfjs 4.22)
 * `tf.oneHot(..., 'float32')` writes int32 bit patterns into the float32 tensor (1 reads as 1.4e-45).
 */
export function oneHotFloat(ids: tf.Tensor, depth: number): tf.Tensor {
  return tf.cast(tf.oneHot(tf.cast(ids, 'int32'), depth), 'float32');
}

/** `x @ kernel + bias` over the last axis of `x` (any rank >= 2). */
export function dense(x: tf.Tensor, kernel: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  const inDim = x.shape[x.rank - 1];
  const outDim = kernel.shape[1]!;
  const flat = denseMatMul(tf.reshape(x, [-1, inDim]), kernel as tf.Tensor2D);  // [rows, outDim]
  const y = bias === undefined ? flat : tf.add(flat, bias);
  return tf.reshape(y, [...x.shape.slice(0, -1), outDim]);
}

/** Layer normalisation over the last axis: `(x - mean) / sqrt(var + eps) * gamma + beta`. */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon = LAYER_NORM_EPSILON): tf.Tensor {
  const {mean, variance} = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon))), gamma), beta);
}

/** GELU, tanh approximation (GPT-2's): built from ops that have gradients on every backend. */
export function gelu(x: tf.Tensor): tf.Tensor {
  const cube = tf.mul(tf.mul(x, x), x);  // not tf.pow: its gradient is several times slower
  const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, cube)));
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
}

export type MlpActivation = 'gelu' | 'relu';

export function activate(x: tf.Tensor, activation: MlpActivation): tf.Tensor {
  return activation === 'gelu' ? gelu(x) : tf.relu(x);
}

/** Projection weights of one attention layer (kernels are `[inDim, heads * headDim]`). */
export interface AttentionWeights {
  queryKernel: tf.Tensor;
  keyKernel: tf.Tensor;
  valueKernel: tf.Tensor;
  outputKernel: tf.Tensor;
  queryBias?: tf.Tensor;
  keyBias?: tf.Tensor;
  valueBias?: tf.Tensor;
  outputBias?: tf.Tensor;
}

export interface AttentionDims {
  numHeads: number;
  numKvHeads: number;
  /** Per-head size of queries, keys and values. */
  headDim: number;
}

/**
 * Computes attention of projected heads: `q [B, Tq, Hq, D]`, `k, v [B, Tk, Hkv, D]` to `[B, Tq, Hq, D]`.
 * The layers pass `flashAttention`; the incremental decoder passes a function that appends `k`, `v` to its
 * cache and runs `flashDecode`.
 */
export type AttendFn = (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D) => tf.Tensor4D;

/** Splits the last axis into heads: `[B, T, H * D]` to `[B, T, H, D]`. */
function splitHeads(x: tf.Tensor, heads: number, headDim: number): tf.Tensor4D {
  const [batch, seq] = x.shape as [number, number];
  return tf.reshape(x, [batch, seq, heads, headDim]);
}

/**
 * Multi-head attention: project `query` to Hq heads and `key`/`value` to Hkv heads, attend, merge the heads,
 * project to the output.
 */
export function multiHeadAttention(w: AttentionWeights, dims: AttentionDims, query: tf.Tensor, key: tf.Tensor,
                                   value: tf.Tensor, attend: AttendFn): tf.Tensor {
  const {numHeads, numKvHeads, headDim} = dims;
  const q = splitHeads(dense(query, w.queryKernel, w.queryBias), numHeads, headDim);    // [B, Tq, Hq, D]
  const k = splitHeads(dense(key, w.keyKernel, w.keyBias), numKvHeads, headDim);        // [B, Tk, Hkv, D]
  const v = splitHeads(dense(value, w.valueKernel, w.valueBias), numKvHeads, headDim);  // [B, Tk, Hkv, D]
  const heads = attend(q, k, v);                                                        // [B, Tq, Hq, D]
  const merged = tf.reshape(heads, [heads.shape[0], heads.shape[1], numHeads * headDim]);
  return dense(merged, w.outputKernel, w.outputBias);                                   // [B, Tq, outDim]
}

/** Weights of one pre-norm transformer block. */
export interface BlockWeights {
  norm1Gamma: tf.Tensor;
  norm1Beta: tf.Tensor;
  attention: AttentionWeights;
  norm2Gamma: tf.Tensor;
  norm2Beta: tf.Tensor;
  mlpKernel1: tf.Tensor;
  mlpBias1: tf.Tensor;
  mlpKernel2: tf.Tensor;
  mlpBias2: tf.Tensor;
}

/**
 * Pre-norm transformer block: `x + attn(LN(x))`, then `h + mlp(LN(h))`. `x: [B, T, dModel]`, same shape out.
 */
export function transformerBlock(w: BlockWeights, dims: AttentionDims, activation: MlpActivation, x: tf.Tensor,
                                 attend: AttendFn): tf.Tensor {
  const n1 = layerNorm(x, w.norm1Gamma, w.norm1Beta);
  const h = tf.add(x, multiHeadAttention(w.attention, dims, n1, n1, n1, attend));
  const n2 = layerNorm(h, w.norm2Gamma, w.norm2Beta);
  const mlp = dense(activate(dense(n2, w.mlpKernel1, w.mlpBias1), activation), w.mlpKernel2, w.mlpBias2);
  return tf.add(h, mlp);
}
