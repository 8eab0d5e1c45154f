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
