/**
 * WebGPU programs of `bfnDiscreteLoss`: forward (one workgroup per example; a lane takes whole K-rows) and
 * backward (one invocation per K-row, writing its K gradients).
 */
import {WebGPUProgram} from '@tfjs-ext/core/webgpu';
import {RowReduceProgram} from '../../shared/webgpu_common';

/** `rowStats(row, cls) -> vec2(max, 1 / sum exp(l - max))` of logits[row * K ..]. */
const SOFTMAX_WGSL = `
  fn rowStats(base : i32, K : i32) -> vec2<f32> {
    var m = logits[base];
    for (var k = 1; k < K; k++) { m = max(m, logits[base + k]); }
    var z = 0.0;
    for (var k = 0; k < K; k++) { z += exp(logits[base + k] - m); }
    return vec2<f32>(m, 1.0 / z);
  }
`;

export class DiscreteLossProgram extends RowReduceProgram {
  override variableNames = ['x', 'logits', 't'];
  override uniforms = 'beta1 : f32,';
  constructor(batch: number) { super(batch, 'bfnDiscreteLoss'); }
  protected override helpers() { return SOFTMAX_WGSL; }
  protected override dimExpr() { return 'uniforms.logitsShape.y'; }
  protected override rowSetup() { return 'let K = uniforms.logitsShape.z;'; }
  protected override elementBody() {
    return `
      let i = row * dim + d;
      let base = i * K;
      let s = rowStats(base, K);
      let cls = i32(x[i]);
      for (var k = 0; k < K; k++) {
        let p = exp(logits[base + k] - s.x) * s.y;
        let diff = select(0.0, 1.0, k == cls) - p;
        acc += diff * diff;
      }`;
  }
  protected override finish() { return 'f32(K) * uniforms.beta1 * t[row] * total'; }
}

export class DiscreteLossGradProgram implements WebGPUProgram {
  variableNames = ['dy', 'x', 'logits', 't'];
  outputShape: number[];
  shaderKey = 'tfjsExt_bfnDiscreteLossGrad';
  dispatchLayout = {x: [0, 1, 2]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  uniforms = 'beta1 : f32,';
  size = true;

  /** `shape` = logits' `[batch, dim, K]`; one invocation per (b, d). */
  constructor(shape: number[]) {
    this.outputShape = shape;
    this.dispatch = [Math.max(1, Math.ceil(shape[0] * shape[1] / 64)), 1, 1];
  }

  getUserCode(): string {
    return `
  ${SOFTMAX_WGSL}
  fn main(index : i32) {
    let K = uniforms.logitsShape.z;
    let dim = uniforms.logitsShape.y;
    if (index < uniforms.logitsShape.x * dim) {
      let row = index / dim;
      let base = index * K;
      let s = rowStats(base, K);
      let cls = i32(x[index]);
      var dot = 0.0;
      for (var k = 0; k < K; k++) {
        let p = exp(logits[base + k] - s.x) * s.y;
        dot += p * (p - select(0.0, 1.0, k == cls));
      }
      let scale = 2.0 * f32(K) * uniforms.beta1 * t[row] * dy[row];
      for (var k = 0; k < K; k++) {
        let p = exp(logits[base + k] - s.x) * s.y;
        result[base + k] = scale * p * (p - select(0.0, 1.0, k == cls) - dot);
      }
    }
  }`;
  }
}
