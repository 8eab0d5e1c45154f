/**
 * WGSL pieces the loss programs share: the time factors of the continuous/discretised parametrisation, the
 * float32-accurate erfc (Numerical Recipes' erfcc, as the composites), and a workgroup-per-row reduction skeleton.
 */
import {WebGPUProgram} from '@tfjs-ext/core/webgpu';

/** Threads per workgroup of the per-row reductions (a power of two). */
export const ROW_WORKGROUP = 64;

/**
 * `timeFactors(t) -> vec4(invGamma, B, weight, masked)`; needs uniforms `lnSigma1` and `tMin`.
 * gamma = -expm1(2 max(t, tMin) ln sigma1), by a series where the argument is small (no cancellation).
 */
export const TIME_FACTORS_WGSL = `
  fn timeFactors(t : f32) -> vec4<f32> {
    let a = 2.0 * max(t, uniforms.tMin) * uniforms.lnSigma1;
    var em1 = exp(a) - 1.0;
    if (abs(a) < 1e-3) { em1 = a * (1.0 + a / 2.0 * (1.0 + a / 3.0)); }
    let gamma = -em1;
    let invGamma = 1.0 / gamma;
    let b = sqrt(exp(a) * invGamma);
    let weight = -uniforms.lnSigma1 * exp(-2.0 * t * uniforms.lnSigma1);
    return vec4<f32>(invGamma, b, weight, select(0.0, 1.0, t < uniforms.tMin));
  }
`;

/** `erfcApprox(x)` (relative error < 1.2e-7) and `upperTail(z)` = 1 - Phi(z), `normalPdf(z)`. */
export const ERFC_WGSL = `
  fn erfcApprox(x : f32) -> f32 {
    let z = abs(x);
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
        t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
        t * (-0.82215223 + t * 0.17087277)))))))));
    return select(2.0 - r, r, x >= 0.0);
  }
  fn upperTail(z : f32) -> f32 { return 0.5 * erfcApprox(z * 0.70710678118654752); }
  fn normalPdf(z : f32) -> f32 { return exp(-0.5 * z * z) * 0.39894228040143268; }
`;

/**
 * A program with one workgroup per batch row: `rowBody` accumulates `acc` over the lane's strided elements
 * (`for (var d = lane; d < dim; d += ROW_WORKGROUP)`), the workgroup sums the lanes, lane 0 writes
 * `result[row] = <finish>` with the sum in `total`.
 */
export abstract class RowReduceProgram implements WebGPUProgram {
  abstract variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = {x: [0]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [ROW_WORKGROUP, 1, 1];
  uniforms?: string;

  constructor(batch: number, shaderKey: string) {
    this.outputShape = [batch];
    this.shaderKey = `tfjsExt_${shaderKey}`;
    this.dispatch = [batch, 1, 1];
  }

  /** WGSL helpers placed before main. */
  protected abstract helpers(): string;
  /** Statements run once per row before the loop (`row`, `lane` defined). */
  protected abstract rowSetup(): string;
  /** Loop body over element `d` of the row adding to `acc`. */
  protected abstract elementBody(): string;
  /** `dim` expression. */
  protected abstract dimExpr(): string;
  /** Expression of the row's output from `total`. */
  protected abstract finish(): string;

  getUserCode(): string {
    return `
  ${this.helpers()}
  var<workgroup> partial : array<f32, ${ROW_WORKGROUP}>;
  fn main(index : i32) {  // flat dispatch layout: tfjs passes the global index (unused here)
    let row = i32(workgroupId.x);
    let lane = i32(localId.x);
    let dim = ${this.dimExpr()};
    ${this.rowSetup()}
    var acc = 0.0;
    for (var d = lane; d < dim; d += ${ROW_WORKGROUP}) {
      ${this.elementBody()}
    }
    partial[lane] = acc;
    workgroupBarrier();
    for (var s = ${ROW_WORKGROUP / 2}; s > 0; s = s / 2) {
      if (lane < s) { partial[lane] = partial[lane] + partial[lane + s]; }
      workgroupBarrier();
    }
    if (lane == 0) {
      let total = partial[0];
      result[row] = ${this.finish()};
    }
  }`;
  }
}
