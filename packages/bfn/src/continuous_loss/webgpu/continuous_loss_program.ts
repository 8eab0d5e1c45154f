/**
 * WebGPU programs of `bfnContinuousLoss`: forward (one workgroup per example, lanes reduce over the row) and
 * backward (one invocation per element: dL/d epsHat).
 */
import {ElementwiseProgram} from '@tfjs-ext/core/webgpu';
import {RowReduceProgram, TIME_FACTORS_WGSL} from '../../shared/webgpu_common';

const PREDICT = `
    let i = row * dim + d;
    let raw = mu[i] * f.x - f.y * epsHat[i];`;

export class ContinuousLossProgram extends RowReduceProgram {
  override variableNames = ['x', 'mu', 'epsHat', 't'];
  override uniforms = 'lnSigma1 : f32, tMin : f32,';
  constructor(batch: number) { super(batch, 'bfnContinuousLoss'); }
  protected override helpers() { return TIME_FACTORS_WGSL; }
  protected override dimExpr() { return 'uniforms.xShape.y'; }
  protected override rowSetup() { return 'let f = timeFactors(t[row]);'; }
  protected override elementBody() {
    return `${PREDICT}
      let xHat = select(clamp(raw, -1.0, 1.0), 0.0, f.w > 0.5);
      let diff = x[i] - xHat;
      acc += diff * diff;`;
  }
  protected override finish() { return 'f.z * total'; }
}

export class ContinuousLossGradProgram extends ElementwiseProgram {
  override variableNames = ['dy', 'x', 'mu', 'epsHat', 't'];
  override uniforms = 'lnSigma1 : f32, tMin : f32,';
  constructor(shape: number[]) { super(shape, 'bfnContinuousLossGrad'); }
  override getUserCode(): string {
    return `
  ${TIME_FACTORS_WGSL}
  fn main(index : i32) {
    if (index < uniforms.size) {
      let dim = uniforms.xShape.y;
      let row = index / dim;
      let d = index - row * dim;
      let f = timeFactors(t[row]);
      ${PREDICT}
      let inside = raw >= -1.0 && raw <= 1.0 && f.w < 0.5;
      result[index] = select(0.0, -2.0 * dy[row] * f.z * f.y * (raw - x[i]), inside);
    }
  }`;
  }
}
