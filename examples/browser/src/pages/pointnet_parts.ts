/**
 * The PointNet++ page's part segmentation, shared by the page and export-models.ts (in Node): the composite test
 * shapes (tables and chairs among the classification test shapes, plus a part-segmentation set of tables, chairs
 * and lamps from the package's generator, seeds training never used), per-point predictions (argmax over all 8
 * parts: the model gets no category, so none is given to it here either) and their scores against the
 * generator's labels. No DOM here, so Node can import it.
 */
import * as tf from '@tensorflow/tfjs';
import {generatePointClouds, PART_CLASSES, PART_NAMES, PARTS_OF, PointCloudSet} from '@tfjs-ext/pointnet2';

/** What export-models.ts writes to public/models/pointnet2/partseg.json. */
export interface PartSegMeta {
  source: string;
  numPoints: number;
  /** The part-segmentation test set: `generatePointClouds` over PART_CLASSES with this seed and count. */
  testSeed: number;
  testCount: number;
  /** Node's (cpu backend) scores on {@link compositeShapes}: per-point accuracy and instance mIoU. */
  nodeAccuracy: number;
  nodeMIoU: number;
  /** Node's predicted part of every point of every composite shape, one digit per point, a string per shape. */
  nodeParts: string[];
}

/** One colour per entry of PART_NAMES (table: blues, chair: greens/purple/gold, lamp: browns/pink). */
export const PART_COLORS = ['#2f6fdf', '#e0662d', '#1c9a55', '#9b3fc4', '#d4a017', '#6b4f2a', '#7f8c8d', '#e23b6d'];

/** A set of composite shapes: flat xyz `[count, numPoints, 3]`, their generator labels `[count, numPoints]`. */
export interface CompositeShapes {
  points: Float32Array;
  parts: Int32Array;
  /** The category of each shape (table, chair or lamp) and where it comes from. */
  names: string[];
  sources: Array<{set: 'classification' | 'parts'; index: number}>;
  count: number;
  numPoints: number;
}

/**
 * Every composite shape the page ships: the tables and chairs of the classification test set `cls`, then all of
 * the part test set `partSet` (whose classes are PART_CLASSES).
 */
export function compositeShapes(cls: PointCloudSet, partSet: PointCloudSet): CompositeShapes {
  if (cls.numPoints !== partSet.numPoints) {
    throw new Error(`compositeShapes: cls has ${cls.numPoints} points per cloud, partSet ${partSet.numPoints}`);
  }
  const n = cls.numPoints;
  const picked: Array<{set: PointCloudSet; i: number; tag: 'classification' | 'parts'}> = [];
  for (let i = 0; i < cls.count; i++) {
    if (cls.classNames[cls.labels[i]] in PARTS_OF) picked.push({set: cls, i, tag: 'classification'});
  }
  for (let i = 0; i < partSet.count; i++) picked.push({set: partSet, i, tag: 'parts'});
  const points = new Float32Array(picked.length * n * 3), parts = new Int32Array(picked.length * n);
  picked.forEach(({set, i}, k) => {
    points.set(set.points.subarray(i * n * 3, (i + 1) * n * 3), k * n * 3);
    parts.set(set.parts.subarray(i * n, (i + 1) * n), k * n);
  });
  return {points, parts, count: picked.length, numPoints: n,
          names: picked.map(({set, i}) => set.classNames[set.labels[i]]),
          sources: picked.map(({i, tag}) => ({set: tag, index: i}))};
}

/** The part-segmentation test set of the page (seeded; the example trained on seed 1 and tested on 1001). */
export function partTestSet(meta: Pick<PartSegMeta, 'numPoints' | 'testSeed' | 'testCount'>): PointCloudSet {
  return generatePointClouds({count: meta.testCount, numPoints: meta.numPoints, seed: meta.testSeed,
                              classNames: PART_CLASSES});
}

/** Predicted part (argmax over all of PART_NAMES) of every point of `count` clouds (flat xyz `[count, n, 3]`). */
export async function predictParts(model: tf.LayersModel, xyz: Float32Array, count: number, n: number):
    Promise<Int32Array> {
  const best = tf.tidy(() => tf.argMax(model.predict(tf.tensor3d(xyz, [count, n, 3])) as tf.Tensor, -1));  // [count, n]
  const values = await best.data();
  best.dispose();
  return Int32Array.from(values);
}

/**
 * Scores of predicted parts against the generator's labels: the fraction of points whose part is right, and the
 * instance mIoU (per shape, the IoU of each part of its category, absent-from-both counting 1 as in ShapeNet-part;
 * averaged over parts, then shapes). `names[c]` is shape c's category.
 */
export function partScores(pred: ArrayLike<number>, truth: ArrayLike<number>, names: readonly string[], n: number):
    {accuracy: number; mIoU: number} {
  let right = 0, iouTotal = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === truth[i]) right++;
  names.forEach((name, c) => {
    const parts = PARTS_OF[name];
    if (parts === undefined) throw new Error(`partScores: '${name}' is not one of ${Object.keys(PARTS_OF).join(', ')}`);
    let sum = 0;
    for (const p of parts) {
      let inter = 0, union = 0;
      for (let q = c * n; q < (c + 1) * n; q++) {
        const a = pred[q] === p, b = truth[q] === p;
        if (a && b) inter++;
        if (a || b) union++;
      }
      sum += union === 0 ? 1 : inter / union;
    }
    iouTotal += sum / parts.length;
  });
  return {accuracy: right / pred.length, mIoU: iouTotal / names.length};
}

/** Points per part (indices into PART_NAMES) of one cloud's predictions. */
export function partCounts(pred: ArrayLike<number>): number[] {
  const counts = new Array<number>(PART_NAMES.length).fill(0);
  for (let i = 0; i < pred.length; i++) counts[pred[i]]++;
  return counts;
}
