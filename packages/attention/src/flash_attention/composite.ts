/**
 * Flash attention from public tf ops, for backends without a kernel (webgl, tensorflow, ...).
 *
 * Query rows are processed in blocks of QUERY_BLOCK, so the largest intermediate is a [B, Hq, block, Nk] score
 * block instead of the Nq x Nk matrix. The forward pass is wrapped in `tf.customGrad` with an explicit blocked
 * backward (P recomputed from lse, as in the kernels): autograd through the blocks would keep every block's
 * probabilities alive until the backward pass, and would have to differentiate through the masking. The
 * backward ({@link flashAttentionBackwardComposite}) is also the gradient of the kernel path on a backend that
 * has a forward kernel but no backward kernel.
 *
 * GQA without tile or gather: the `group = Hq / Hkv` query heads that share a kv head are stacked as extra
 * query rows, `[B, Hkv, group * rows, D]`, so one plain batched matMul against `[B, Hkv, Nk, D]` serves them all.
 */
import * as tf from '@tensorflow/tfjs';
import {FlashAttentionAttrs, FlashDims} from './contract';

/** Query rows per block. */
export const QUERY_BLOCK = 128;

/** Problem sizes, plus the query heads per kv head. */
interface Sizes extends FlashDims {
  group: number;
}

const sizesOf = (q: tf.Tensor, k: tf.Tensor): Sizes => {
  const [batch, nq, hq, d] = q.shape as number[];
  const [, nk, hkv] = k.shape as number[];
  return {batch, nq, nk, hq, hkv, d, group: hq / hkv};
};

/**
 * Rows [i0, i0 + rows) of a query-shaped tensor (q, dy: [B, N, Hq, D]) with the group's heads stacked as rows:
 * [B, Hkv, group * rows, D]. Slices in the input layout first: 5-D slices are slow on wasm.
 */
function rowBlock(x: tf.Tensor, i0: number, rows: number, s: Sizes): tf.Tensor4D {
  const block = tf.reshape(tf.slice(x, [0, i0, 0, 0], [-1, rows, -1, -1]), [s.batch, rows, s.hkv, s.group, s.d]);
  return tf.reshape(tf.transpose(block, [0, 2, 3, 1, 4]), [s.batch, s.hkv, s.group * rows, s.d]);
}

/** Inverse of rowBlock over all blocks: [B, Hkv, group * rows, D] blocks -> [B, Nq, Hq, D]. */
function joinRowBlocks(blocks: tf.Tensor[], s: Sizes): tf.Tensor4D {
  const parts = blocks.map((b) => {
    const rows = (b.shape[2] as number) / s.group;
    return tf.reshape(tf.transpose(tf.reshape(b, [s.batch, s.hkv, s.group, rows, s.d]), [0, 3, 1, 2, 4]),
                      [s.batch, rows, s.hq, s.d]);
  });
  return (parts.length === 1 ? parts[0] : tf.concat(parts, 1)) as tf.Tensor4D;
}

/** Per-row values [B, Hq, Nq] of rows [i0, i0 + rows), stacked like rowBlock: [B, Hkv, group * rows, 1]. */
function rowValues(x: tf.Tensor, i0: number, rows: number, s: Sizes): tf.Tensor {
  return tf.reshape(tf.slice(x, [0, 0, i0], [-1, -1, rows]), [s.batch, s.hkv, s.group * rows, 1]);
}

const int = (x: number) => tf.scalar(x, 'int32');

/**
 * Visibility of a block of stacked rows (row r is query i0 + r % rows): float32 [B, 1, group * rows, Nk], 1 where
 * visible and 0 elsewhere, the rule of `visibleKeyRange` (bottom-right aligned at kvLengths[b]).
 *
 * Masked keys and values must not reach the arithmetic: a masked key or value may hold anything (NaN, Inf:
 * padding, garbage past a cache's length), and `0 * NaN` is NaN. So (1) every matMul reads keys and values with
 * their non-finite entries *selected* away (`tf.where`, once per call, O(N D)): P V and dS K sum over keys, and
 * tfjs-webgpu's matMul leaks a NaN of one key into its neighbour's score column; a row that does see a
 * non-finite key or value gets NaN back explicitly ({@link seesNonFinite}); (2) masked scores, finite now but
 * possibly huge (finite garbage), are selected away before any arithmetic ({@link blockScores}). After that
 * everything masked is finite, and masking by multiplying with 0/1 is exact and cheap (a `tf.where` per
 * operation inside the O(Nq Nk) blocks made the forward 3x slower on wasm).
 * The composite also never uses infinities or huge constants inside the computation: WebGL (GLSL) does not
 * guarantee IEEE infinities (exp(-inf - -inf) gave NaN there) and clamps large magnitudes. Masked scores are
 * replaced by the row's smallest visible score (or 0); rows that see no key are decided from the mask itself.
 */
function blockVisible(kvLengths: tf.Tensor, i0: number, rows: number, keys: number, s: Sizes,
                      attrs: FlashAttentionAttrs): tf.Tensor {
  const stacked = s.group * rows;
  const kvLen = tf.reshape(kvLengths, [s.batch, 1, 1]);                                   // [B, 1, 1]
  const i = tf.add(tf.mod(tf.range(0, stacked, 1, 'int32'), int(rows)), int(i0));
  const aligned = tf.add(tf.reshape(i, [1, stacked, 1]), tf.sub(kvLen, int(s.nq)));     // i + off: [B, stacked, 1]
  let hi = tf.mul(kvLen, tf.onesLike(aligned));                                          // visible: lo <= j < hi
  if (attrs.causal) hi = tf.minimum(hi, tf.add(aligned, int(1)));
  if (attrs.windowRight >= 0) hi = tf.minimum(hi, tf.add(aligned, int(attrs.windowRight + 1)));
  const lo = attrs.windowLeft >= 0 ? tf.sub(aligned, int(attrs.windowLeft)) : tf.zerosLike(aligned);
  const j = tf.reshape(tf.range(0, keys, 1, 'int32'), [1, 1, keys]);
  const visible = tf.logicalAnd(tf.greaterEqual(j, lo), tf.less(j, hi));                // [B, stacked, Nk]
  return tf.reshape(tf.cast(visible, 'float32'), [s.batch, 1, stacked, keys]);
}

/** `x` ([B, Hkv, Nk, D]) with its non-finite entries replaced by 0: what the sums over keys read. */
const finiteOnly = (x: tf.Tensor) => tf.where(tf.isFinite(x), x, tf.zerosLike(x));

/** Per key, whether its row of `x` ([B, Hkv, Nk, D]) has a non-finite entry: float32 [B, Hkv, Nk, 1], 1 or 0. */
const nonFiniteRows = (x: tf.Tensor) => tf.cast(tf.any(tf.logicalNot(tf.isFinite(x)), -1, true), 'float32');

/**
 * Rows of a block that see a key flagged in `bad` ([B, Hkv, end, 1], 1 or 0): bool [B, Hkv, group * rows, 1].
 * The matMuls read keys and values with non-finite entries zeroed (masked ones must not count), so these rows are
 * set to NaN explicitly, as a kernel's sums would be.
 */
function seesNonFinite(visible: tf.Tensor, bad: tf.Tensor): tf.Tensor {
  // One plain batched matMul over B ([B, stacked, end] x [B, end, Hkv]): tfjs 4.22's broadcasting batched
  // matMul gets [B, 1, m, k] x [B, H, k, n] wrong on cpu.
  const [batch, heads, keys] = bad.shape as number[];
  const stacked = visible.shape[2] as number;
  // (transposeB rather than tf.transpose: tfjs-webgpu's Transpose fails to compile on a float cast from bool)
  const counts = tf.matMul(tf.reshape(visible, [batch, stacked, keys]), tf.reshape(bad, [batch, heads, keys]),
                           false, true);                                                           // [B, stacked, Hkv]
  return tf.greater(tf.reshape(tf.transpose(counts, [0, 2, 1]), [batch, heads, stacked, 1]), 0);
}

/**
 * Keys [0, end) can be visible to rows [i0, i0 + rows) whatever kvLengths (<= Nk) is: causal and a right window
 * bound the last visible key (i + off + right < i0 + rows + Nk - Nq + right). The other keys are skipped.
 */
function keyEnd(i0: number, rows: number, s: Sizes, attrs: FlashAttentionAttrs): number {
  let end = s.nk;
  const lastRowOff = i0 + rows + s.nk - s.nq;  // (i + off + 1) of the block's last row when kvLengths = Nk
  if (attrs.causal) end = Math.min(end, lastRowOff);
  if (attrs.windowRight >= 0) end = Math.min(end, lastRowOff + attrs.windowRight);
  return Math.max(1, end);  // at least one key, masked when no row sees it: no empty matMul
}

/** Keys [0, end) of a [B, Hkv, Nk, D] tensor. */
const firstKeys = (x: tf.Tensor, end: number) => end === x.shape[2] ? x : tf.slice(x, [0, 0, 0, 0], [-1, -1, end, -1]);

/**
 * Scaled scores of a block of stacked rows, [B, Hkv, group * rows, Nk], with each masked score replaced by the
 * row's smallest visible score (or 0 if smaller): the row max is then the max over visible keys, and every
 * exponent below stays finite. Masked scores are selected away (set to 0) before the row's min and any other
 * arithmetic: a masked key's score may be huge (finite garbage overflowing q.k).
 */
function blockScores(qBlock: tf.Tensor, kh: tf.Tensor, visible: tf.Tensor, scale: number): tf.Tensor {
  const raw = tf.mul(tf.matMul(qBlock, kh, false, true), scale);
  const seen = tf.where(tf.cast(tf.broadcastTo(visible, raw.shape), 'bool'), raw, tf.zerosLike(raw));  // masked: 0
  const floor = tf.minimum(tf.min(seen, -1, true), 0);
  return tf.add(seen, tf.mul(floor, tf.sub(1, visible)));
}

/** Forward in tf ops (not differentiable by itself): output [B, Nq, Hq, D] and lse [B, Hq, Nq]. */
function forwardBlocks(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, kvLengths: tf.Tensor,
                       attrs: FlashAttentionAttrs): [tf.Tensor4D, tf.Tensor3D] {
  const s = sizesOf(q, k);
  const kh = tf.transpose(k, [0, 2, 1, 3]);                     // [B, Hkv, Nk, D]
  const vh = tf.transpose(v, [0, 2, 1, 3]);
  const [kFinite, vFinite] = [finiteOnly(kh), finiteOnly(vh)];  // [B, Hkv, Nk, D]
  const badKeys = nonFiniteRows(kh);                            // [B, Hkv, Nk, 1]
  const badKeysOrValues = tf.maximum(badKeys, nonFiniteRows(vh));
  const outBlocks: tf.Tensor[] = [];
  const lseBlocks: tf.Tensor[] = [];
  for (let i0 = 0; i0 < s.nq; i0 += QUERY_BLOCK) {
    const rows = Math.min(QUERY_BLOCK, s.nq - i0);
    const [o, l] = tf.tidy(() => {
      const end = keyEnd(i0, rows, s, attrs);
      const visible = blockVisible(kvLengths, i0, rows, end, s, attrs);          // [B, 1, group * rows, end]
      const scores = blockScores(rowBlock(q, i0, rows, s), firstKeys(kFinite, end), visible, attrs.scale);
      const max = tf.max(scores, -1, true);                     // [B, Hkv, group * rows, 1]
      const p = tf.mul(tf.exp(tf.sub(scores, max)), visible);   // exponents <= 0; masked keys: 0
      const sum = tf.sum(p, -1, true);                          // >= 1 if the row sees a key (its max gives 1), else 0
      // max(sum, 1) only avoids 0/0: rows that see no key get output 0 and, explicitly, lse -inf.
      const weighted = tf.div(tf.matMul(p, firstKeys(vFinite, end)), tf.maximum(sum, 1));  // [B, Hkv, g * rows, D]
      const out = tf.where(seesNonFinite(visible, firstKeys(badKeysOrValues, end)), tf.fill(weighted.shape, NaN),
                           weighted);
      const lseSeen = tf.where(tf.greater(sum, 0), tf.add(max, tf.log(tf.maximum(sum, 1))),
                               tf.fill(sum.shape, -Infinity));
      const lse = tf.where(seesNonFinite(visible, firstKeys(badKeys, end)), tf.fill(sum.shape, NaN), lseSeen);
      return [out, tf.reshape(lse, [s.batch, s.hq, rows])];
    });
    outBlocks.push(o);
    lseBlocks.push(l);
  }
  const lse = lseBlocks.length === 1 ? lseBlocks[0] : tf.concat(lseBlocks, 2);
  return [joinRowBlocks(outBlocks, s), lse as tf.Tensor3D];
}

/**
 * Blocked backward in tf ops: dq, dk, dv (float32, shapes of q, k, v) from the saved output and lse.
 * `dLse` ([B, Hq, Nq], optional) is the gradient reaching lse: dS = P * (dP - (Dvec - dLse)).
 */
export function flashAttentionBackwardComposite(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, kvLengths: tf.Tensor,
                                                output: tf.Tensor, lse: tf.Tensor, dy: tf.Tensor,
                                                dLse: tf.Tensor | null, attrs: FlashAttentionAttrs): tf.Tensor[] {
  return tf.tidy(() => {
    const s = sizesOf(q, k);
    const kh = tf.transpose(k, [0, 2, 1, 3]);                   // [B, Hkv, Nk, D]
    const vh = tf.transpose(v, [0, 2, 1, 3]);
    const [kFinite, vFinite] = [finiteOnly(kh), finiteOnly(vh)];  // what the matMuls read (see blockVisible)
    let rowDot = tf.transpose(tf.sum(tf.mul(dy, output), -1), [0, 2, 1]);   // Dvec: [B, Hq, Nq]
    if (dLse !== null) rowDot = tf.sub(rowDot, dLse);
    // Rows that see no key have lse -inf; any finite value works there since their P is selected away. A NaN
    // lse (the row sees a non-finite key) stays NaN, so that row's gradients are NaN as a kernel's would be.
    const rowLse = tf.where(tf.logicalOr(tf.isFinite(lse), tf.isNaN(lse)), lse, tf.zerosLike(lse));
    let dk: tf.Tensor = tf.zerosLike(kh), dv: tf.Tensor = tf.zerosLike(vh);
    const dqBlocks: tf.Tensor[] = [];
    for (let i0 = 0; i0 < s.nq; i0 += QUERY_BLOCK) {
      const rows = Math.min(QUERY_BLOCK, s.nq - i0);
      const [dqBlock, dkNext, dvNext] = tf.tidy(() => {
        const qBlock = rowBlock(q, i0, rows, s), dyBlock = rowBlock(dy, i0, rows, s);  // [B, Hkv, group*rows, D]
        const end = keyEnd(i0, rows, s, attrs);
        const [kBlock, vBlock] = [firstKeys(kFinite, end), firstKeys(vFinite, end)];      // [B, Hkv, end, D]
        const visible = blockVisible(kvLengths, i0, rows, end, s, attrs);
        const scores = blockScores(qBlock, kBlock, visible, attrs.scale);
        // Masked: exp(finite) * 0 = 0, except in a row whose lse is NaN (it sees a non-finite key): that row is
        // NaN throughout, as are the gradients of the keys it sees; unlike the kernels, also of those it does not.
        const p = tf.mul(tf.exp(tf.sub(scores, rowValues(rowLse, i0, rows, s))), visible);  // [B, Hkv, g*rows, end]
        const dp = tf.matMul(dyBlock, vBlock, false, true);
        const ds = tf.mul(p, tf.sub(dp, rowValues(rowDot, i0, rows, s)));
        const toAllKeys = (x: tf.Tensor) => end === s.nk ? x : tf.pad(x, [[0, 0], [0, 0], [0, s.nk - end], [0, 0]]);
        return [
          tf.mul(tf.matMul(ds, kBlock), attrs.scale),                                // [B, Hkv, group * rows, D]
          tf.add(dk, toAllKeys(tf.mul(tf.matMul(ds, qBlock, true, false), attrs.scale))),  // sums the group's heads
          tf.add(dv, toAllKeys(tf.matMul(p, dyBlock, true, false))),
        ];
      });
      tf.dispose([dk, dv]);
      dk = dkNext;
      dv = dvNext;
      dqBlocks.push(dqBlock);
    }
    return [joinRowBlocks(dqBlocks, s), tf.transpose(dk, [0, 2, 1, 3]), tf.transpose(dv, [0, 2, 1, 3])];
  });
}

/**
 * The composite op: [output [B, Nq, Hq, D], lse [B, Hq, Nq]], differentiable in q, k, v (and through lse).
 * customGrad returns one tensor, so output and lse travel packed in one flat vector (contiguous slices: cheap
 * on every backend) and are sliced apart.
 */
export function flashAttentionComposite(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, kvLengths: tf.Tensor1D,
                                        attrs: FlashAttentionAttrs): [tf.Tensor4D, tf.Tensor3D] {
  const [batch, nq, hq, d] = q.shape;
  const unpack = (packed: tf.Tensor): [tf.Tensor4D, tf.Tensor3D] => [
    tf.reshape(tf.slice(packed, 0, q.size), q.shape),
    tf.reshape(tf.slice(packed, q.size, batch * hq * nq), [batch, hq, nq]),
  ];
  // customGrad's typing expects one variadic tensor list; the function takes (q, k, v, save).
  const packed = tf.customGrad(((qx: tf.Tensor, kx: tf.Tensor, vx: tf.Tensor, save: tf.GradSaveFunc) => {
    const [out, lse] = forwardBlocks(qx, kx, vx, kvLengths, attrs);
    const value = tf.concat([tf.reshape(out, [-1]), tf.reshape(lse, [-1])]);
    // kvLengths is saved too: the op disposes its (clamped) copy once the forward pass returns. Saving
    // intermediates (out, lse) instead of `value` would keep data ids the engine counts as leaks.
    save([qx, kx, vx, value, kvLengths]);
    return {
      value,
      gradFunc: (dPacked: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, sPacked, sLengths] = saved;
        const [sOut, sLse] = unpack(sPacked);
        const [dy, dLse] = unpack(dPacked);
        return flashAttentionBackwardComposite(sq, sk, sv, sLengths, sOut, sLse, dy, dLse, attrs);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as
      (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor;
  return unpack(packed(q, k, v));
}
