/**
 * Float64 oracle of farthest point sampling, written from the spec: start at index 0; keep, for every point, the
 * smallest squared distance to the points chosen so far; choose the point where that minimum is largest, the
 * lowest index on ties.
 */

/** `xyz` flat `[B, N, 3]` -> chosen indices flat `[B, npoint]`. */
export function farthestPointSampleReference(xyz: ArrayLike<number>, batch: number, n: number,
                                             npoint: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < batch; b++) {
    const point = (j: number) => [xyz[(b * n + j) * 3], xyz[(b * n + j) * 3 + 1], xyz[(b * n + j) * 3 + 2]];
    const chosen = [0];
    const minDist = new Array<number>(n).fill(Infinity);
    while (chosen.length < npoint) {
      const last = point(chosen[chosen.length - 1]);
      let best = -1, bestDist = -Infinity;
      for (let j = 0; j < n; j++) {
        const p = point(j);
        const d = (p[0] - last[0]) ** 2 + (p[1] - last[1]) ** 2 + (p[2] - last[2]) ** 2;
        minDist[j] = Math.min(minDist[j], d);
        if (minDist[j] > bestDist) {  // strict: the lowest index wins ties
          bestDist = minDist[j];
          best = j;
        }
      }
      chosen.push(best);
    }
    out.push(...chosen);
  }
  return out;
}
