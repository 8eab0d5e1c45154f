/**
 * The SSD backward composed of four forward scans (the `TfjsExtSSDScan` kernel) and elementwise tf ops: the
 * backward of a linear recurrence is itself a linear recurrence run in reverse, so a backend with the scan
 * kernel alone (webgpu) gets the whole gradient, with no float atomics and no O(L * P * N) state history.
 *
 * With alpha_t = exp(dt_t A), h_t the state after step t and g_t = dL/dh_t:
 *  1. g_t = alpha_{t+1} g_{t+1} + dy_t C_t^T (g_last = dFinalState + ...): a reversed scan with x := dy,
 *     B := C, C := B, log-decay dt_{t+1}, scale 1; its output is g_t B_t, so dx_t = dt_t g_t B_t + D dy_t and
 *     its final state g_0 gives dInitialState = alpha_0 g_0.
 *  2. dC_t = h_t^T dy_t: h^T is the state of a scan with x := B, B := x, C := dy.
 *  3. dB_t = dt_t g_t^T x_t: g^T is the state of a reversed scan with x := C, B := dy, C := x.
 *  4. da_t = alpha_t <g_t, h_{t-1}> = <g_t, h_t> - u_t with u_t = dt_t x_t . (g_t B_t); and
 *     <g_t, h_t> = <g_{t+1}, h_{t+1}> - u_{t+1} + v_t with v_t = dy_t . (y_t - D x_t), so
 *     da_t = <dFinalState, finalState> + sum_{r >= t} (v_r - u_r): a reverse cumulative sum (a scalar scan).
 *     Then ddt_t = A da_t + x_t . (g_t B_t), dA = sum_t dt_t da_t, dD = sum_t dy_t . x_t.
 */
import * as tf from '@tensorflow/tfjs';
import {SSD_SCAN} from './scan_contract';

type T = tf.Tensor;

/** The scan kernel: [y, finalState] (see scan_contract.ts). */
function scan(x: T, la: T, s: T, A: T, B: T, C: T, D: T, initialState: T): [T, T] {
  return tf.engine().runKernel(SSD_SCAN, {x, la, s, A, B, C, D, initialState}, {}) as [T, T];
}

/** [dx, ddt, dA, dB, dC, dD, dInitialState] from the saved inputs and outputs and the cotangents. */
export function ssdBackwardByScans(x: T, dt: T, A: T, B: T, C: T, D: T, initialState: T, y: T, finalState: T,
                                   dy: T, dFinal: T): T[] {
  return tf.tidy(() => {
    const [batch, L, H, P] = x.shape;
    const [, , G, N] = B.shape;
    const R = H / G;
    const rev = (t: T) => tf.reverse(t, 1);
    const perHead = (t: T) => R === 1 ? t :  // [batch, L, G, N] -> [batch, L, H, N], rank 4 throughout
        tf.reshape(tf.broadcastTo(tf.reshape(t, [batch * L, G, 1, N]), [batch * L, G, R, N]), [batch, L, H, N]);
    const groupSum = (t: T) => R === 1 ? t :  // [batch, L, H, N] -> [batch, L, G, N]
        tf.reshape(tf.sum(tf.reshape(t, [batch * L, G, R, N]), 2), [batch, L, G, N]);
    const col = (t: T) => tf.expandDims(t, 3);  // [batch, L, H] -> [batch, L, H, 1]
    const noD = tf.zeros([H]);
    const ones = tf.ones([batch, L, H]);
    // dt_{t+1}, 0 after the last step: the log-decay (/ A) between g_{t+1} and g_t
    const dtNext = L === 1 ? tf.zeros([batch, 1, H]) :
        tf.concat([tf.slice(dt, [0, 1, 0], [-1, -1, -1]), tf.zeros([batch, 1, H])], 1);
    const laRev = rev(dtNext);

    // 1. adjoint scan
    const [gBRev, g0] = scan(rev(dy), laRev, ones, A, rev(C), rev(B), noD, dFinal);
    const gB = rev(gBRev);  // g_t B_t  [batch, L, H, P]
    const Dh = tf.reshape(D, [1, 1, H, 1]);
    const dx = tf.add(tf.mul(col(dt), gB), tf.mul(Dh, dy));
    const alpha0 = tf.exp(tf.mul(tf.slice(dt, [0, 0, 0], [-1, 1, -1]), tf.reshape(A, [1, 1, H])));  // [batch, 1, H]
    const dInit = tf.mul(tf.reshape(alpha0, [batch, H, 1, 1]), g0);

    // 2. dC from the transposed state
    const [hTdy] = scan(perHead(B), dt, dt, A, x, dy, noD, tf.transpose(initialState, [0, 1, 3, 2]));
    const dC = groupSum(hTdy);

    // 3. dB from the transposed adjoint
    const [gTxRev] = scan(rev(perHead(C)), laRev, ones, A, rev(dy), rev(x), noD, tf.transpose(dFinal, [0, 1, 3, 2]));
    const dB = groupSum(tf.mul(col(dt), rev(gTxRev)));

    // 4. log-decay gradient
    const w = tf.sum(tf.mul(x, gB), 3);  // x_t . (g_t B_t)  [batch, L, H]
    const v = tf.sum(tf.mul(dy, tf.sub(y, tf.mul(Dh, x))), 3);
    const diff = tf.sub(v, tf.mul(dt, w));
    // reverse cumulative sum as a scalar scan (P = N = 1, no decay); tf.cumsum is wrong on webgpu for some shapes
    const one = tf.ones([batch, L, 1, 1]);
    const [cum] = scan(col(rev(diff)), tf.zerosLike(dt), ones, A, one, one, noD, tf.zeros([batch, H, 1, 1]));
    const finalDot = tf.reshape(tf.sum(tf.mul(dFinal, finalState), [2, 3]), [batch, 1, H]);
    const da = tf.add(rev(tf.reshape(cum, [batch, L, H])), finalDot);  // [batch, L, H]
    const ddt = tf.add(tf.mul(da, tf.reshape(A, [1, 1, H])), w);
    const dA = tf.sum(tf.mul(dt, da), [0, 1]);
    const dD = tf.sum(tf.mul(dy, x), [0, 1, 3]);
    return [dx, ddt, dA, dB, dC, dD, dInit];
  });
}
