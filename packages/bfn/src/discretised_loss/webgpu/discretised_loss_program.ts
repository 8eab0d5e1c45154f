/**
 * WebGPU programs of `bfnDiscretisedLoss`: forward (one workgroup per example) and backward (one invocation
 * per element; one program per gradient output). Same tail-sum form as the host kernels (cpu.ts).
 */
import {ElementwiseProgram} from '@tfjs-ext/core/webgpu';
import {ERFC_WGSL, RowReduceProgram, TIME_FACTORS_WGSL} from '../../shared/webgpu_common';

export const DISCRETISED_UNIFORMS = 'lnSigma1 : f32, tMin : f32, minStd : f32, maxStd : f32, numBins : i32,';

/**
 * `discretisedMean(muX, sigmaX) -> vec3(kHat, dkHat/dmuX, dkHat/dsigmaX)`; `outputParams(i, f)` ->
 * vec3(muX, sigmaX, sigmaLive) for element i with time factors f (masked rows: (0, 1, 0)).
 */
const DISCRETISED_WGSL = `
  ${TIME_FACTORS_WGSL}
  ${ERFC_WGSL}
  fn discretisedMean(muX : f32, sigmaX : f32) -> vec3<f32> {
    let K = uniforms.numBins;
    let w = 2.0 / f32(K);
    var tails = 0.0;
    var dens = 0.0;
    var densZ = 0.0;
    for (var j = 1; j < K; j++) {
      let z = (-1.0 + f32(j) * w - muX) / sigmaX;
      tails += upperTail(z);
      let phi = normalPdf(z);
      dens += phi;
      densZ += phi * z;
    }
    return vec3<f32>(-1.0 + 0.5 * w + w * tails, w * dens / sigmaX, w * densZ / sigmaX);
  }
  fn outputParams(i : i32, f : vec4<f32>) -> vec3<f32> {
    if (f.w > 0.5) { return vec3<f32>(0.0, 1.0, 0.0); }
    let muX = mu[i] * f.x - f.y * muEps[i];
    let l = lnSigmaEps[i];
    let raw = f.y * exp(clamp(l, -10.0, 10.0));
    let sigmaX = clamp(raw, uniforms.minStd, uniforms.maxStd);
    let live = l >= -10.0 && l <= 10.0 && raw >= uniforms.minStd && raw <= uniforms.maxStd;
    return vec3<f32>(muX, sigmaX, select(0.0, 1.0, live));
  }
`;

export class DiscretisedLossProgram extends RowReduceProgram {
  override variableNames = ['x', 'mu', 'muEps', 'lnSigmaEps', 't'];
  override uniforms = DISCRETISED_UNIFORMS;
  constructor(batch: number) { super(batch, 'bfnDiscretisedLoss'); }
  protected override helpers() { return DISCRETISED_WGSL; }
  protected override dimExpr() { return 'uniforms.xShape.y'; }
  protected override rowSetup() { return 'let f = timeFactors(t[row]);'; }
  protected override elementBody() {
    return `
      let i = row * dim + d;
      let p = outputParams(i, f);
      let diff = x[i] - discretisedMean(p.x, p.y).x;
      acc += diff * diff;`;
  }
  protected override finish() { return 'f.z * total'; }
}

/** dL/d muEps (`wrtSigma` false) or dL/d lnSigmaEps (true), `[batch, dim]`. */
export class DiscretisedLossGradProgram extends ElementwiseProgram {
  override variableNames = ['dy', 'x', 'mu', 'muEps', 'lnSigmaEps', 't'];
  override uniforms = DISCRETISED_UNIFORMS;
  private readonly wrtSigma: boolean;
  constructor(shape: number[], wrtSigma: boolean) {
    super(shape, `bfnDiscretisedLossGrad_${wrtSigma ? 'sigma' : 'mu'}`);
    this.wrtSigma = wrtSigma;
  }
  override getUserCode(): string {
    const value = this.wrtSigma ? 'dKHat * m.z * p.y * p.z' : '-dKHat * m.y * f.y';
    return `
  ${DISCRETISED_WGSL}
  fn main(index : i32) {
    if (index < uniforms.size) {
      let dim = uniforms.xShape.y;
      let row = index / dim;
      let f = timeFactors(t[row]);
      let p = outputParams(index, f);
      let m = discretisedMean(p.x, p.y);
      let dKHat = 2.0 * dy[row] * f.z * (m.x - x[index]) * (1.0 - f.w);
      result[index] = ${value};
    }
  }`;
  }
}
