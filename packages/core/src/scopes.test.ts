/**
 * The process-wide scopes (`withCompositeOnly`, `ImplRegistry.withForced`) under nesting and under overlapping
 * async scopes that exit in any order: each exit must restore exactly the state the remaining open scopes ask for.
 */
import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {defineOp, hostKernels, ImplRegistry, lastDispatch, withCompositeOnly} from './index';
import {describeBackends} from './testing';

const KERNEL = 'TfjsExtTestScopes';
const op = defineOp<{x: tf.Tensor}, Record<string, never>>({
  kernelName: KERNEL,
  kernels: hostKernels<object>(({x}) => [{shape: x.shape, values: (x.values as Float32Array).slice()}]),
  composite: ({x}) => tf.clone(x),
});

/** Which path a call of the test op takes now. */
function pathNow(): string | undefined {
  tf.tidy(() => { op.run({x: tf.scalar(1)}, {}); });
  return lastDispatch(KERNEL)?.path;
}

/** A promise with its resolve function, to end async scopes in a chosen order. */
function gate(): {promise: Promise<void>; open: () => void} {
  let open = () => {};
  const promise = new Promise<void>((resolve) => { open = resolve; });
  return {promise, open};
}

// The op has a kernel on the host backends only; one of them is enough to observe the dispatch.
describeBackends('core: withCompositeOnly scopes', () => {
  it('keeps the composite forced until the outermost of nested scopes exits', () => {
    expect(pathNow()).to.equal('kernel');
    withCompositeOnly(KERNEL, () => {
      withCompositeOnly(KERNEL, () => expect(pathNow()).to.equal('composite'));
      expect(pathNow(), 'after the inner scope exits').to.equal('composite');
    });
    expect(pathNow()).to.equal('kernel');
  });

  it('restores the kernel only when both of two interleaved async scopes have exited', async () => {
    const a = gate(), b = gate();
    const scopeA = withCompositeOnly(KERNEL, () => a.promise);
    const scopeB = withCompositeOnly(KERNEL, () => b.promise);
    a.open();
    await scopeA;
    expect(pathNow(), 'A exited, B still open').to.equal('composite');
    b.open();
    await scopeB;
    expect(pathNow()).to.equal('kernel');
  });

  it('restores the state when the scope throws', () => {
    expect(() => withCompositeOnly(KERNEL, () => { throw new Error('boom'); })).to.throw('boom');
    expect(pathNow()).to.equal('kernel');
  });
}, {only: ['cpu']});

describe('core: ImplRegistry.withForced scopes', () => {
  const make = () => {
    const r = new ImplRegistry<{name: string}>('testOp');
    r.register({name: 'js'});
    r.register({name: 'simd'});
    return r;
  };

  it('nests: the innermost forced name wins and each exit restores the enclosing one', () => {
    const r = make();
    expect(r.active().name).to.equal('simd');
    r.withForced('js', () => {
      r.withForced('simd', () => expect(r.active().name).to.equal('simd'));
      expect(r.active().name).to.equal('js');
    });
    expect(r.active().name).to.equal('simd');
  });

  it('overlapping async scopes exiting in entry order leave nothing forced', async () => {
    const r = make();
    const a = gate(), b = gate();
    const scopeA = r.withForced('js', () => a.promise);
    const scopeB = r.withForced('js', () => b.promise);
    a.open();
    await scopeA;
    expect(r.active().name, 'A exited, B still open').to.equal('js');
    b.open();
    await scopeB;
    expect(r.active().name, 'both exited').to.equal('simd');
  });

  it('overlapping async scopes with different names: the latest open one wins, whatever the exit order', async () => {
    const r = make();
    const a = gate(), b = gate();
    const scopeA = r.withForced('js', () => a.promise);
    const scopeB = r.withForced('simd', () => b.promise);
    expect(r.active().name).to.equal('simd');
    b.open();
    await scopeB;
    expect(r.active().name, 'B exited, A still open').to.equal('js');
    a.open();
    await scopeA;
    expect(r.active().name).to.equal('simd');
    const c = gate(), d = gate();
    const scopeC = r.withForced('simd', () => c.promise);
    const scopeD = r.withForced('js', () => d.promise);
    c.open();
    await scopeC;
    expect(r.active().name, 'C exited, D still open').to.equal('js');
    d.open();
    await scopeD;
    expect(r.active().name, 'all exited').to.equal('simd');
  });
});
