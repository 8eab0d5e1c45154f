/**
 * The peer for the flash-attention benchmark: onnxruntime-web's `MultiHeadAttention` (com.microsoft contrib op)
 * on its WebAssembly CPU kernels, in Node. The one-node ONNX model is built in code (a hand-written protobuf
 * encoder for the few ModelProto fields it needs), so no model file ships with the repo.
 *
 * Benchmarks only (Node): onnxruntime-web is loaded lazily and never part of the library's import graph.
 */

/** Minimal protobuf writer: varints and length-delimited fields, enough for an ONNX ModelProto. */
class ProtoWriter {
  private readonly bytes: number[] = [];

  private varint(n: number): void {
    while (n > 127) {
      this.bytes.push((n % 128) | 128);
      n = Math.floor(n / 128);
    }
    this.bytes.push(n);
  }

  private tag(field: number, wireType: 0 | 2): void {
    this.varint(field * 8 + wireType);
  }

  /** A varint field (int32, int64, enum). */
  int(field: number, value: number): this {
    this.tag(field, 0);
    this.varint(value);
    return this;
  }

  /** A length-delimited field holding raw bytes. */
  raw(field: number, value: Uint8Array): this {
    this.tag(field, 2);
    this.varint(value.length);
    for (const b of value) this.bytes.push(b);
    return this;
  }

  string(field: number, value: string): this {
    return this.raw(field, new TextEncoder().encode(value));
  }

  /** An embedded message field. */
  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.raw(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

// onnx.proto field numbers used below.
const MODEL = {irVersion: 1, graph: 7, opsetImport: 8};
const OPSET = {domain: 1, version: 2};
const GRAPH = {node: 1, name: 2, input: 11, output: 12};
const NODE = {input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7};
const ATTRIBUTE = {name: 1, i: 3, type: 20};
const ATTRIBUTE_INT = 2;
const VALUE_INFO = {name: 1, type: 2};
const TYPE = {tensorType: 1};
const TENSOR_TYPE = {elemType: 1, shape: 2};
const FLOAT = 1;
const SHAPE = {dim: 1};
const DIM = {value: 1};

function valueInfo(w: ProtoWriter, name: string, shape: number[]): void {
  w.string(VALUE_INFO.name, name).message(VALUE_INFO.type, (t) => t.message(TYPE.tensorType, (tt) => {
    tt.int(TENSOR_TYPE.elemType, FLOAT).message(TENSOR_TYPE.shape, (s) => {
      for (const d of shape) s.message(SHAPE.dim, (dim) => dim.int(DIM.value, d));
    });
  }));
}

/**
 * A ModelProto with one com.microsoft `MultiHeadAttention` node: inputs query/key/value `[B, N, H * D]`,
 * output `[B, N, H * D]`; `unidirectional = 1` asks for the causal mask.
 */
export function multiHeadAttentionModel(batch: number, seq: number, heads: number, headDim: number,
                                        causal: boolean): Uint8Array {
  const shape = [batch, seq, heads * headDim];
  return new ProtoWriter()
      .int(MODEL.irVersion, 8)
      .message(MODEL.opsetImport, (o) => o.string(OPSET.domain, '').int(OPSET.version, 17))
      .message(MODEL.opsetImport, (o) => o.string(OPSET.domain, 'com.microsoft').int(OPSET.version, 1))
      .message(MODEL.graph, (g) => {
        g.message(GRAPH.node, (n) => {
          for (const name of ['query', 'key', 'value']) n.string(NODE.input, name);
          n.string(NODE.output, 'output').string(NODE.name, 'mha').string(NODE.opType, 'MultiHeadAttention')
              .string(NODE.domain, 'com.microsoft')
              .message(NODE.attribute, (a) => a.string(ATTRIBUTE.name, 'num_heads').int(ATTRIBUTE.i, heads)
                  .int(ATTRIBUTE.type, ATTRIBUTE_INT));
          if (causal) {
            n.message(NODE.attribute, (a) => a.string(ATTRIBUTE.name, 'unidirectional').int(ATTRIBUTE.i, 1)
                .int(ATTRIBUTE.type, ATTRIBUTE_INT));
          }
        });
        g.string(GRAPH.name, 'flash_attention_peer');
        for (const name of ['query', 'key', 'value']) g.message(GRAPH.input, (v) => valueInfo(v, name, shape));
        g.message(GRAPH.output, (v) => valueInfo(v, 'output', shape));
      })
      .finish();
}

/** A ready onnxruntime-web session for one shape: `run` takes and returns `[B, N, H, D]` data. */
export interface OrtAttention {
  run(q: Float32Array, k: Float32Array, v: Float32Array): Promise<Float32Array>;
  release(): Promise<void>;
}

/**
 * Creates an onnxruntime-web (wasm execution provider, one thread) MultiHeadAttention session for
 * `[batch, seq, heads, headDim]` inputs. Its layout `[B, N, H * D]` is ours with the last two axes merged, so no
 * transposes are needed.
 */
export async function createOrtAttention(batch: number, seq: number, heads: number, headDim: number,
                                         causal: boolean): Promise<OrtAttention> {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  const session = await ort.InferenceSession.create(multiHeadAttentionModel(batch, seq, heads, headDim, causal),
                                                    {executionProviders: ['wasm']});
  const dims = [batch, seq, heads * headDim];
  return {
    async run(q, k, v) {
      const out = await session.run({query: new ort.Tensor('float32', q, dims), key: new ort.Tensor('float32', k, dims),
                                     value: new ort.Tensor('float32', v, dims)});
      const data = out.output.data as Float32Array;
      out.output.dispose();
      return data;
    },
    release: () => session.release(),
  };
}
