/**
 * Float64 oracle of the ball query, written from the spec: for each centre, scan the points in index order and
 * keep the first `nsample` whose squared distance is strictly below `radius^2`; pad the rest with the first hit.
 * A centre without any hit gets its nearest point (lowest index on ties) in every slot.
 */

/** xyz flat `[B, N, 3]`, newXyz flat `[B, S, 3]` -> indices flat `[B, S, nsample]`. */
export function ballQueryReference(xyz: ArrayLike<number>, newXyz: ArrayLike<number>, batch: number, n: number,
                                   s: number, radius: number, nsample: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < s; c++) {
      const centre = [0, 1, 2].map((k) => newXyz[(b * s + c) * 3 + k]);
      const dist2 = (j: number) => [0, 1, 2].reduce((acc, k) => acc + (xyz[(b * n + j) * 3 + k] - centre[k]) ** 2, 0);
      const hits: number[] = [];
      for (let j = 0; j < n && hits.length < nsample; j++) {
        if (dist2(j) < radius * radius) hits.push(j);
      }
      if (hits.length === 0) {
        let nearest = 0;
        for (let j = 1; j < n; j++) if (dist2(j) < dist2(nearest)) nearest = j;
        hits.push(nearest);
      }
      for (let k = 0; k < nsample; k++) out.push(k < hits.length ? hits[k] : hits[0]);
    }
  }
  return out;
}
