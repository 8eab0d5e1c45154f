/** Benchmark harness shared by every package's `npm run bench` suites. */
export {measureVariant, mergeRepetitions, outputTensors, runCase} from './harness';
export type {BenchCase, BenchOptions, BenchRow, BenchVariant} from './harness';
export {machineDescription, markdownTable, medianWithSpread, writeResults} from './report';
export type {BenchMeta} from './report';
export type {BenchSuite, BenchSuiteOptions} from './suite';
export {withKernelsRegistered} from './temporary_kernels';
export type {TemporaryKernel} from './temporary_kernels';
