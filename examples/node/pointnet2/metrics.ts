/** Metrics of the PointNet++ example: confusion matrix and ShapeNet-style part mIoU. */
import {PARTS_OF, PointCloudSet} from '@tfjs-ext/pointnet2';

/** `cm[true][predicted]` counts. */
export function confusionMatrix(pred: ArrayLike<number>, truth: ArrayLike<number>, k: number): number[][] {
  const cm = Array.from({length: k}, () => new Array<number>(k).fill(0));
  for (let i = 0; i < pred.length; i++) cm[truth[i]][pred[i]]++;
  return cm;
}

export function formatConfusion(cm: number[][], names: readonly string[]): string {
  const w = Math.max(...names.map((n) => n.length));
  const head = `${''.padEnd(w)} | ${names.map((n) => n.slice(0, 5).padStart(5)).join(' ')}`;
  return [head, ...cm.map((row, i) => `${names[i].padEnd(w)} | ${row.map((v) => String(v).padStart(5)).join(' ')}`)].join('\n');
}

/**
 * Part IoU per cloud averaged over its category's parts (a part absent from both prediction and truth counts as
 * IoU 1, as in the ShapeNet-part protocol); `instance` averages over clouds, `perClass` over each category.
 */
export function meanIoU(pred: ArrayLike<number>, set: PointCloudSet): {instance: number; perClass: Record<string, number>} {
  const n = set.numPoints;
  const sums: Record<string, [number, number]> = {};
  let total = 0;
  for (let c = 0; c < set.count; c++) {
    const name = set.classNames[set.labels[c]];
    const parts = PARTS_OF[name];
    let iouSum = 0;
    for (const p of parts) {
      let inter = 0, union = 0;
      for (let q = 0; q < n; q++) {
        const a = pred[c * n + q] === p, b = set.parts[c * n + q] === p;
        if (a && b) inter++;
        if (a || b) union++;
      }
      iouSum += union === 0 ? 1 : inter / union;
    }
    const iou = iouSum / parts.length;
    total += iou;
    const s = (sums[name] ??= [0, 0]);
    s[0] += iou;
    s[1]++;
  }
  const perClass = Object.fromEntries(Object.entries(sums).map(([k, [s, m]]) => [k, s / m]));
  return {instance: total / set.count, perClass};
}
