/**
 * Shared pieces of the flash-attention WebGPU programs: tile sizes, uniforms, and WGSL snippets (the masking
 * rule of contract.ts, vector helpers). The program interface and the backend slice they run on are core's
 * typed contract with tfjs-backend-webgpu (`@tfjs-ext/core/webgpu`).
 */
import type * as tf from '@tensorflow/tfjs';
import type {ProgramUniform, WebGPUBackendLike, WebGPUProgram} from '@tfjs-ext/core/webgpu';
import type {FlashAttentionAttrs} from '../contract';

/** The program contract is core's (`@tfjs-ext/core/webgpu`); `FlashProgram` names it for these programs. */
export type FlashProgram = WebGPUProgram;
export type {ProgramUniform, WebGPUBackendLike};

/** Invocations per workgroup: query rows (forward, dQ) or key rows (dK/dV) times the head-dim split. */
export const ROWS_PER_WORKGROUP = 64;

/**
 * Workgroup storage for the tiles: WebGPU's portable minimum `maxComputeWorkgroupStorageSize` (16 KiB) less
 * 16 bytes for the programs' scalar workgroup variables.
 */
const TILE_BYTES = 16384 - 16;

/** Largest head dim the programs support (a one-row tile must still fit in workgroup storage). */
export const MAX_HEAD_DIM = 1024;

/** Throws a clear error for a head dim beyond {@link MAX_HEAD_DIM}. */
export function assertHeadDim(headDim: number): void {
  if (headDim > MAX_HEAD_DIM) {
    throw new Error(`flashAttention (webgpu): headDim ${headDim} is not supported by the WebGPU kernels ` +
                    `(at most ${MAX_HEAD_DIM})`);
  }
}

/** Floats per vector element of the head dimension: vec4 when the head dim allows it. */
export function componentsFor(headDim: number): 1 | 4 {
  return headDim % 4 === 0 ? 4 : 1;
}

/**
 * Keys per K/V tile of the forward and dQ passes: two tiles of `[tile, headDim]` floats (plus `extraPerKey`
 * bytes per key, e.g. partial scores) fill at most the 16 KiB budget (e.g. 31 keys at headDim 64, 15 at 128).
 */
export function keyTileRows(headDim: number, extraPerKey = 0): number {
  return Math.max(1, Math.min(32, Math.floor(TILE_BYTES / (2 * 4 * headDim + extraPerKey))));
}

/**
 * Query rows per tile of the dK/dV pass: Q and dO tiles of `[tile, headDim]` floats plus a float of lse and of
 * D per row (plus `extraPerRow` bytes) fill at most 16 KiB.
 */
export function queryTileRows(headDim: number, extraPerRow = 0): number {
  return Math.max(1, Math.min(32, Math.floor(TILE_BYTES / (2 * 4 * headDim + 8 + extraPerRow))));
}

/** Tuning knobs of the WebGPU kernels (benchmarks and tests set them; 'auto' by default). */
export const flashWebGPUTuning: {splitD: 'auto' | 1 | 2 | 4; chunks: 'auto' | number} =
    {splitD: 'auto', chunks: 'auto'};

/**
 * Ranges a pass splits its inner loop into (keys for the forward and dQ passes, as flash-decoding's split-KV;
 * query rows for dK/dV), each range in its own workgroups, the partial results merged or summed afterwards:
 * 'auto' doubles them (up to 8) while fewer than 128k invocations would be in flight, each range keeps at
 * least 256 rows and the partial results (`partialFloats` per range) stay within 16M floats (64 MiB).
 * A heuristic: tune on real GPUs with `flashWebGPUTuning.chunks`.
 */
export function chooseChunks(invocations: number, innerLength: number, partialFloats: number): number {
  const forced = flashWebGPUTuning.chunks;
  if (forced !== 'auto') return Math.max(1, Math.floor(forced));
  let chunks = 1;
  while (chunks < 8 && invocations * chunks < 131072 && innerLength / (2 * chunks) >= 256 &&
         2 * chunks * partialFloats <= 16 * 1024 * 1024) {
    chunks *= 2;
  }
  return chunks;
}

/**
 * Invocations sharing one query row (forward, dQ) or key row (dK/dV), each owning an interleaved 1/split of
 * the head dim (neighbouring invocations touch neighbouring vec4s); partial dot products are exchanged
 * through workgroup memory. 'auto': enough invocations that the `rowArrays` head-dim-long register arrays of
 * an invocation (2 forward, 3 dQ, 4 dK/dV) hold at most 128 floats (no spills at large head dims), then more
 * while fewer than 64k invocations would be in flight (a GPU mostly idle otherwise). A heuristic, not
 * measured on hardware yet: compare variants on a real GPU with `flashWebGPUTuning.splitD`.
 */
export function chooseSplitD(rows: number, headDim: number, rowArrays: number): number {
  const dv = headDim / componentsFor(headDim);
  const forced = flashWebGPUTuning.splitD;
  if (forced !== 'auto') return dv % forced === 0 ? forced : 1;
  let split = 1;
  while (split < 4 && dv % (split * 2) === 0 &&
         (rowArrays * headDim / split > 128 || rows * split < 65536)) {
    split *= 2;
  }
  return split;
}

/** Uniform declarations (program `uniforms`) matching {@link attrUniforms}. */
export const ATTR_UNIFORMS = 'scale : f32, causal : i32, windowLeft : i32, windowRight : i32,';

/** The attrs as program uniforms, in the order of {@link ATTR_UNIFORMS}. */
export function attrUniforms(attrs: FlashAttentionAttrs): ProgramUniform[] {
  return [
    {type: 'float32', data: [attrs.scale]},
    {type: 'int32', data: [attrs.causal ? 1 : 0]},
    {type: 'int32', data: [attrs.windowLeft]},
    {type: 'int32', data: [attrs.windowRight]},
  ];
}

/** WGSL type of one vector element of the head dimension. */
export function vecType(components: number): string {
  return components === 4 ? 'vec4<f32>' : 'f32';
}

/**
 * WGSL helpers every attention program shares:
 * - `visibleRange(i, nq, kvLen)`: the visible key range `[lo, hi)` of query row `i`, exactly contract.ts's
 *   `visibleKeyRange` (causal flag and window read from uniforms, -1 = unbounded; a uniform branch costs
 *   nothing next to the dot products and halves the number of pipelines to compile);
 * - `dotV(a, b)`: dot product of two head-dim vector elements.
 */
export function commonSnippet(components: number): string {
  const vec = vecType(components);
  return `
  fn visibleRange(i : i32, nq : i32, kvLen : i32) -> vec2<i32> {
    let off = kvLen - nq;
    var lo = 0;
    var hi = kvLen;
    if (uniforms.causal != 0) { hi = min(hi, i + off + 1); }
    if (uniforms.windowRight >= 0) { hi = min(hi, i + off + uniforms.windowRight + 1); }
    if (uniforms.windowLeft >= 0) { lo = max(lo, i + off - uniforms.windowLeft); }
    return vec2<i32>(lo, hi);
  }

  fn dotV(a : ${vec}, b : ${vec}) -> f32 {
    return ${components === 4 ? 'dot(a, b)' : 'a * b'};
  }
  `;
}

/** WGSL statements writing the vector element `value` (of `components` floats) at float index `at`. */
export function storeVec(value: string, at: string, components: number): string {
  if (components === 1) return `result[${at}] = ${value};`;
  return ['x', 'y', 'z', 'w'].map((c, n) => `result[${at} + ${n}] = ${value}.${c};`).join(' ');
}

/**
 * Copies `size(outputShape)` floats of `x` starting at float `offset` into a new tensor: splits a buffer that
 * one program filled with two results (tfjs programs have a single output).
 */
export class CopyRangeProgram implements FlashProgram {
  outputShape: number[];
  shaderKey = 'tfjsExtFlashCopyRange';
  dispatchLayout: {x: number[]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [ROWS_PER_WORKGROUP, 1, 1];
  variableNames = ['x'];
  variableComponents = [1];
  uniforms = 'offset : i32,';
  size = true;

  constructor(outputShape: number[]) {
    this.outputShape = outputShape;
    this.dispatchLayout = {x: outputShape.map((_, i) => i)};
    const size = outputShape.reduce((a, b) => a * b, 1);
    this.dispatch = [Math.ceil(size / ROWS_PER_WORKGROUP), 1, 1];
  }

  getUserCode(): string {
    return `
  fn main(index : i32) {
    if (index < uniforms.size) {
      result[index] = x[index + uniforms.offset];
    }
  }`;
  }
}

/**
 * `kvLengths` ([B] int32) seen as `[B, 1]`: tfjs's pipeline key includes the input dims it would broadcast
 * against the output, which for a rank-1 `[B]` input changes between B = 1 and B > 1 (one more compile); as
 * `[B, 1]` it never does. Same data, no copy.
 */
export function lengthsAsColumn(kvLengths: tf.TensorInfo): tf.TensorInfo {
  return {dataId: kvLengths.dataId, shape: [kvLengths.shape[0], 1], dtype: kvLengths.dtype};
}

/** Copies floats `[offset, offset + size(shape))` of `packed` into a new tensor of `shape`. */
export function copyRange(backend: WebGPUBackendLike, packed: tf.TensorInfo, offset: number,
                          shape: number[]): tf.TensorInfo {
  return backend.runWebGPUProgram(new CopyRangeProgram(shape), [packed], 'float32',
                                  [{type: 'int32', data: [offset]}]);
}

/**
 * Sums partial gradients: per query head into per kv head (`group = Hq / Hkv` heads, 1 for MHA) and over the
 * `chunks` partial buffers of a split pass:
 * `out[b, j, g, c] = sum over chunks k and the heads h of kv head g of
 *                    x[offset + k * chunkStride + ((b * N + j) * Hq + h) * D + c]`.
 */
export class PartialSumProgram implements FlashProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: {x: number[]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [ROWS_PER_WORKGROUP, 1, 1];
  variableNames = ['x'];
  variableComponents = [1];
  uniforms = 'offset : i32, chunkStride : i32,';
  size = true;
  private readonly group: number;
  private readonly chunks: number;

  /** `shape: [B, N, H, D]` of the result (H kv heads), `group` query heads per head, `chunks` partials. */
  constructor(shape: number[], group: number, chunks: number) {
    this.outputShape = shape;
    this.group = group;
    this.chunks = chunks;
    this.dispatchLayout = {x: [0, 1, 2, 3]};
    const size = shape.reduce((a, b) => a * b, 1);
    this.dispatch = [Math.ceil(size / ROWS_PER_WORKGROUP), 1, 1];
    this.shaderKey = `tfjsExtFlashPartialSum_g${group}_chunks${chunks}`;
  }

  getUserCode(): string {
    return `
  fn main(index : i32) {
    if (index < uniforms.size) {
      let hd = uniforms.outShape.w;                        // head dim
      let row = index / hd;                                // (b * N + j) * H + g
      let src = uniforms.offset + (row * ${this.group}) * hd + (index - row * hd);
      var acc = 0.0;
      for (var chunk = 0; chunk < ${this.chunks}; chunk++) {
        for (var hh = 0; hh < ${this.group}; hh++) {
          acc += x[src + chunk * uniforms.chunkStride + hh * hd];
        }
      }
      result[index] = acc;
    }
  }`;
  }
}

/** Runs {@link PartialSumProgram}: `shape` of the result, partials in `x` from float `offset`. */
export function sumPartials(backend: WebGPUBackendLike, x: tf.TensorInfo, shape: number[], group: number,
                            chunks: number, offset: number, chunkStride: number): tf.TensorInfo {
  return backend.runWebGPUProgram(new PartialSumProgram(shape, group, chunks), [x], 'float32',
                                  [{type: 'int32', data: [offset]}, {type: 'int32', data: [chunkStride]}]);
}
