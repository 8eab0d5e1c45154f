/**
 * PointNet++ benchmarks at the issue's shapes (B=16, N=1024): each op's kernel vs its composite of tf ops, and the
 * pure-PyTorch peer a CPU user runs (yanx27-style ops, one thread, timed inside a child Python process; skipped
 * with a reason when torch is absent); the SSG classifier's train step (batch 16, 1024 points, Adam) and inference,
 * ours vs PyTorch.
 */
import * as path from 'path';
import {spawnSync} from 'child_process';
import * as tf from '@tensorflow/tfjs';
import {withCompositeOnly} from '@tfjs-ext/core';
import {BenchRow, BenchSuite, runCase} from '@tfjs-ext/core/bench';
import {BALL_QUERY, ballQuery} from './ball_query/op';
import {FARTHEST_POINT_SAMPLE, farthestPointSample} from './fps/op';
import {GROUP_POINTS, groupPoints} from './group_points/op';
import {pointnet2ClsSSG} from './layers/models';
import {THREE_NN, threeNN} from './three_nn/op';
import {interpolationWeights, THREE_INTERPOLATE, threeInterpolate} from './three_interpolate/op';

interface PeerRow {
  op: string;
  medianMs: number;
  runs: number;
}

const notesSeen: string[] = [];
let peerCache: {version: string; rows: PeerRow[]} | null | undefined;

/** The issue's PyTorch figures (measured for the issue on this machine), for the targets when torch is absent. */
const ISSUE_TORCH_MS: Record<string, number> = {farthestPointSample: 138, ballQuery: 740, groupPoints: 81,
  'threeNN+threeInterpolate': 170, 'SSG train step': 8300, 'SSG inference': 3500};

function torchPeer(b: number, n: number, repeats: number, model: boolean): {version: string; rows: PeerRow[]} | null {
  const script = path.join(__dirname, 'bench', 'torch_peer.py');
  const res = spawnSync('python3', [script, JSON.stringify({B: b, N: n, repeats, model})],
                        {encoding: 'utf8', maxBuffer: 1 << 24});
  if (res.status !== 0 || res.error) {
    const why = res.error?.message ?? (res.stderr.includes('No module named') ?
        'torch is not installed (pip install torch from the local index)' : res.stderr.trim().split('\n').pop());
    notesSeen.push(`PyTorch peer skipped: ${why}`);
    return null;
  }
  const out = JSON.parse(res.stdout.trim().split('\n').pop()!) as {torch: string; threads: number; rows: PeerRow[]};
  return {version: `${out.torch}, ${out.threads} thread`, rows: out.rows};
}

function peerRow(op: string, size: string, peer: {version: string; rows: PeerRow[]} | null, baseMs: number | null): BenchRow[] {
  const p = peer?.rows.find((r) => r.op === op);
  if (p === undefined) return [];
  return [{op, backend: 'cpu (python)', size, variant: `PyTorch ${peer!.version} (yanx27 ops)`, baseline: false,
           medianMs: p.medianMs, minMs: null, runs: p.runs, gflops: null, gbps: null,
           speedup: baseMs === null ? null : baseMs / p.medianMs, peakMB: null}];
}

async function opCases(b: number, n: number, peer: {version: string; rows: PeerRow[]} | null,
                       repeats: number): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const s = n / 2, m = n / 8, c = 64;
  const xyz = tf.randomUniform([b, n, 3], -1, 1) as tf.Tensor3D;
  const centres = tf.slice(xyz, [0, 0, 0], [-1, s, -1]) as tf.Tensor3D;
  const features = tf.randomUniform([b, n, c]) as tf.Tensor3D;
  const idx = ballQuery(xyz, centres, 0.2, 32);
  const sparse = tf.slice(xyz, [0, 0, 0], [-1, m, -1]) as tf.Tensor3D;
  const sparseFeatures = tf.randomUniform([b, m, c]) as tf.Tensor3D;
  const interpolate = () => {
    const {dist2, idx: nn} = threeNN(xyz, sparse);
    const w = interpolationWeights(dist2);
    const out = threeInterpolate(sparseFeatures, nn, w);
    tf.dispose([dist2, nn, w]);
    return out;
  };
  const cases = [
    {op: 'farthestPointSample', size: `B=${b} N=${n} -> ${s}`, name: FARTHEST_POINT_SAMPLE,
     run: () => farthestPointSample(xyz, s)},
    {op: 'ballQuery', size: `B=${b} N=${n} S=${s} r=0.2 K=32`, name: BALL_QUERY, run: () => ballQuery(xyz, centres, 0.2, 32)},
    {op: 'groupPoints', size: `B=${b} N=${n} S=${s} K=32 C=${c}`, name: GROUP_POINTS, run: () => groupPoints(features, idx)},
    {op: 'threeNN+threeInterpolate', size: `B=${b} ${m} -> ${n} C=${c}`, name: [THREE_NN, THREE_INTERPOLATE],
     run: interpolate},
  ];
  for (const k of cases) {
    const names = Array.isArray(k.name) ? k.name : [k.name];
    const composite = () => names.reduceRight<() => tf.Tensor>((f, name) => () => withCompositeOnly(name, f), k.run)();
    const r = await runCase({op: k.op, size: k.size, baseline: {name: 'composite (tf ops)', run: composite},
                             candidates: [{name: 'ours (kernel)', run: k.run}]}, {warmup: 1, repeats});
    rows.push(...r, ...peerRow(k.op, k.size, peer, r[0].medianMs));
  }
  tf.dispose([xyz, centres, features, idx, sparse, sparseFeatures]);
  return rows;
}

/**
 * The full SSG's inference at batch `b` and its train step at each of `trainBatches`. On wasm the train step at
 * batch 16 (N = 1024) does not fit the 4 GiB wasm32 heap: tfjs's engine clones every tensor saved for the
 * backward pass and wasm's Identity copies the data (cpu only adds a reference), so the live tensors reached
 * 3.6 GB when malloc trapped; a trap leaves the heap unusable, so that case is not attempted there.
 */
async function modelCases(b: number, n: number, trainBatches: number[],
                          peer: {version: string; rows: PeerRow[]} | null): Promise<BenchRow[]> {
  const model = pointnet2ClsSSG(10);
  const optimizer = tf.train.adam(1e-3);
  const rows: BenchRow[] = [];
  const peerSize = `batch=${b} N=${n} (full SSG)`;  // the peer runs at batch b; its row keeps its own size
  const timed = async (op: string, size: string, run: () => tf.Tensor) => {
    const r = await runCase({op, size, baseline: {name: 'ours (kernels + tf ops)', run}, candidates: []},
                            {warmup: 0, repeats: 2, maxMsPerVariant: 1});
    rows.push(...r, ...peerRow(op, peerSize, peer, size === peerSize ? r[0].medianMs : null));
  };
  const x = tf.randomUniform([b, n, 3], -1, 1);
  await timed('SSG inference', `batch=${b} N=${n} (full SSG)`, () => model.predict(x) as tf.Tensor);
  x.dispose();
  for (const tb of trainBatches) {
    const xt = tf.randomUniform([tb, n, 3], -1, 1);
    const labels = new Float32Array(tb * 10);
    for (let i = 0; i < tb; i++) labels[i * 10 + (i % 10)] = 1;
    const y = tf.tensor2d(labels, [tb, 10]);
    await timed('SSG train step', `batch=${tb} N=${n} (full SSG)`, () => optimizer.minimize(() => {
      const logits = model.apply(xt, {training: true}) as tf.Tensor;
      return tf.mean(tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits)), -1))) as tf.Scalar;
    }, true) as tf.Scalar);
    tf.dispose([xt, y]);
  }
  optimizer.dispose();
  model.dispose();
  return rows;
}

const suite: BenchSuite = {
  name: 'pointnet2',
  backends: ['cpu', 'wasm', 'webgpu'],
  async run(backend, {quick, emulated}) {
    const [b, n] = emulated ? [2, 256] : quick ? [4, 512] : [16, 1024];
    // the peer runs once (in the first non-emulated pass); its op rows go with the cpu rows, its model rows with
    // ours, which run on wasm only (JS matmuls on cpu make a full SSG step take minutes; SwiftShader likewise)
    if (!emulated && peerCache === undefined) peerCache = torchPeer(b, n, quick ? 3 : 5, !quick);
    const peer = emulated ? null : peerCache ?? null;
    const rows = await opCases(b, n, backend === 'cpu' ? peer : null, emulated ? 3 : 5);
    if (!quick && !emulated && backend === 'wasm') {
      notesSeen.push(`SSG train step on wasm at batch ${b}: not run (does not fit the 4 GiB wasm32 heap: tfjs clones ` +
                     'every tensor saved for the backward pass and wasm\'s Identity copies it; 3.6 GB live when malloc ' +
                     'trapped); timed at batch 8 instead');
      rows.push(...await modelCases(b, n, [b / 2], peer));
    }
    return rows;
  },
  notes(rows) {
    const notes = [...new Set(notesSeen)];
    const peerMs = (op: string) => rows.find((r) => r.op === op && r.variant.startsWith('PyTorch'))?.medianMs ??
        ISSUE_TORCH_MS[op];
    const source = rows.some((r) => r.variant.startsWith('PyTorch')) ? 'PyTorch measured in this run' :
        "PyTorch figures from the issue";
    for (const [op, factor] of [['farthestPointSample', 10], ['ballQuery', 10], ['groupPoints', 10],
                                ['threeNN+threeInterpolate', 10], ['SSG train step', 2]] as const) {
      const ours = rows.filter((r) => r.op === op && r.variant.startsWith('ours') && r.medianMs !== null &&
                               !r.size.startsWith('B=2 ') && !r.size.startsWith('B=4 '));
      const best = ours.sort((a, c) => a.medianMs! - c.medianMs!)[0];
      if (best === undefined) continue;
      // a train step timed at a smaller batch is scaled to the peer's batch (per-cloud cost; an estimate)
      const batchOf = (size: string) => Number(/batch=(\d+)/.exec(size)?.[1] ?? NaN);
      const scale = op === 'SSG train step' && batchOf(best.size) < 16 ? 16 / batchOf(best.size) : 1;
      const ratio = peerMs(op) / (best.medianMs! * scale);
      const scaled = scale === 1 ? '' : ` at ${best.size.split(' ')[0]}, x${scale} for batch 16 = ${(best.medianMs! * scale).toFixed(0)} ms`;
      notes.push(`target ${op} >= ${factor}x PyTorch (one thread, ${source}): best ours ${best.medianMs!.toFixed(1)} ms ` +
                 `[${best.backend}]${scaled} vs ${peerMs(op).toFixed(1)} ms = ${ratio.toFixed(1)}x: ${ratio >= factor ? 'met' : 'NOT met'}`);
    }
    notes.push('This machine is shared (2 cores, several engineers\' jobs): absolute times vary with the load; ours ' +
               'and PyTorch ran minutes apart within one run.');
    return notes;
  },
};

export default suite;
