/**
 * The host implementations of the SSD kernels (cpu, wasm): SIMD WebAssembly (csrc/ssd.c) where the runtime
 * validates it, plain JS (cpu.ts, scan_cpu.ts) otherwise; `withHostSSDImpl('js', fn)` forces one (tests, bench).
 * Both run the recurrence; the SIMD one keeps its state in float32, the JS one in float64.
 */
import {hostKernels, ImplRegistry} from '@tfjs-ext/core';
import type {HostTensor} from '@tfjs-ext/core';
import {mambaSimd} from '../simd/module';
import {ssdBackwardHost, ssdForwardHost} from './cpu';
import type {SSDAttrs} from './contract';
import {ssdScanHost} from './scan_cpu';

type F32 = Float32Array;

export interface HostSSDImpl {
  name: string;
  /** inputs x, dt, A, B, C, D, initialState -> [y, finalState] */
  forward(inputs: Record<string, HostTensor>): F32[];
  /** inputs x, la, s, A, B, C, D, initialState -> [y, finalState] */
  scan(inputs: Record<string, HostTensor>): F32[];
  /** inputs + dy, dFinalState -> [dx, ddt, dA, dB, dC, dD, dInitialState] */
  backward(inputs: Record<string, HostTensor>, chunkSize: number): F32[];
}

const hostImpls = new ImplRegistry<HostSSDImpl>('ssd');
hostImpls.register({name: 'js', forward: ssdForwardHost, scan: ssdScanHost, backward: ssdBackwardHost});

/** The implementation the host kernels run now. */
export function activeHostSSDImpl(): HostSSDImpl {
  return hostImpls.active();
}

/** Runs `fn` with the host implementation `name` ('js' or 'simd') forced. */
export function withHostSSDImpl<R>(name: string, fn: () => R): R {
  return hostImpls.withForced(name, fn);
}

export function hostSSDImplNames(): string[] {
  return hostImpls.names();
}

/** exp(la_t A_h) for every step and head, [batch * L * H]. */
function decays(la: F32, A: F32, H: number): F32 {
  const out = new Float32Array(la.length);
  for (let i = 0; i < la.length; i++) out[i] = Math.exp(la[i] * A[i % H]);
  return out;
}

function dimsOf(inputs: Record<string, HostTensor>) {
  const [batch, L, H, P] = inputs.x.shape;
  const [, , G, N] = inputs.B.shape;
  return {batch, L, H, P, G, N};
}

function simdScan(inputs: Record<string, HostTensor>, la: F32, s: F32): F32[] {
  const {batch, L, H, P, G, N} = dimsOf(inputs);
  const alpha = decays(la, inputs.A.values as F32, H);
  const v = (name: string) => ({data: inputs[name].values as F32});
  return mambaSimd.call(
      [v('x'), {data: alpha}, {data: s}, v('B'), v('C'), v('D'), v('initialState')],
      [{vectors: batch * L * H * P, width: 1, padded: 1}, {vectors: batch * H * P * N, width: 1, padded: 1}],
      (ex) => ex.ssd_forward_scratch(P, N),
      (ex, ins, outs, scratch) => ex.ssd_forward(ins[0], ins[1], ins[2], ins[3], ins[4], ins[5], ins[6], outs[0],
                                                 outs[1], batch, L, H, P, G, N, scratch));
}

function simdBackward(inputs: Record<string, HostTensor>, Q: number): F32[] {
  const {batch, L, H, P, G, N} = dimsOf(inputs);
  const dt = inputs.dt.values as F32, A = inputs.A.values as F32;
  const alpha = decays(dt, A, H);
  const v = (name: string) => ({data: inputs[name].values as F32});
  const out = (n: number) => ({vectors: n, width: 1, padded: 1});
  const [dx, dB, dC, dInit, dAlpha, w] = mambaSimd.call(
      [v('x'), {data: alpha}, v('dt'), v('B'), v('C'), v('D'), v('initialState'), v('dy'), v('dFinalState')],
      [out(batch * L * H * P), out(batch * L * G * N), out(batch * L * G * N), out(batch * H * P * N),
       out(batch * L * H), out(batch * L * H)],
      (ex) => ex.ssd_backward_scratch(L, P, N, Q),
      (ex, i, o, scratch) => ex.ssd_backward(i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7], i[8], o[0], o[1], o[2],
                                             o[3], o[4], o[5], batch, L, H, P, G, N, Q, scratch));
  // ddt_t = x_t . (g_t B_t) + A alpha_t <g_t, h_{t-1}>, dA = sum_t dt_t alpha_t <g_t, h_{t-1}>, dD = sum dy . x
  const ddt = new Float32Array(dt.length), dA = new Float32Array(H), dD = new Float32Array(H);
  const x = inputs.x.values as F32, dy = inputs.dy.values as F32;
  for (let i = 0; i < dt.length; i++) {
    const h = i % H, da = alpha[i] * dAlpha[i];
    ddt[i] = w[i] + A[h] * da;
    dA[h] += dt[i] * da;
    let s = 0;
    for (let p = 0; p < P; p++) s += dy[i * P + p] * x[i * P + p];
    dD[h] += s;
  }
  return [dx, ddt, dA, dB, dC, dD, dInit];
}

if (mambaSimd.supported()) {
  hostImpls.register({
    name: 'simd',
    forward: (inputs) => simdScan(inputs, inputs.dt.values as F32, inputs.dt.values as F32),
    scan: (inputs) => simdScan(inputs, inputs.la.values as F32, inputs.s.values as F32),
    backward: simdBackward,
  });
}

/** The host kernels (cpu, wasm) of the forward SSD, its backward and the scan primitive. */
export const ssdForwardHostKernels = hostKernels<SSDAttrs>((inputs) => {
  const [y, finalState] = activeHostSSDImpl().forward(inputs);
  return [{shape: inputs.x.shape, values: y}, {shape: inputs.initialState.shape, values: finalState}];
});

export const ssdBackwardHostKernels = hostKernels<SSDAttrs>((inputs, {chunkSize}) => {
  const grads = activeHostSSDImpl().backward(inputs, chunkSize);
  const shapes = ['x', 'dt', 'A', 'B', 'C', 'D', 'initialState'].map((name) => inputs[name].shape);
  return grads.map((values, i) => ({shape: shapes[i], values}));
});

export const ssdScanHostKernels = hostKernels<object>((inputs) => {
  const [y, finalState] = activeHostSSDImpl().scan(inputs);
  return [{shape: inputs.x.shape, values: y}, {shape: inputs.initialState.shape, values: finalState}];
});
