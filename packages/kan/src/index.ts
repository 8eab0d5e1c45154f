/** @tfjs-ext/kan: Kolmogorov-Arnold Networks for TensorFlow.js. */
export {BSPLINE_BASIS, bsplineBasis, bsplineBasisDerivative} from './bspline/op';
export {bsplineBasisDerivativeReference, bsplineBasisReference, coxDeBoor, uniformKnots} from './bspline/reference';
export {KANLinear} from './layers/kan_linear';
export type {FeatureRanges, KANLinearArgs, KANLinearHostWeights} from './layers/kan_linear';
export {kan, kanLayers, kanWidths, layerInputs, refine, updateGrid} from './layers/kan';
export type {GridUpdateOptions, KANOptions} from './layers/kan';
export {Float64LBFGS, LBFGS} from './lbfgs/lbfgs';
export type {Evaluation, LBFGSOptions, LBFGSProblem} from './lbfgs/lbfgs';
export {KANFloat64MSE} from './float64/kan_float64';
export {lstsq} from './grid/lstsq';
export {edgeScores, kanRegularization} from './regularization/regularization';
export type {RegularizationOptions} from './regularization/regularization';
export {edgeImportance, prune} from './prune/prune';
export type {PruneOptions} from './prune/prune';
export {autoSymbolic, evaluateSymbolic, formatFormula, symbolicRMSE} from './symbolic/symbolic';
export type {AutoSymbolicOptions, EdgeFit, SymbolicNetwork} from './symbolic/symbolic';
export {SYMBOLIC_LIBRARY} from './symbolic/library';
export type {SymbolicFunction} from './symbolic/library';
