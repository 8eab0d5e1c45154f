/**
 * The README's benchmark tables, one spec each, rendered by `npm run bench:readme` (scripts/bench-readme.ts)
 * from `bench/results/<suite>.json` between the README's markers
 *   <!-- bench-table:ID -->            (generated: do not edit by hand)
 *   <!-- /bench-table:ID -->
 *
 * Adding a table for a new package's suite (e.g. mamba's `ssd`):
 *   1. write the suite (`packages/mamba/src/ssd/ssd.bench.ts`) and run it: `npm run bench -- --only=ssd --repeat=3`
 *      (commit `bench/results/ssd.json` and `.md`);
 *   2. append a `TableSpec` below: `id`, the label headers, one entry in `rows` per table row and one in `columns`
 *      per value column. A cell's result row is the merge of its row's and its column's selectors (`suite`, `op`,
 *      `backend`, `size`, `variant`; a column's entries win); `show` formats it (`ms`, `gflops`, `gbps`, `peakMB`,
 *      `kernelMB`, or `ratioTo({variant: ...})` / `faster(...)` against another result of the same run);
 *   3. put the two marker lines where the table goes in README.md and run `npm run bench:readme`.
 * A cell whose result has one timed run says so (`¹`, with a footnote); repeated suites (`--repeat`) show the
 * spread of the repetition medians in `ms` cells; failed results show `fails (...)`; missing ones `-`.
 */
import type {BenchRow} from '@tfjs-ext/core/bench';

export interface Selector {
  suite?: string;
  op?: string | RegExp;
  backend?: string;
  size?: string;
  variant?: string | RegExp;
}

/** Formats the result `r` of a cell; `find` looks up another result of the same suite file. */
export type Show = (r: BenchRow, find: (sel: Selector) => BenchRow | undefined) => string;

export interface TableSpec {
  id: string;
  labelHeaders: string[];
  rows: Array<{labels: string[]} & Selector>;
  columns: Array<{header: string; show: Show} & Selector>;
}

const num = (x: number, digits = 3) =>
    x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toPrecision(digits - 1);

/** `32.6 ms`, with the spread over repetitions when the suite was repeated. */
export const ms: Show = (r) => {
  const reps = r.repetitionMs;
  const spread = reps !== undefined && reps.length > 1 ?
      ` (${num(Math.min(...reps))}-${num(Math.max(...reps))}, ${reps.length} reps)` : '';
  return `${num(r.medianMs!)} ms${spread}`;
};
export const gflops: Show = (r) => r.gflops === null ? '-' : num(r.gflops);
export const gbps: Show = (r) => r.gbps === null ? '-' : num(r.gbps);
export const peakMB: Show = (r) => r.peakMB == null ? '-' : num(r.peakMB);
/** The SIMD modules' own memory (part of `peakMB`). */
export const kernelMB: Show = (r) => r.kernelPeakMB == null ? '-' : num(r.kernelPeakMB);

/** `ms` then `(x GFLOP/s)`. */
export const msAndGflops: Show = (r, find) => `${ms(r, find)}${r.gflops === null ? '' : ` (${num(r.gflops)} GFLOP/s)`}`;

/**
 * `other`'s median / this one's (> 1: this is faster), both from the same run: with repetitions, the median of
 * the per-repetition ratios over the repetitions both were measured in (a suite runs its costly variants in the
 * first repetition only, so repetitions are aligned from the first).
 */
export function ratio(r: BenchRow, other: BenchRow): number | null {
  if (other.medianMs === null || r.medianMs === null) return null;
  const a = r.repetitionMs, b = other.repetitionMs;
  if (a !== undefined && b !== undefined) {
    const per = a.slice(0, b.length).map((x, i) => b[i] / x).sort((x, y) => x - y);
    const m = per.length >> 1;
    return per.length % 2 ? per[m] : (per[m - 1] + per[m]) / 2;
  }
  return other.medianMs / r.medianMs;
}

/** `12.3x`: how many times faster this cell's result is than `sel`'s (same op, backend, size unless given). */
export function faster(sel: Selector): Show {
  return (r, find) => {
    const other = find(sel);
    const x = other === undefined ? null : ratio(r, other);
    return x === null ? '-' : `${num(x)}x`;
  };
}

/** `value (1.9x)`: a formatted value followed by the ratio against `sel`. */
export function withRatio(show: Show, sel: Selector): Show {
  return (r, find) => {
    const x = faster(sel)(r, find);
    return x === '-' ? show(r, find) : `${show(r, find)} (${x})`;
  };
}

const FA = 'flash-attention', SIMD = 'flash-attention-simd', DEC = 'flash-decode', LM = 'lm-decode', KAN = 'kan';
const NAIVE = 'naive tfjs (matMul+softmax)', FA_SIMD = 'flashAttention (simd-wasm kernel)';
const FA_JS = 'flashAttention (js kernel forced)', BLOCKED = 'blocked composite (ours)';
const PEER = 'onnxruntime-web MHA', OURS = 'simd-wasm (ours)';
/** On tensorflow: the composite that would run there, and our host kernel registered there (per suite). */
const TF_COMPOSITE = /^(blocked composite \(ours\)|composite softmax\(q K\^T\) V|composite)$/;
const TF_KERNEL = /^(flashAttention \(simd-wasm kernel\)|flashDecode \(simd-wasm host kernel\)|host kernel \(JS, 1 thread\))$/;

const SSD_SUITE = 'ssd', SSD_OURS = 'ssd (SIMD wasm kernel)';

export const TABLES: TableSpec[] = [
  {
    id: 'flash-attention',
    labelHeaders: ['backend', 'case', 'N'],
    rows: ['cpu', 'wasm'].flatMap((backend) => [
      {labels: [backend, 'forward', '1024'], suite: FA, backend, op: 'forward', size: 'N=1024'},
      {labels: [backend, 'forward', '4096'], suite: FA, backend, op: 'forward', size: 'N=4096'},
      {labels: [backend, 'forward causal', '4096'], suite: FA, backend, op: 'forward causal', size: 'N=4096'},
      {labels: [backend, 'fwd+bwd', '1024'], suite: FA, backend, op: 'forward+backward', size: 'N=1024'},
    ]),
    columns: [
      {header: 'naive tfjs `matMul(softmax(QK^T+mask))V`', variant: NAIVE, show: ms},
      {header: 'ours (SIMD kernel)', variant: FA_SIMD, show: msAndGflops},
      {header: 'speed-up', variant: FA_SIMD, show: faster({variant: NAIVE})},
      {header: 'JS kernel (forced) speed-up', variant: FA_JS, show: faster({variant: NAIVE})},
      {header: 'our blocked composite', variant: BLOCKED, show: ms},
      {header: 'peak MB naive', variant: NAIVE, show: peakMB},
      {header: 'peak MB ours (of which SIMD module)', variant: FA_SIMD,
       show: (r, f) => `${peakMB(r, f)} (${kernelMB(r, f)})`},
    ],
  },
  {
    id: 'flash-attention-simd',
    labelHeaders: ['backend', 'case', 'size'],
    rows: ['wasm', 'cpu'].flatMap((backend) => [
      ...[1024, 2048, 4096, 16384].map((n) => ({labels: [backend, 'forward', `N=${n}`], suite: SIMD, backend,
                                                 op: /^forward \(/, size: `N=${n}`})),
      {labels: [backend, 'fwd+bwd', 'N=1024'], suite: SIMD, backend, op: /^forward\+backward/, size: 'N=1024'},
    ]),
    columns: [
      {header: 'onnxruntime-web 1.30 MHA (1 thread)', variant: PEER, show: msAndGflops},
      {header: 'ours, SIMD wasm', variant: OURS, show: msAndGflops},
      {header: 'ours / onnxruntime-web', variant: OURS, show: faster({variant: PEER})},
      {header: 'ours / tfjs composite', variant: OURS, show: faster({variant: 'tfjs composite'})},
      {header: 'ours, JS kernel', variant: 'js kernel (ours)', show: ms},
      {header: 'tfjs composite', variant: 'tfjs composite', show: ms},
      {header: 'peak MB ours (of which SIMD module)', variant: OURS,
       show: (r, f) => `${peakMB(r, f)} (${kernelMB(r, f)})`},
    ],
  },
  {
    id: 'simd-decode',
    labelHeaders: ['backend', 'one decode step, Nq=1, Hq=Hkv=4, D=64'],
    rows: ['wasm', 'cpu'].map((backend) => ({labels: [backend, 'L=16384'], suite: SIMD, backend, op: /^decode/,
                                             size: 'L=16384'})),
    columns: [
      {header: 'JS kernel', variant: 'js kernel (ours)', show: ms},
      {header: 'SIMD kernel', variant: OURS, show: ms},
      {header: 'SIMD GB/s of K+V read', variant: OURS, show: gbps},
    ],
  },
  {
    id: 'flash-decode',
    labelHeaders: ['context 16384'],
    rows: [
      {labels: ['composite `softmax(q K^T) V` (baseline)'], variant: 'composite softmax(q K^T) V'},
      {labels: ['flashDecode, JS kernel'], variant: 'flashDecode (js kernel)'},
      {labels: ['flashDecode, SIMD wasm kernel (default)'], variant: 'flashDecode (simd-wasm kernel)'},
      {labels: ['flashAttention causal, no split (SIMD)'], variant: 'flashAttention causal (simd-wasm kernel, no split)'},
    ].map((r) => ({...r, suite: DEC, op: /^decode step/, size: 'len=16384'})),
    columns: ['cpu', 'wasm'].flatMap((backend) => [
      {header: `${backend} ms`, backend, show: ms},
      {header: `${backend} GB/s of K+V read`, backend, show: gbps},
    ]),
  },
  {
    id: 'kv-cache-append',
    labelHeaders: ['KVCache.append, 1 token, Hkv=2, D=64, maxLength=4096'],
    rows: [
      {labels: ['in place'], variant: /^in place/},
      {labels: ['reallocating (slice + concat)'], variant: /^reallocate/},
    ].map((r) => ({...r, suite: DEC, op: /^KVCache\.append/, size: 'maxLength=4096'})),
    columns: ['cpu', 'wasm'].map((backend) => ({header: `${backend}`, backend, show: ms})),
  },
  {
    id: 'lm-decode',
    labelHeaders: ['backend', 'context'],
    rows: ['wasm', 'cpu', 'tensorflow'].map((backend) => ({labels: [backend, '1024'], suite: LM, backend,
                                                           size: 'context=1024'})),
    columns: [
      {header: 'full recompute', variant: 'full recompute', show: ms},
      {header: 'KV cache + flashDecode', variant: 'KV cache + flashDecode', show: ms},
      {header: 'speed-up', variant: 'KV cache + flashDecode', show: faster({variant: 'full recompute'})},
    ],
  },
  {
    id: 'tensorflow',
    labelHeaders: ['op', 'size'],
    rows: [
      {labels: ['flashAttention forward', 'N=1024'], suite: FA, op: 'forward', size: 'N=1024'},
      {labels: ['flashAttention forward', 'N=4096'], suite: FA, op: 'forward', size: 'N=4096'},
      {labels: ['flashAttention forward causal', 'N=4096'], suite: FA, op: 'forward causal', size: 'N=4096'},
      {labels: ['flashAttention fwd+bwd', 'N=1024'], suite: FA, op: 'forward+backward', size: 'N=1024'},
      {labels: ['flashAttention fwd+bwd causal', 'N=1024'], suite: FA, op: 'forward+backward causal', size: 'N=1024'},
      {labels: ['flashAttention fwd+bwd causal', 'N=2048'], suite: FA, op: 'forward+backward causal', size: 'N=2048'},
      {labels: ['flashDecode step (Hq=8, Hkv=2, D=64)', 'len=1024'], suite: DEC, op: /^decode step/, size: 'len=1024'},
      {labels: ['flashDecode step', 'len=16384'], suite: DEC, op: /^decode step/, size: 'len=16384'},
      {labels: ['bsplineBasis fwd', '256 x 64, G=5'], suite: KAN, op: 'bsplineBasis fwd', size: 'batch=256 nIn=64 G=5'},
      {labels: ['bsplineBasis fwd+bwd', '64 x 784, G=5'], suite: KAN, op: 'bsplineBasis fwd+bwd',
       size: 'batch=64 nIn=784 G=5'},
    ].map((r) => ({...r, backend: 'tensorflow'})),
    columns: [
      {header: 'naive tfjs on tfjs-node', variant: NAIVE, show: ms},
      {header: 'composite on tfjs-node', variant: TF_COMPOSITE, show: ms},
      {header: 'our host kernel on tfjs-node', variant: TF_KERNEL, show: ms},
      {header: 'kernel vs composite', variant: TF_KERNEL, show: faster({variant: TF_COMPOSITE})},
      {header: 'peak MB composite / kernel', variant: TF_KERNEL, show: (r, find) => {
        const composite = find({variant: TF_COMPOSITE});
        return `${composite === undefined ? '-' : peakMB(composite, find)} / ${peakMB(r, find)}`;
      }},
    ],
  },
  {
    id: 'kan-basis',
    labelHeaders: ['backend', 'case', 'size'],
    rows: ['cpu', 'wasm'].flatMap((backend) => [
      {labels: [backend, 'bsplineBasis fwd', '256 x 64, G=5'], backend, op: 'bsplineBasis fwd',
       size: 'batch=256 nIn=64 G=5'},
      {labels: [backend, 'bsplineBasis fwd+bwd', '64 x 784, G=5'], backend, op: 'bsplineBasis fwd+bwd',
       size: 'batch=64 nIn=784 G=5'},
    ].map((r) => ({...r, suite: KAN}))),
    columns: [
      {header: 'composite', variant: 'composite', show: ms},
      {header: 'kernel', variant: 'kernel', show: ms},
      {header: 'speed-up', variant: 'kernel', show: faster({variant: 'composite'})},
    ],
  },
  {
    id: 'mamba-lm-decode',
    labelHeaders: ['backend', 'context'],
    rows: [1024, 4096, 16384].map((c) => ({labels: ['wasm', String(c)], suite: 'mamba-lm-decode', backend: 'wasm',
                                          size: `context=${c}`})),
    columns: [
      {header: 'transformer: KV cache + flashDecode', variant: /^transformer/, show: ms},
      {header: 'tokens/s', variant: /^transformer/, show: (r) => num(1000 / r.medianMs!)},
      {header: 'Mamba-2: recurrent step', variant: /^Mamba-2/, show: ms},
      {header: 'tokens/s ', variant: /^Mamba-2/, show: (r) => num(1000 / r.medianMs!)},
      {header: 'Mamba-2 vs transformer', variant: /^Mamba-2/, show: faster({variant: /^transformer/})},
    ],
  },
  {
    // PointNet++ ops at the issue's shapes and the full SSG classifier step: ours vs composite vs the PyTorch peer
    id: 'pointnet2',
    labelHeaders: ['case', 'size'],
    rows: [
      ['farthestPointSample', 'B=16 N=1024 -> 512'], ['ballQuery', 'B=16 N=1024 S=512 r=0.2 K=32'],
      ['groupPoints', 'B=16 N=1024 S=512 K=32 C=64'], ['threeNN+threeInterpolate', 'B=16 128 -> 1024 C=64'],
      ['SSG train step', 'batch=8 N=1024 (full SSG)'], ['SSG train step', 'batch=16 N=1024 (full SSG)'],
      ['SSG inference', 'batch=16 N=1024 (full SSG)'],
    ].map(([op, size]) => ({labels: [op, size], suite: 'pointnet2', op, size})),
    columns: [
      {header: 'composite (wasm)', backend: 'wasm', variant: 'composite (tf ops)', show: ms},
      {header: 'ours (cpu)', backend: 'cpu', variant: 'ours (kernel)', show: ms},
      {header: 'ours (wasm)', backend: 'wasm', variant: /^ours/, show: ms},
      {header: 'PyTorch (1 thread)', backend: 'cpu (python)', variant: /^PyTorch/, show: ms},
      {header: 'ours (wasm) vs PyTorch', backend: 'wasm', variant: /^ours/,
       show: faster({backend: 'cpu (python)', variant: /^PyTorch/})},
    ],
  },
  {
    id: 'ssd',
    labelHeaders: ['backend', 'case', 'L'],
    rows: ['cpu', 'wasm'].flatMap((backend) => ['forward', 'forward+backward'].flatMap((op) =>
        [1024, 4096, 16384].map((L) => ({labels: [backend, op, `${L}`], suite: SSD_SUITE, backend, op, size: `L=${L}`})))),
    columns: [
      {header: 'chunked tf composite', variant: 'chunked tf composite', show: ms},
      {header: 'ours (SIMD kernel)', variant: SSD_OURS, show: msAndGflops},
      {header: 'ours vs composite', variant: SSD_OURS, show: faster({variant: 'chunked tf composite'})},
      {header: 'plain-JS kernel', variant: 'ssd (plain-JS kernel forced)', show: ms},
      {header: 'naive scan (tf ops)', variant: /^naive sequential scan/, show: ms},
      {header: 'PyTorch 2.13 ssd_minimal, 1 thread', variant: /^PyTorch/, backend: 'cpu', show: msAndGflops},
      {header: 'ours vs PyTorch', variant: SSD_OURS, show: faster({variant: /^PyTorch/, backend: 'cpu'})},
      {header: 'peak MB composite', variant: 'chunked tf composite', show: peakMB},
      {header: 'peak MB ours (of which SIMD module)', variant: SSD_OURS,
       show: (r, f) => `${peakMB(r, f)} (${kernelMB(r, f)})`},
    ],
  },
  {
    id: 'ssd-long',
    labelHeaders: ['backend', 'case', 'L'],
    rows: ['forward', 'forward+backward'].map((op) => ({labels: ['cpu', op, '65536'], suite: SSD_SUITE, backend: 'cpu',
                                                        op, size: 'L=65536'})),
    columns: [
      {header: 'ours (SIMD kernel)', variant: SSD_OURS, show: msAndGflops},
      {header: 'peak MB (of which SIMD module)', variant: SSD_OURS,
       show: (r, f) => `${peakMB(r, f)} (${kernelMB(r, f)})`},
    ],
  },
  {
    id: 'ssd-crossover',
    labelHeaders: ['backend', 'case', 'L'],
    rows: ['cpu', 'wasm'].flatMap((backend) => ['forward', 'forward+backward'].flatMap((op) =>
        [128, 256, 512, 1024, 2048, 4096].map((L) => ({labels: [backend, op, `${L}`], suite: SSD_SUITE, backend,
                                         op: `crossover ${op}`, size: `L=${L}`})))),
    columns: [
      {header: 'flashAttention causal (SIMD)', variant: 'flashAttention causal', show: ms},
      {header: 'ssd (SIMD)', variant: SSD_OURS, show: ms},
      {header: 'ssd speed / flash speed', variant: SSD_OURS, show: faster({variant: 'flashAttention causal'})},
    ],
  },
  {
    // BFN losses: each kernel vs its composite (same backend, same run); K = 256 composites run where they fit
    id: 'bfn',
    labelHeaders: ['loss, pass', 'batch x dim, K'],
    rows: [784, 3072].flatMap((dim) => ['-', '2', '16', '256'].flatMap((K) =>
        (K === '-' ? ['bfnContinuousLoss'] : ['bfnDiscretisedLoss', 'bfnDiscreteLoss']).flatMap((loss) =>
            ['fwd', 'fwd+bwd'].map((pass) => {
              const size = K === '-' ? `64 x ${dim}` : `64 x ${dim} K=${K}`;
              return {labels: [`${loss} ${pass}`, size], suite: 'bfn', op: `${loss} ${pass}`, size};
            })))),
    columns: [
      ...['cpu', 'wasm'].flatMap((backend) => [
        {header: `${backend}: composite ms`, backend, variant: 'composite', show: (r: BenchRow) => num(r.medianMs!)},
        {header: `${backend}: kernel ms`, backend, variant: 'kernel', show: (r: BenchRow) => num(r.medianMs!)},
        {header: `${backend}: speed-up`, backend, variant: 'kernel', show: faster({variant: 'composite'})},
      ]),
      {header: 'peak MB (cpu): composite', backend: 'cpu', variant: 'composite', show: peakMB},
      {header: 'kernel', backend: 'cpu', variant: 'kernel', show: peakMB},
    ],
  },
];
