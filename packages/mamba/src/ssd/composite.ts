/**
 * The chunked SSD from public tf ops, for backends without a kernel (webgl, tensorflow) and as the benchmark
 * baseline. Differentiable by tfjs's autograd. Memory O(L * Q) per head: the largest intermediate is the
 * intra-chunk score block [batch * H, L / Q, Q, Q]; states are passed chunk by chunk (a loop of L / Q steps),
 * never through an [L / Q, L / Q] decay matrix.
 *
 * Free of infinities (WebGL has none it can rely on): the segment sums `cs_l - cs_s` are zeroed above the
 * diagonal by a multiply with a 0/1 mask *before* `exp` (exp(0) = 1, finite) and the decays zeroed after it, so
 * neither value nor gradient meets `inf * 0`.
 */
import * as tf from '@tensorflow/tfjs';

export interface SSDCompositeInputs {
  x: tf.Tensor4D;    // [batch, L, H, P]
  dt: tf.Tensor3D;   // [batch, L, H]
  A: tf.Tensor1D;    // [H]
  B: tf.Tensor4D;    // [batch, L, G, N]
  C: tf.Tensor4D;    // [batch, L, G, N]
  D?: tf.Tensor1D;   // [H]
  initialState?: tf.Tensor4D;  // [batch, H, P, N]
}

/** B or C [batch, L, G, N] -> one copy per head, [batch * H, nChunks, Q, N]. */
function perHeadChunks(t: tf.Tensor4D, H: number, nChunks: number, Q: number): tf.Tensor4D {
  const [batch, L, G, N] = t.shape;
  const perGroup = H / G;
  let heads = t;
  if (perGroup > 1) {
    // rank 4 throughout (webgpu fails on some rank-5 broadcasts)
    heads = tf.reshape(tf.broadcastTo(tf.reshape(t, [batch * L, G, 1, N]), [batch * L, G, perGroup, N]),
                       [batch, L, H, N]);
  }
  return tf.reshape(tf.transpose(heads, [0, 2, 1, 3]), [batch * H, nChunks, Q, N]);
}

/** Pads axis 1 (the sequence) of `t` from L to Lp with zeros. */
function padSeq<T extends tf.Tensor>(t: T, Lp: number): T {
  const L = t.shape[1]!;
  if (Lp === L) return t;
  const pads = t.shape.map((_, i): [number, number] => i === 1 ? [0, Lp - L] : [0, 0]);
  return tf.pad(t, pads);
}

/** Lower-triangular 0/1 mask [Q, Q] (s <= l). */
function lowerMask(Q: number): tf.Tensor2D {
  const m = new Float32Array(Q * Q);
  for (let l = 0; l < Q; l++) for (let s = 0; s <= l; s++) m[l * Q + s] = 1;
  return tf.tensor2d(m, [Q, Q]);
}

/**
 * y [batch, L, H, P] and finalState [batch, H, P, N] by the spec's four chunked steps. `L` is padded to a
 * multiple of `Q` with dt = 0 (decay 1, no input), which leaves real outputs and the final state unchanged.
 */
export function ssdComposite(inputs: SSDCompositeInputs, Q: number): [tf.Tensor4D, tf.Tensor4D] {
  return tf.tidy(() => {
    const [batch, L, H, P] = inputs.x.shape;
    const N = inputs.B.shape[3];
    const nChunks = Math.ceil(L / Q), Lp = nChunks * Q, BH = batch * H;
    const x = tf.reshape(tf.transpose(padSeq(inputs.x, Lp), [0, 2, 1, 3]), [BH, nChunks, Q, P]);
    const dt = tf.reshape(tf.transpose(padSeq(inputs.dt, Lp), [0, 2, 1]), [BH, nChunks, Q]);
    const a = tf.mul(dt, tf.reshape(tf.tile(inputs.A, [batch]), [BH, 1, 1]));  // dt_t A  [BH, nChunks, Q]
    const B = perHeadChunks(padSeq(inputs.B, Lp), H, nChunks, Q);  // [BH, nChunks, Q, N]
    const C = perHeadChunks(padSeq(inputs.C, Lp), H, nChunks, Q);
    // Cumulative sums inside each chunk as a matMul with the upper-triangular ones (s <= l), not tf.cumsum: on
    // webgpu (tfjs 4.22) the reverse cumsum that cumsum's gradient runs returned wrong sums for some shapes
    // ([2, 4] and [3, 4] along the last axis; [1, 8] right).
    const mask = lowerMask(Q);  // [Q(l), Q(s)], 1 where s <= l
    const cs = tf.reshape(tf.matMul(tf.reshape(a, [BH * nChunks, Q]), mask, false, true), [BH, nChunks, Q]);
    const dtx = tf.mul(x, tf.expandDims(dt, 3));  // dt_s x_s  [BH, nChunks, Q, P]

    // 1. intra-chunk: Y_diag = ((C B^T) * exp(segsum)) (dt x)
    const seg = tf.mul(tf.sub(tf.expandDims(cs, 3), tf.expandDims(cs, 2)), mask);  // [BH, nChunks, Q(l), Q(s)]
    const decay = tf.mul(tf.exp(seg), mask);
    const scores = tf.mul(tf.matMul(C, B, false, true), decay);
    const yDiag = tf.matMul(scores, dtx);  // [BH, nChunks, Q, P]

    // 2. chunk states: S_c = (exp(cs_last - cs) dt x)^T B   [BH, nChunks, P, N]
    const csLast = tf.slice(cs, [0, 0, Q - 1], [-1, -1, 1]);  // [BH, nChunks, 1]
    const toEnd = tf.exp(tf.sub(csLast, cs));
    const states = tf.matMul(tf.mul(dtx, tf.expandDims(toEnd, 3)), B, true, false);

    // 3. state passing, sequential over chunks: H_{c+1} = exp(cs_last(c)) H_c + S_c
    const chunkDecay = tf.unstack(tf.reshape(tf.exp(csLast), [BH, nChunks, 1, 1]), 1);  // nChunks x [BH, 1, 1]
    const chunkStates = tf.unstack(states, 1);  // nChunks x [BH, P, N]
    let h: tf.Tensor = inputs.initialState ? tf.reshape(inputs.initialState, [BH, P, N]) : tf.zeros([BH, P, N]);
    const entering: tf.Tensor[] = [];
    for (let c = 0; c < nChunks; c++) {
      entering.push(h);
      h = tf.add(tf.mul(chunkDecay[c], h), chunkStates[c]);
    }

    // 4. inter-chunk output: Y_off[l] = exp(cs_l) C_l H_c^T
    const yOff = tf.mul(tf.matMul(C, tf.stack(entering, 1), false, true), tf.expandDims(tf.exp(cs), 3));
    let y: tf.Tensor = tf.add(yDiag, yOff);  // [BH, nChunks, Q, P]
    y = tf.transpose(tf.reshape(y, [batch, H, Lp, P]), [0, 2, 1, 3]);  // [batch, Lp, H, P]
    if (Lp !== L) y = tf.slice(y, [0, 0, 0, 0], [-1, L, -1, -1]);
    if (inputs.D) y = tf.add(y, tf.mul(inputs.x, tf.reshape(inputs.D, [1, 1, H, 1])));
    return [y as tf.Tensor4D, tf.reshape(h, [batch, H, P, N]) as tf.Tensor4D];
  });
}
