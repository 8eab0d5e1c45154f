/**
 * @tfjs-ext/bfn: Bayesian Flow Networks (Graves et al. 2023) for TensorFlow.js.
 *
 * - Loss ops (fused kernels on cpu, wasm and webgpu; composite elsewhere; gradients in the network outputs):
 *   {@link bfnContinuousLoss}, {@link bfnDiscretisedLoss}, {@link bfnDiscreteLoss}.
 */
export {BFN_CONTINUOUS_LOSS, bfnContinuousLoss} from './continuous_loss/op';
export type {ContinuousLossOptions} from './continuous_loss/op';
export {BFN_DISCRETISED_LOSS, bfnDiscretisedLoss} from './discretised_loss/op';
export type {DiscretisedLossOptions} from './discretised_loss/op';
export {BFN_DISCRETE_LOSS, bfnDiscreteLoss} from './discrete_loss/op';
export type {DiscreteLossOptions} from './discrete_loss/op';
export {ContinuousFlow, DiscreteFlow, DiscretisedFlow, NoiseSource} from './flows/flows';
export type {BayesianFlow, CategoricalParams, GaussianParams} from './flows/flows';
export {BFN} from './model/bfn';
export type {BFNOptions, SampleOptions} from './model/bfn';
export {continuousPrediction, discretisedBinProbs, discretisedParams} from './model/output';
