/** Test helpers every tfjs-ext package's mocha suites use. */
export {backendMatrix, backendsSeen, describeBackends} from './matrix';
export type {BackendSuiteContext, DescribeBackendsOptions} from './matrix';
export {checkGradients, compareClose, expectClose, gradCheck, randomArray, randomNormalArray, rng,
        toFloat64} from './numerics';
export type {CloseOptions, CloseReport, Float64Input, GradCheckOptions, GradCheckResult} from './numerics';
export {expectNoLeaks} from './leaks';
export {expectThrowsMatching} from './errors';
