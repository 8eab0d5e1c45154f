/**
 * WGSL programs of the scan primitive (scan_contract.ts), the spec's chunked steps, one invocation per output
 * element (or per state element for state passing), no atomics:
 *  - ChunkStatesProgram:   S_c[p, n] = sum_l exp(cs_last - cs_l) s_l x_l[p] B_l[n]              [BH, nC, P, N]
 *  - StatePassingProgram:  E_0 = initialState, E_{c+1} = exp(cs_last(c)) E_c + S_c              [BH, nC + 1, P, N]
 *  - DiagonalOutputProgram: yDiag_t[p] = sum_{s<=t in chunk} (C_t . B_s) exp(cs_t - cs_s) s_s x_s[p]  [batch, L, H, P]
 *  - OutputProgram:        y_t[p] = yDiag_t[p] + exp(cs_t) (E_c C_t)[p] + D x_t[p]               [batch, L, H, P]
 *  - FinalStateProgram:    finalState = E_nC                                                     [batch, H, P, N]
 * with a_t = la_t A_h and cs its cumulative sum inside the chunk; a chunk cut short by the sequence end is the
 * padding with dt = 0 of the spec. Every size is baked into the WGSL and the shader key. At most 7 inputs per
 * program (8 storage buffers per stage is the portable limit).
 */
import type {WebGPUProgram} from '@tfjs-ext/core/webgpu';
import {flatDispatch} from '@tfjs-ext/core/webgpu';

const WORKGROUP = 64;

/** Sizes of one scan: x [batch, L, H, P], B [batch, L, G, N], chunk Q. */
export interface ScanDims {
  batch: number;
  L: number;
  H: number;
  P: number;
  G: number;
  N: number;
  Q: number;
}

const key = (d: ScanDims) => `b${d.batch}_l${d.L}_h${d.H}_p${d.P}_g${d.G}_n${d.N}_q${d.Q}`;
const nChunks = (d: ScanDims) => Math.ceil(d.L / d.Q);

/** WGSL constants shared by the programs. */
function header(d: ScanDims): string {
  return `
  const L = ${d.L};
  const H = ${d.H};
  const P = ${d.P};
  const G = ${d.G};
  const N = ${d.N};
  const Q = ${d.Q};
  const NC = ${nChunks(d)};
  const PER_GROUP = ${d.H / d.G};
  const PN = ${d.P * d.N};`;
}

abstract class ScanProgram implements WebGPUProgram {
  abstract variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: {x: number[]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  size = true;
  protected readonly dims: ScanDims;

  constructor(name: string, dims: ScanDims, outputShape: number[], invocations: number) {
    this.dims = dims;
    this.outputShape = outputShape;
    this.dispatchLayout = {x: outputShape.map((_, i) => i)};
    this.dispatch = flatDispatch(invocations, WORKGROUP);
    this.shaderKey = `tfjsExtSSD${name}_${key(dims)}`;
  }

  abstract getUserCode(): string;
}

export class ChunkStatesProgram extends ScanProgram {
  variableNames = ['xIn', 'la', 'sc', 'aH', 'bIn'];

  constructor(d: ScanDims) {
    super('ChunkStates', d, [d.batch * d.H * nChunks(d) * d.P * d.N], d.batch * d.H * nChunks(d) * d.P * d.N);
  }

  getUserCode(): string {
    return `${header(this.dims)}
  fn main(index : i32) {
    if (index < uniforms.size) {
      let pn = index % PN;
      let p = pn / N;
      let n = pn % N;
      let bc = index / PN;           // (b * H + h) * NC + c
      let c = bc % NC;
      let bh = bc / NC;
      let h = bh % H;
      let b = bh / H;
      let g = h / PER_GROUP;
      let a = aH[h];
      var logDecay = 0.0;            // cs_last - cs_l, built from the chunk end backwards
      var acc = 0.0;
      for (var t = min(L, (c + 1) * Q) - 1; t >= c * Q; t--) {
        let ti = (b * L + t) * H + h;
        acc += exp(logDecay) * sc[ti] * xIn[ti * P + p] * bIn[((b * L + t) * G + g) * N + n];
        logDecay += la[ti] * a;
      }
      result[index] = acc;
    }
  }`;
  }
}

export class StatePassingProgram extends ScanProgram {
  variableNames = ['chunkStates', 'la', 'aH', 's0'];

  constructor(d: ScanDims) {
    // one invocation per state element (b, h, p, n) walks the chunks in order
    super('StatePassing', d, [d.batch * d.H * (nChunks(d) + 1) * d.P * d.N], d.batch * d.H * d.P * d.N);
  }

  getUserCode(): string {
    return `${header(this.dims)}
  fn main(index : i32) {
    if (index < uniforms.size && index < ${this.dims.batch * this.dims.H} * PN) {
      let pn = index % PN;
      let bh = index / PN;
      let h = bh % H;
      let b = bh / H;
      let a = aH[h];
      var state = s0[index];
      for (var c = 0; c < NC; c++) {
        result[(bh * (NC + 1) + c) * PN + pn] = state;
        var chunkLog = 0.0;
        for (var t = c * Q; t < min(L, (c + 1) * Q); t++) {
          chunkLog += la[(b * L + t) * H + h] * a;
        }
        state = exp(chunkLog) * state + chunkStates[(bh * NC + c) * PN + pn];
      }
      result[(bh * (NC + 1) + NC) * PN + pn] = state;
    }
  }`;
  }
}

/** Step 1, the intra-chunk ("attention-like") part of y. */
export class DiagonalOutputProgram extends ScanProgram {
  variableNames = ['xIn', 'la', 'sc', 'aH', 'bIn', 'cIn'];

  constructor(d: ScanDims) {
    super('DiagonalOutput', d, [d.batch, d.L, d.H, d.P], d.batch * d.L * d.H * d.P);
  }

  getUserCode(): string {
    return `${header(this.dims)}
  fn main(index : i32) {
    if (index < uniforms.size) {
      let p = index % P;
      let ti = index / P;            // (b * L + t) * H + h
      let h = ti % H;
      let bt = ti / H;
      let t = bt % L;
      let b = bt / L;
      let g = h / PER_GROUP;
      let a = aH[h];
      let cOff = (bt * G + g) * N;   // C_t
      var seg = 0.0;                 // cs_t - cs_s, from s = t backwards
      var yDiag = 0.0;
      for (var s = t; s >= (t / Q) * Q; s--) {
        let si = (b * L + s) * H + h;
        let bOff = ((b * L + s) * G + g) * N;
        var cb = 0.0;
        for (var n = 0; n < N; n++) {
          cb += cIn[cOff + n] * bIn[bOff + n];
        }
        yDiag += cb * exp(seg) * sc[si] * xIn[si * P + p];
        seg += la[si] * a;
      }
      result[index] = yDiag;
    }
  }`;
  }
}

/** Step 4 and the skip: y = yDiag + exp(cs_t) E_c C_t + D x. */
export class OutputProgram extends ScanProgram {
  variableNames = ['yDiag', 'xIn', 'la', 'aH', 'cIn', 'dH', 'entering'];

  constructor(d: ScanDims) {
    super('Output', d, [d.batch, d.L, d.H, d.P], d.batch * d.L * d.H * d.P);
  }

  getUserCode(): string {
    return `${header(this.dims)}
  fn main(index : i32) {
    if (index < uniforms.size) {
      let p = index % P;
      let ti = index / P;            // (b * L + t) * H + h
      let h = ti % H;
      let bt = ti / H;
      let t = bt % L;
      let b = bt / L;
      let g = h / PER_GROUP;
      let a = aH[h];
      let c = t / Q;
      var cs = 0.0;                  // cs_t: log-decay from the chunk start through t
      for (var s = c * Q; s <= t; s++) {
        cs += la[(b * L + s) * H + h] * a;
      }
      let cOff = (bt * G + g) * N;
      let eOff = ((b * H + h) * (NC + 1) + c) * PN + p * N;
      var yOff = 0.0;
      for (var n = 0; n < N; n++) {
        yOff += entering[eOff + n] * cIn[cOff + n];
      }
      result[index] = yDiag[index] + exp(cs) * yOff + dH[h] * xIn[index];
    }
  }`;
  }
}

export class FinalStateProgram extends ScanProgram {
  variableNames = ['entering'];

  constructor(d: ScanDims) {
    super('FinalState', d, [d.batch, d.H, d.P, d.N], d.batch * d.H * d.P * d.N);
  }

  getUserCode(): string {
    return `${header(this.dims)}
  fn main(index : i32) {
    if (index < uniforms.size) {
      let bh = index / PN;
      result[index] = entering[(bh * (NC + 1) + NC) * PN + index % PN];
    }
  }`;
  }
}
