/**
 * The Mamba-2 block's math as plain functions of tensors. The layer (full sequence, run by tfjs-layers), its
 * chunked prefill with a carried state, and the one-token recurrent step all call these same functions with the
 * same weights; the only difference between the full-sequence and the step path is the SSM itself (`ssd`'s
 * chunked scan vs the recurrence `h = exp(dt A) h + dt x B^T`, `y = h C + D x`).
 */
import * as tf from '@tensorflow/tfjs';
import {ssd} from '../ssd/op';

/** Epsilon of the gated RMSNorm and of the LM's RMSNorms (the reference's 1e-5). */
export const RMS_NORM_EPSILON = 1e-5;

/** Sizes of one block, fixed once the layer is built. */
export interface Mamba2Dims {
  dModel: number;
  /** expand * dModel. */
  dInner: number;
  dState: number;
  dConv: number;
  headDim: number;
  /** dInner / headDim. */
  nHeads: number;
  nGroups: number;
  chunkSize: number;
}

/** The block's weights (tensors owned by the layer). Layouts follow the names. */
export interface Mamba2Weights {
  inProjKernel: tf.Tensor;  // [dModel, 2 dInner + 2 G N + H]: columns z | x B C | dt
  convKernel: tf.Tensor;    // [dConv, dInner + 2 G N]: row k multiplies the input k - (dConv - 1) steps back
  convBias: tf.Tensor;      // [dInner + 2 G N]
  dtBias: tf.Tensor;        // [H]
  aLog: tf.Tensor;          // [H]: A = -exp(aLog)
  d: tf.Tensor;             // [H]: skip connection
  normWeight: tf.Tensor;    // [dInner]
  outProjKernel: tf.Tensor; // [dInner, dModel]
}

/**
 * The recurrent state of one block for every batch row: the last `dConv - 1` inputs of the causal convolution
 * and the SSM state. Tensors are owned by whoever holds the state object.
 */
export interface Mamba2State {
  convState: tf.Tensor3D;  // [batch, dConv - 1, dInner + 2 G N]
  ssmState: tf.Tensor4D;   // [batch, H, headDim, dState]
}

/** Width of the convolved channels x | B | C. */
export function convDim(d: Mamba2Dims): number {
  return d.dInner + 2 * d.nGroups * d.dState;
}

/** `x @ kernel` over the last axis of `x [..., in]` -> `[..., out]`. */
export function project(x: tf.Tensor, kernel: tf.Tensor): tf.Tensor {
  const inDim = x.shape[x.rank - 1];
  const outDim = kernel.shape[1]!;
  const flat = tf.matMul(tf.reshape(x, [-1, inDim]) as tf.Tensor2D, kernel as tf.Tensor2D);  // [rows, out]
  return tf.reshape(flat, [...x.shape.slice(0, -1), outDim]);
}

export function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/** `x / sqrt(mean(x^2) + eps) * weight` over the last axis. */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor, epsilon = RMS_NORM_EPSILON): tf.Tensor {
  const meanSquare = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, epsilon))), weight);
}

/**
 * Causal depthwise conv1d of `xBC [batch, L, C]` with kernel `[dConv, C]` and bias, continuing from
 * `convState [batch, dConv - 1, C]` (zeros: the left padding of a fresh sequence). Returns the convolved
 * sequence and the new conv state (the last `dConv - 1` inputs).
 */
export function causalConv(xBC: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor, convState: tf.Tensor, dConv: number):
    {out: tf.Tensor; state: tf.Tensor3D} {
  const [batch, seq, channels] = xBC.shape as [number, number, number];
  const padded = dConv > 1 ? tf.concat([convState, xBC], 1) : xBC;  // [batch, dConv - 1 + L, C]
  let out: tf.Tensor = tf.reshape(bias, [1, 1, channels]);
  for (let k = 0; k < dConv; k++) {
    const tap = tf.reshape(tf.slice(kernel, [k, 0], [1, channels]), [1, 1, channels]);
    out = tf.add(out, tf.mul(tf.slice(padded, [0, k, 0], [batch, seq, channels]), tap));  // [batch, L, C]
  }
  const state = tf.slice(padded, [0, seq, 0], [batch, dConv - 1, channels]) as tf.Tensor3D;
  return {out, state};
}

/** What comes out of the in-projection and the convolution, ready for the SSM. */
interface SsmInputs {
  z: tf.Tensor;       // [batch, L, dInner]
  x: tf.Tensor4D;     // [batch, L, H, P]
  b: tf.Tensor4D;     // [batch, L, G, N]
  c: tf.Tensor4D;     // [batch, L, G, N]
  dt: tf.Tensor3D;    // [batch, L, H], softplus'd
  a: tf.Tensor1D;     // [H], negative
  convState: tf.Tensor3D;
}

function ssmInputs(w: Mamba2Weights, d: Mamba2Dims, u: tf.Tensor, convState: tf.Tensor): SsmInputs {
  const [batch, seq] = u.shape as [number, number, number];
  const cDim = convDim(d), gn = d.nGroups * d.dState;
  const zxbcdt = project(u, w.inProjKernel);  // [batch, L, 2 dInner + 2 G N + H]
  const z = tf.slice(zxbcdt, [0, 0, 0], [batch, seq, d.dInner]);
  const xBCRaw = tf.slice(zxbcdt, [0, 0, d.dInner], [batch, seq, cDim]);
  const dtRaw = tf.slice(zxbcdt, [0, 0, d.dInner + cDim], [batch, seq, d.nHeads]);
  const conv = causalConv(xBCRaw, w.convKernel, w.convBias, convState, d.dConv);
  const xBC = silu(conv.out);  // [batch, L, dInner + 2 G N]
  const x = tf.reshape(tf.slice(xBC, [0, 0, 0], [batch, seq, d.dInner]), [batch, seq, d.nHeads, d.headDim]);
  const b = tf.reshape(tf.slice(xBC, [0, 0, d.dInner], [batch, seq, gn]), [batch, seq, d.nGroups, d.dState]);
  const c = tf.reshape(tf.slice(xBC, [0, 0, d.dInner + gn], [batch, seq, gn]), [batch, seq, d.nGroups, d.dState]);
  const dt = tf.softplus(tf.add(dtRaw, w.dtBias)) as tf.Tensor3D;
  const a = tf.neg(tf.exp(w.aLog)) as tf.Tensor1D;
  return {z, x: x as tf.Tensor4D, b: b as tf.Tensor4D, c: c as tf.Tensor4D, dt, a, convState: conv.state};
}

/** Gate, gated RMSNorm per group (gate before the norm), out-projection: `y [batch, L, dInner]` -> `[batch, L, dModel]`. */
function gateNormOut(w: Mamba2Weights, d: Mamba2Dims, y: tf.Tensor, z: tf.Tensor): tf.Tensor {
  const [batch, seq] = y.shape as [number, number, number];
  const gated = tf.mul(y, silu(z));  // [batch, L, dInner]
  const groupSize = d.dInner / d.nGroups;
  const meanSquare = tf.mean(tf.square(tf.reshape(gated, [batch, seq, d.nGroups, groupSize])), -1, true);
  const normed = tf.mul(tf.reshape(gated, [batch, seq, d.nGroups, groupSize]),
                        tf.rsqrt(tf.add(meanSquare, RMS_NORM_EPSILON)));  // [batch, L, G, dInner / G]
  return project(tf.mul(tf.reshape(normed, [batch, seq, d.dInner]), w.normWeight), w.outProjKernel);
}

/** A zero state for `batch` rows (a fresh sequence). */
export function zeroState(d: Mamba2Dims, batch: number): Mamba2State {
  return {
    convState: tf.zeros([batch, d.dConv - 1, convDim(d)]) as tf.Tensor3D,
    ssmState: tf.zeros([batch, d.nHeads, d.headDim, d.dState]) as tf.Tensor4D,
  };
}

/**
 * The block on a whole sequence `u [batch, L, dModel]` through the chunked `ssd`, continuing from `state`
 * (undefined: a fresh sequence). Returns the output `[batch, L, dModel]` and the state after the last token.
 */
export function mamba2Forward(w: Mamba2Weights, d: Mamba2Dims, u: tf.Tensor, state?: Mamba2State):
    {output: tf.Tensor; state: Mamba2State} {
  const [batch, seq] = u.shape as [number, number, number];
  const convState = state?.convState ?? tf.zeros([batch, d.dConv - 1, convDim(d)]);
  const s = ssmInputs(w, d, u, convState);
  const {y, finalState} = ssd(s.x, s.dt, s.a, s.b, s.c,
                              {chunkSize: d.chunkSize, D: w.d as tf.Tensor1D, ...(state ? {initialState: state.ssmState} : {})});
  const output = gateNormOut(w, d, tf.reshape(y, [batch, seq, d.dInner]), s.z);
  return {output, state: {convState: s.convState, ssmState: finalState as tf.Tensor4D}};
}

/**
 * One token `u [batch, 1, dModel]` by the recurrence, from `state`: `h = exp(dt A) h + dt x B^T`,
 * `y = h C + D x` per head (head h reads group floor(h / (H / G))). Same output and state as
 * {@link mamba2Forward} on that token, up to float32 round-off.
 */
export function mamba2Step(w: Mamba2Weights, d: Mamba2Dims, u: tf.Tensor, state: Mamba2State):
    {output: tf.Tensor; state: Mamba2State} {
  const batch = u.shape[0];
  const {nHeads: H, headDim: P, dState: N, nGroups: G} = d;
  const s = ssmInputs(w, d, u, state.convState);
  const x = tf.reshape(s.x, [batch, H, P]);
  const dt = tf.reshape(s.dt, [batch, H]);
  // Each head's B and C rows: [batch, G, N] -> [batch, H, N] (heads of one group are adjacent).
  const perHead = (t: tf.Tensor) =>
      tf.reshape(tf.tile(tf.reshape(t, [batch, G, 1, N]), [1, 1, H / G, 1]), [batch, H, 1, N]);
  const decay = tf.reshape(tf.exp(tf.mul(dt, s.a)), [batch, H, 1, 1]);
  const input = tf.mul(tf.reshape(tf.mul(x, tf.reshape(dt, [batch, H, 1])), [batch, H, P, 1]), perHead(s.b));
  const ssmState = tf.add(tf.mul(state.ssmState, decay), input) as tf.Tensor4D;  // [batch, H, P, N]
  const y = tf.add(tf.sum(tf.mul(ssmState, perHead(s.c)), -1), tf.mul(x, tf.reshape(w.d, [1, H, 1])));  // [batch, H, P]
  const output = gateNormOut(w, d, tf.reshape(y, [batch, 1, d.dInner]), s.z);
  return {output, state: {convState: s.convState, ssmState}};
}
