import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {lastDispatch, withCompositeOnly} from '@tfjs-ext/core';
import {checkGradients, describeBackends, expectClose, expectNoLeaks, expectThrowsMatching,
        toFloat64} from '@tfjs-ext/core/testing';
import {withScanBackward} from './grad';
import {activeHostSSDImpl, withHostSSDImpl} from './host_impl';
import {SSD, ssd} from './op';
import {SSDDims, ssdChunkedReference, ssdSequentialReference} from './reference';
import {makeProblem, toTensors} from './test_util';

/** Backends with a registered SSD kernel; the others run the composite. */
const KERNEL_BACKENDS: string[] = ['cpu', 'wasm', 'webgpu'];

const TOL = {atol: 2e-5, rtol: 2e-4};

describeBackends('mamba: ssd', ({backend}) => {
  const base = {batch: 2, L: 23, H: 4, P: 3, N: 5};
  // chunk sizes 1, 7, 16, 64 (L = 23: never a multiple), groups 1, 2, H, with/without D and initialState
  const cases: Array<{Q: number; G: number; withD: boolean; withInit: boolean}> = [
    {Q: 1, G: 2, withD: true, withInit: true},
    {Q: 16, G: 4, withD: false, withInit: true},
    {Q: 64, G: 1, withD: true, withInit: false},
  ];
  for (const G of [1, 2, 4]) {
    for (const [withD, withInit] of [[false, false], [true, true]]) cases.push({Q: 7, G, withD, withInit});
  }
  for (const {Q, G, withD, withInit} of cases) {
    it(`equals the sequential recurrence: chunk ${Q}, L 23, groups ${G}/4, D ${withD}, initialState ${withInit}`,
       async () => {
         const problem = makeProblem({...base, G}, 100 + Q * 10 + G, withD, withInit);
         const {x, dt, A, B, C, D, initialState} = toTensors(problem);
         const {y, finalState} = ssd(x, dt, A, B, C, {chunkSize: Q, D, initialState});
         expect(lastDispatch(SSD)?.path).to.equal(KERNEL_BACKENDS.includes(backend) ? 'kernel' : 'composite');
         expect(y.shape).to.deep.equal([2, 23, 4, 3]);
         expect(finalState.shape).to.deep.equal([2, 4, 3, 5]);
         const ref = ssdSequentialReference(problem.f64, problem.dims);
         expectClose(await toFloat64(y), ref.y, {...TOL, name: 'y'});
         expectClose(await toFloat64(finalState), ref.finalState, {...TOL, name: 'finalState'});
         if (KERNEL_BACKENDS.includes(backend)) {
           const c = withCompositeOnly(SSD, () => ssd(x, dt, A, B, C, {chunkSize: Q, D, initialState}));
           expectClose(await toFloat64(c.y), ref.y, {...TOL, name: 'composite y'});
           expectClose(await toFloat64(c.finalState), ref.finalState, {...TOL, name: 'composite finalState'});
           tf.dispose([c.y, c.finalState]);
         }
         tf.dispose([x, dt, A, B, C, D, initialState, y, finalState].filter((t) => t !== undefined) as tf.Tensor[]);
       });
  }

  /** Gradients of all seven inputs against float64 finite differences of the sequential recurrence. */
  const gradCase = (dims: SSDDims, Q: number, seed: number) => {
    const problem = makeProblem(dims, seed, true, true);
    const {batch, L, H, P, G, N} = dims;
    const f64 = problem.f64;
    return checkGradients({
      f: (x, dt, A, B, C, D, s0) => {
        const {y, finalState} = ssd(x as tf.Tensor4D, dt as tf.Tensor3D, A as tf.Tensor1D, B as tf.Tensor4D,
                                    C as tf.Tensor4D, {chunkSize: Q, D: D as tf.Tensor1D,
                                                       initialState: s0 as tf.Tensor4D});
        return tf.concat([tf.reshape(y, [-1]), tf.reshape(finalState, [-1])]);
      },
      reference: (x, dt, A, B, C, D, initialState) => {
        const r = ssdSequentialReference({x, dt, A, B, C, D, initialState}, dims);
        const out = new Float64Array(r.y.length + r.finalState.length);
        out.set(r.y);
        out.set(r.finalState, r.y.length);
        return out;
      },
      inputs: [
        {shape: [batch, L, H, P], values: f64.x}, {shape: [batch, L, H], values: f64.dt},
        {shape: [H], values: f64.A}, {shape: [batch, L, G, N], values: f64.B},
        {shape: [batch, L, G, N], values: f64.C}, {shape: [H], values: f64.D!},
        {shape: [batch, H, P, N], values: f64.initialState!},
      ],
      eps: 1e-3, rtol: 3e-3, atol: 3e-4,
    });
  };

  it('gradients of x, dt, A, B, C, D, initialState match finite differences (groups 1, chunk 4, L 9)', async () => {
    await gradCase({batch: 1, L: 9, H: 2, P: 2, G: 1, N: 3}, 4, 7);
    expect(lastDispatch(SSD)?.path).to.equal(KERNEL_BACKENDS.includes(backend) ? 'kernel' : 'composite');
  });
  it('gradients of all seven inputs match finite differences (groups 2 of 4 heads, batch 2, chunk 3, L 7)',
     () => gradCase({batch: 2, L: 7, H: 4, P: 2, G: 2, N: 2}, 3, 8));
  if (backend === 'cpu' || backend === 'wasm') {
    it('host implementations: SIMD WebAssembly is the default; the plain-JS fallback equals the oracle too',
       async () => {
         expect(activeHostSSDImpl().name).to.equal('simd');
         await withHostSSDImpl('js', async () => {
           expect(activeHostSSDImpl().name).to.equal('js');
           const problem = makeProblem({batch: 2, L: 23, H: 4, P: 3, G: 2, N: 5}, 77, true, true);
           const {x, dt, A, B, C, D, initialState} = toTensors(problem);
           const {y, finalState} = ssd(x, dt, A, B, C, {chunkSize: 7, D, initialState});
           const ref = ssdSequentialReference(problem.f64, problem.dims);
           expectClose(await toFloat64(y), ref.y, {...TOL, name: 'js y'});
           expectClose(await toFloat64(finalState), ref.finalState, {...TOL, name: 'js finalState'});
           tf.dispose([x, dt, A, B, C, D!, initialState!, y, finalState]);
           await gradCase({batch: 2, L: 7, H: 4, P: 2, G: 2, N: 2}, 3, 12);
           await withScanBackward(() => gradCase({batch: 1, L: 9, H: 2, P: 2, G: 1, N: 3}, 4, 13));
         });
       });
    it('SIMD kernels with N and P multiples of 4 (the vector loops) and odd tails equal the oracle', async () => {
      for (const [P, N, G] of [[8, 16, 1], [5, 9, 2]]) {
        const dims = {batch: 1, L: 30, H: 2, P, G, N};
        const problem = makeProblem(dims, 40 + P, true, true);
        const {x, dt, A, B, C, D, initialState} = toTensors(problem);
        const {y, finalState} = ssd(x, dt, A, B, C, {chunkSize: 8, D, initialState});
        const ref = ssdSequentialReference(problem.f64, problem.dims);
        expectClose(await toFloat64(y), ref.y, {atol: 1e-4, rtol: 5e-4, name: `y P${P} N${N}`});
        expectClose(await toFloat64(finalState), ref.finalState, {atol: 1e-4, rtol: 5e-4, name: 'finalState'});
        tf.dispose([x, dt, A, B, C, D!, initialState!, y, finalState]);
      }
      await gradCase({batch: 1, L: 10, H: 2, P: 4, G: 1, N: 8}, 4, 14);
      // odd P and N: the backward's two-row loop leaves one row, its vector loop a tail
      await gradCase({batch: 1, L: 9, H: 2, P: 5, G: 1, N: 5}, 4, 15);
    });
    it('the forward\'s rescaled segments: long runs, decays to ~0 and growth equal the oracle', async () => {
      // L = 203: several 64-step segments and an odd last step; head 0 decays slowly (segments end at the length
      // cap), head 1 fast (they end when the decay since the segment began passes 1e-8), head 2 grows (A > 0:
      // they end at 1e8); every 37th step dt = 40 makes head 1's decay ~0 on its own (a direct step).
      const dims = {batch: 1, L: 203, H: 3, P: 6, G: 1, N: 8};
      const problem = makeProblem(dims, 91, true, true);
      const {f64} = problem;
      f64.A.set([-0.05, -1.5, 0.08]);
      for (let t = 0; t < dims.L; t++) f64.dt[t * dims.H + 1] = t % 37 === 5 ? 40 : f64.dt[t * dims.H + 1];
      const {x, dt, A, B, C, D, initialState} = toTensors(problem);
      const {y, finalState} = ssd(x, dt, A, B, C, {chunkSize: 16, D, initialState});
      const ref = ssdSequentialReference(f64, dims);
      expectClose(await toFloat64(y), ref.y, {atol: 1e-4, rtol: 5e-4, name: 'y'});
      expectClose(await toFloat64(finalState), ref.finalState, {atol: 1e-4, rtol: 5e-4, name: 'finalState'});
      tf.dispose([x, dt, A, B, C, D!, initialState!, y, finalState]);
    });
    it('the backward composed of scans (the webgpu path) matches finite differences too', async () => {
      await withScanBackward(() => gradCase({batch: 1, L: 9, H: 2, P: 2, G: 1, N: 3}, 4, 10));
      await withScanBackward(() => gradCase({batch: 2, L: 7, H: 4, P: 2, G: 2, N: 2}, 3, 11));
    });
  }
  if (KERNEL_BACKENDS.includes(backend)) {
    it('the composite gradients match finite differences too',
       () => withCompositeOnly(SSD, () => gradCase({batch: 1, L: 9, H: 2, P: 2, G: 1, N: 3}, 4, 9)));
  }

  it('value policy: dt = 0 is a skipped step; A = 0, A > 0 and dt < 0 follow the recurrence as written',
     async () => {
       const dims = {batch: 1, L: 12, H: 2, P: 2, G: 1, N: 3};
       const problem = makeProblem(dims, 31, true, true);
       const f = problem.f64;
       f.A[0] = 0;       // no decay
       f.A[1] = 0.3;     // growth
       f.dt[2 * 2 + 1] = -0.2;  // negative step, head 1, t = 2
       f.dt[5 * 2] = 0;  // t = 5, head 0: skipped
       f.dt[5 * 2 + 1] = 0;
       const {x, dt, A, B, C, D, initialState} = toTensors(problem);
       const {y, finalState} = ssd(x, dt, A, B, C, {chunkSize: 4, D, initialState});
       const ref = ssdSequentialReference(f, dims);
       expectClose(await toFloat64(y), ref.y, {...TOL, name: 'y'});
       expectClose(await toFloat64(finalState), ref.finalState, {...TOL, name: 'finalState'});
       // dt = 0 at t = 5 (both heads): the state passes unchanged, so the final state is that of the sequence
       // without step 5 (outputs at step 5 still read the state: y_5 = h_4 C_5 + D x_5).
       const drop = (v: Float64Array, per: number) => Float64Array.from(
           [...v.subarray(0, 5 * per), ...v.subarray(6 * per)]);
       const skipped = ssdSequentialReference({...f, x: drop(f.x, 4), dt: drop(f.dt, 2), B: drop(f.B, 3),
                                               C: drop(f.C, 3)}, {...dims, L: 11});
       expectClose(await toFloat64(finalState), skipped.finalState, {...TOL, name: 'finalState, step skipped'});
       tf.dispose([x, dt, A, B, C, D!, initialState!, y, finalState]);
     });

  it('does not leak (forward, gradient, composite)', async () => {
    const problem = makeProblem({batch: 1, L: 10, H: 2, P: 2, G: 1, N: 3}, 5, true, true);
    const {x, dt, A, B, C, D, initialState} = toTensors(problem);
    const run = () => ssd(x, dt, A, B, C, {chunkSize: 4, D, initialState});
    await expectNoLeaks(() => { const r = run(); return [r.y, r.finalState]; }, 'ssd');
    await expectNoLeaks(() => { const r = ssd(x, dt, A, B, C); return [r.y, r.finalState]; }, 'ssd no options');
    await expectNoLeaks(() => tf.grads((...ts: tf.Tensor[]) => {
      const r = ssd(ts[0] as tf.Tensor4D, ts[1] as tf.Tensor3D, ts[2] as tf.Tensor1D, ts[3] as tf.Tensor4D,
                    ts[4] as tf.Tensor4D, {chunkSize: 4, D: ts[5] as tf.Tensor1D, initialState: ts[6] as tf.Tensor4D});
      return tf.add(tf.sum(r.y), tf.sum(r.finalState));
    })([x, dt, A, B, C, D!, initialState!]), 'grad ssd');
    await expectNoLeaks(() => withCompositeOnly(SSD, () => { const r = run(); return [r.y, r.finalState]; }),
                        'composite');
    tf.dispose([x, dt, A, B, C, D!, initialState!]);
  });

  it('rejects bad input with messages naming the argument and expected shape', () => {
    const x = tf.zeros([1, 5, 4, 2]) as tf.Tensor4D, dt = tf.zeros([1, 5, 4]) as tf.Tensor3D;
    const A = tf.zeros([4]) as tf.Tensor1D, B = tf.zeros([1, 5, 2, 3]) as tf.Tensor4D;
    const C = tf.zeros([1, 5, 2, 3]) as tf.Tensor4D;
    expectThrowsMatching(() => ssd(tf.zeros([5, 4, 2]) as never, dt, A, B, C), ['x', 'rank 4', '[batch, L, H, P]']);
    expectThrowsMatching(() => ssd(x, tf.zeros([5, 4]) as never, A, B, C), ['dt', 'rank 3', '[batch, L, H]']);
    expectThrowsMatching(() => ssd(x, dt, tf.zeros([1, 4]) as never, B, C), ['A', 'rank 1', '[H]']);
    expectThrowsMatching(() => ssd(x, dt, A, tf.zeros([5, 2, 3]) as never, C), ['B', 'rank 4', '[batch, L, G, N]']);
    expectThrowsMatching(() => ssd(x, dt, A, B, tf.zeros([5, 2, 3]) as never), ['C', 'rank 4']);
    expectThrowsMatching(() => ssd(x, tf.zeros([1, 6, 4]) as tf.Tensor3D, A, B, C), ['dt', '[1, 5, 4]', '[1, 6, 4]']);
    expectThrowsMatching(() => ssd(x, dt, tf.zeros([3]) as tf.Tensor1D, B, C), ['A', '[H] = [4]']);
    expectThrowsMatching(() => ssd(x, dt, A, tf.zeros([1, 4, 2, 3]) as tf.Tensor4D, C), ['B', '[1, 5, 2, 3]']);
    expectThrowsMatching(() => ssd(x, dt, A, B, tf.zeros([1, 5, 2, 4]) as tf.Tensor4D), ['C', '[1, 5, 2, 3]']);
    const B3 = tf.zeros([1, 5, 3, 3]) as tf.Tensor4D;
    expectThrowsMatching(() => ssd(x, dt, A, B3, B3), ['H = 4', 'multiple of groups G = 3']);
    expectThrowsMatching(() => ssd(x, tf.zeros([1, 5, 4], 'int32') as tf.Tensor3D, A, B, C), ['dt', 'float32']);
    expectThrowsMatching(() => ssd(tf.zeros([1, 0, 4, 2]) as tf.Tensor4D, dt, A, B, C), ['x', 'non-empty']);
    expectThrowsMatching(() => ssd(x, dt, A, B, C, {chunksize: 8} as never), ["unknown option 'chunksize'"]);
    for (const bad of [0, -4, 2.5, NaN]) {
      expectThrowsMatching(() => ssd(x, dt, A, B, C, {chunkSize: bad}), ['options.chunkSize', 'positive integer']);
    }
    expectThrowsMatching(() => ssd(x, dt, A, B, C, {D: tf.zeros([2]) as tf.Tensor1D}), ['options.D', '[H] = [4]']);
    expectThrowsMatching(() => ssd(x, dt, A, B, C, {initialState: tf.zeros([1, 4, 2, 2]) as tf.Tensor4D}),
                         ['options.initialState', '[batch, H, P, N] = [1, 4, 2, 3]']);
    tf.dispose([x, dt, A, B, C, B3]);
  });

  if (backend !== 'cpu') return;
  it('the float64 chunked reference equals the sequential one (chunks 1, 5, 16, 40; L 37)', () => {
    for (const [Q, G] of [[1, 1], [5, 2], [16, 4], [40, 1]]) {
      const problem = makeProblem({batch: 2, L: 37, H: 4, P: 3, G, N: 4}, Q, true, true);
      const seq = ssdSequentialReference(problem.f64, problem.dims);
      const chunked = ssdChunkedReference(problem.f64, problem.dims, Q);
      expectClose(chunked.y, seq.y, {atol: 1e-12, rtol: 1e-10, name: `y, chunk ${Q}`});
      expectClose(chunked.finalState, seq.finalState, {atol: 1e-12, rtol: 1e-10, name: `finalState, chunk ${Q}`});
    }
  });
});
