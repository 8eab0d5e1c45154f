/**
 * @tfjs-ext/pointnet2: PointNet++ for TensorFlow.js.
 *
 * - Ops (kernels on cpu, wasm and webgpu; a composite of tf ops elsewhere): {@link farthestPointSample},
 *   {@link ballQuery}, {@link groupPoints} (differentiable), {@link threeNN}, {@link threeInterpolate}
 *   (differentiable), {@link interpolationWeights}.
 */
export {FARTHEST_POINT_SAMPLE, farthestPointSample} from './fps/op';
export {BALL_QUERY, ballQuery} from './ball_query/op';
export {GROUP_POINTS, groupPoints} from './group_points/op';
export {THREE_NN, threeNN} from './three_nn/op';
export {THREE_INTERPOLATE, interpolationWeights, threeInterpolate} from './three_interpolate/op';
export {SetAbstraction, SetAbstractionMSG} from './layers/set_abstraction';
export type {SetAbstractionArgs, SetAbstractionMSGArgs} from './layers/set_abstraction';
export {FeaturePropagation} from './layers/feature_propagation';
export type {FeaturePropagationArgs} from './layers/feature_propagation';
export {pointnet2ClsMSG, pointnet2ClsSSG, pointnet2PartSeg} from './layers/models';
export type {PointNet2Options} from './layers/models';
export {CLASSIFICATION_CLASSES, generatePointClouds, normalizeToUnitSphere, PART_CLASSES, PART_NAMES, PARTS_OF,
        sampleMesh, sampleShape} from './data/procedural';
export type {AugmentOptions, PointCloudSet} from './data/procedural';
