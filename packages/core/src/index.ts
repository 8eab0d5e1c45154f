/**
 * @tfjs-ext/core: the framework the other tfjs-ext packages stand on.
 *
 * - {@link defineOp}: one op, per-backend kernels, one gradient, a composite path everywhere else.
 * - {@link hostKernels}: JS kernels over typed arrays for the `cpu` and `wasm` backends.
 * - {@link initBackend} / {@link useBestBackend}: backend bootstrap (Dawn WebGPU in Node, tfjs-node when present).
 * Test helpers live in `@tfjs-ext/core/testing`, the benchmark harness in `@tfjs-ext/core/bench`.
 */
export {defineOp, dispatchCounts, hasKernel, lastDispatch, resetDispatchCounts, withCompositeOnly} from './kernel';
export type {DispatchPath, GradFunc, KernelFunc, Op, OpDefinition} from './kernel';
export {ImplRegistry, withScope} from './impl_registry';
export {pickTokens, randomFloat32, rng} from './random';
export {generateTokens} from './generation';
export type {GenerationPaths, SamplingOptions, TokenDecoder} from './generation';
export {HOST_BACKENDS, hostKernel, hostKernels} from './host_kernel';
export type {HostOutput, HostOutputWriter, HostTensor} from './host_kernel';
export {backendReport, describeWebGPUAdapter, initBackend, isNode, knownBackends, registerBackendLoader} from './backends';
export type {BackendLoader} from './backends';
export {registerBackendProbe, useBestBackend} from './backends/best';
export type {BackendProbe, BestBackendStatus, UseBestBackendOptions} from './backends/best';
export type {BackendName, BackendStatus} from './backends';
export {assertArg, assertDtype, assertKnownKeys, assertPositiveInt, assertRank, KERAS_LAYER_KEYS, shapeString} from './validate';
