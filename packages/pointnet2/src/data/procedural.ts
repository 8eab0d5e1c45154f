/**
 * A seeded procedural point-cloud dataset (ModelNet and ShapeNet cannot be fetched here): surfaces and
 * composite objects sampled by area, with random rotation, anisotropic scale, jitter, point dropout and partial
 * occlusion, normalised to the unit sphere. Composite objects carry per-point part labels.
 */
import {rng} from '@tfjs-ext/core';
import {PART_NAMES, Rand, samplePatches, SHAPES} from './shapes';

/** The 10 classes of the classification set. */
export const CLASSIFICATION_CLASSES = ['sphere', 'cube', 'cylinder', 'cone', 'torus', 'pyramid', 'capsule',
  'ellipsoid', 'table', 'chair'] as const;
/** The composite objects of the part-segmentation set; their parts are {@link PART_NAMES}. */
export const PART_CLASSES = ['table', 'chair', 'lamp'] as const;
export {PART_NAMES};
/** Global part labels of each part-segmentation class. */
export const PARTS_OF: Record<string, number[]> = {table: [0, 1], chair: [2, 3, 4], lamp: [5, 6, 7]};

export interface AugmentOptions {
  /** Rotation: `'up'` a random turn about z plus a tilt up to `maxTilt` (default), `'so3'` any rotation, `'none'`. */
  rotation?: 'up' | 'so3' | 'none';
  /** Maximum tilt in radians for `'up'` (default 0.25). */
  maxTilt?: number;
  /** Per-axis scale range (default [0.8, 1.25]). */
  scale?: [number, number];
  /** Gaussian jitter sigma, clipped at 3 sigma (default 0.01). */
  jitter?: number;
  /** Up to this fraction of points dropped and replaced by copies of kept ones (default 0.2). */
  dropout?: number;
  /** Probability that a random plane cuts off up to 20% of the points (replaced likewise; default 0.3). */
  occlusion?: number;
}

export interface PointCloudSet {
  /** `[count, numPoints, 3]` flat, each cloud centred and scaled into the unit sphere. */
  points: Float32Array;
  /** `[count]` class indices. */
  labels: Int32Array;
  /** `[count, numPoints]` part labels (global indices into PART_NAMES; 0 for shapes without parts). */
  parts: Int32Array;
  count: number;
  numPoints: number;
  classNames: readonly string[];
}

function gaussian(r: Rand): number {
  return Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r());
}

/** A rotation matrix (row-major 3x3). */
function rotation(r: Rand, mode: 'up' | 'so3' | 'none', maxTilt: number): number[] {
  if (mode === 'none') return [1, 0, 0, 0, 1, 0, 0, 0, 1];
  const rz = (a: number) => [Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a), 0, 0, 0, 1];
  const rx = (a: number) => [1, 0, 0, 0, Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a)];
  const mul = (a: number[], b: number[]) => Array.from({length: 9}, (_, k) => {
    const i = Math.floor(k / 3), j = k % 3;
    return a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j];
  });
  if (mode === 'up') return mul(rz(2 * Math.PI * r()), rx((2 * r() - 1) * maxTilt));
  // so3: Z-X-Z Euler angles with a uniform axis (Arvo-style enough for augmentation)
  return mul(rz(2 * Math.PI * r()), mul(rx(Math.acos(2 * r() - 1)), rz(2 * Math.PI * r())));
}

/** Replaces the points where `drop` is true by copies of random kept points (keeps the count fixed). */
function refill(xyz: Float64Array, parts: Int32Array, drop: boolean[], r: Rand): void {
  const kept = drop.map((d, i) => (d ? -1 : i)).filter((i) => i >= 0);
  if (kept.length === 0) return;
  drop.forEach((d, i) => {
    if (!d) return;
    const src = kept[Math.floor(r() * kept.length)];
    xyz.copyWithin(i * 3, src * 3, src * 3 + 3);
    parts[i] = parts[src];
  });
}

/** Centres on the centroid and scales the farthest point to radius 1 (in place). */
export function normalizeToUnitSphere(xyz: Float64Array | Float32Array): void {
  const n = xyz.length / 3;
  const c = [0, 0, 0];
  for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) c[k] += xyz[i * 3 + k] / n;
  let maxR = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) xyz[i * 3 + k] -= c[k];
    maxR = Math.max(maxR, Math.hypot(xyz[i * 3], xyz[i * 3 + 1], xyz[i * 3 + 2]));
  }
  if (maxR > 0) for (let i = 0; i < xyz.length; i++) xyz[i] /= maxR;
}

/** One augmented, normalised cloud of class `name`. */
export function sampleShape(name: string, numPoints: number, r: Rand,
                            options: AugmentOptions = {}): {xyz: Float64Array; parts: Int32Array} {
  const build = SHAPES[name];
  if (build === undefined) throw new Error(`sampleShape: unknown shape '${name}'; known: ${Object.keys(SHAPES).join(', ')}`);
  const {rotation: rot = 'up', maxTilt = 0.25, scale = [0.8, 1.25], jitter = 0.01, dropout = 0.2,
         occlusion = 0.3} = options;
  const {xyz, parts} = samplePatches(build(r), numPoints, r);
  const s = [0, 1, 2].map(() => scale[0] + (scale[1] - scale[0]) * r());
  const m = rotation(r, rot, maxTilt);
  for (let i = 0; i < numPoints; i++) {
    const p = [xyz[i * 3] * s[0], xyz[i * 3 + 1] * s[1], xyz[i * 3 + 2] * s[2]];
    for (let k = 0; k < 3; k++) xyz[i * 3 + k] = m[k * 3] * p[0] + m[k * 3 + 1] * p[1] + m[k * 3 + 2] * p[2];
  }
  // partial occlusion: cut off the points beyond a random plane (at most ~20% of them)
  if (r() < occlusion) {
    const dir = [gaussian(r), gaussian(r), gaussian(r)];
    const proj = Array.from({length: numPoints}, (_, i) => dir[0] * xyz[i * 3] + dir[1] * xyz[i * 3 + 1] + dir[2] * xyz[i * 3 + 2]);
    const sorted = [...proj].sort((a, b) => a - b);
    const cut = sorted[Math.floor(numPoints * (1 - 0.2 * r())) - 1];
    refill(xyz, parts, proj.map((v) => v > cut), r);
  }
  if (dropout > 0) {
    const rate = dropout * r();
    refill(xyz, parts, Array.from({length: numPoints}, () => r() < rate), r);
  }
  normalizeToUnitSphere(xyz);
  for (let i = 0; i < xyz.length; i++) {
    xyz[i] += Math.max(-3 * jitter, Math.min(3 * jitter, jitter * gaussian(r)));
  }
  return {xyz, parts};
}

/**
 * A balanced, shuffled set of `count` clouds of `numPoints` points over `classNames`, reproducible from `seed`.
 *
 * @example
 * ```ts
 * const train = generatePointClouds({count: 2000, numPoints: 512, seed: 1});
 * const xyz = tf.tensor3d(train.points, [train.count, train.numPoints, 3]);
 * ```
 */
export function generatePointClouds({count, numPoints, seed, classNames = CLASSIFICATION_CLASSES, augment = {}}: {
  count: number; numPoints: number; seed: number; classNames?: readonly string[]; augment?: AugmentOptions;
}): PointCloudSet {
  const r = rng(seed);
  const points = new Float32Array(count * numPoints * 3), labels = new Int32Array(count);
  const parts = new Int32Array(count * numPoints);
  const order = Array.from({length: count}, (_, i) => i % classNames.length);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (let i = 0; i < count; i++) {
    const {xyz, parts: p} = sampleShape(classNames[order[i]], numPoints, r, augment);
    points.set(xyz, i * numPoints * 3);
    parts.set(p, i * numPoints);
    labels[i] = order[i];
  }
  return {points, labels, parts, count, numPoints, classNames};
}

/**
 * Area-weighted uniform sampling of a triangle mesh (`positions` [[x, y, z]], `cells` [[a, b, c]]) to `n`
 * points, normalised to the unit sphere. Seeded.
 *
 * @example
 * ```ts
 * import bunny from 'bunny';
 * const cloud = sampleMesh(bunny.positions, bunny.cells, 2048, 1);  // Float32Array [2048 * 3]
 * ```
 */
export function sampleMesh(positions: ReadonlyArray<ArrayLike<number>>, cells: ReadonlyArray<ArrayLike<number>>,
                           n: number, seed: number): Float32Array {
  const r = rng(seed);
  const cum = new Float64Array(cells.length);
  let total = 0;
  cells.forEach((c, i) => {
    const [a, b, d] = [positions[c[0]], positions[c[1]], positions[c[2]]];
    const u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]], v = [d[0] - a[0], d[1] - a[1], d[2] - a[2]];
    total += Math.hypot(u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]) / 2;
    cum[i] = total;
  });
  const out = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    const target = r() * total;
    let lo = 0, hi = cells.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] < target) lo = mid + 1; else hi = mid;
    }
    const c = cells[lo];
    const [a, b, d] = [positions[c[0]], positions[c[1]], positions[c[2]]];
    let s = r(), t = r();
    if (s + t > 1) { s = 1 - s; t = 1 - t; }
    for (let k = 0; k < 3; k++) out[i * 3 + k] = a[k] + s * (b[k] - a[k]) + t * (d[k] - a[k]);
  }
  normalizeToUnitSphere(out);
  return Float32Array.from(out);
}
