/**
 * Float64 oracle of the 3 nearest neighbours, from the spec: for each unknown point, the three known points with
 * the smallest squared distances, nearest first, ties to the lower index.
 */

/** unknown flat `[B, n, 3]`, known flat `[B, m, 3]` -> `{dist2, idx}` flat `[B, n, 3]`. */
export function threeNNReference(unknown: ArrayLike<number>, known: ArrayLike<number>, batch: number, n: number,
                                 m: number): {dist2: number[]; idx: number[]} {
  const dist2: number[] = [], idx: number[] = [];
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < n; i++) {
      const candidates = Array.from({length: m}, (_, j) => ({
        j,
        d: [0, 1, 2].reduce((acc, k) => acc + (unknown[(b * n + i) * 3 + k] - known[(b * m + j) * 3 + k]) ** 2, 0),
      }));
      candidates.sort((x, y) => x.d - y.d || x.j - y.j);
      for (const {j, d} of candidates.slice(0, 3)) {
        dist2.push(d);
        idx.push(j);
      }
    }
  }
  return {dist2, idx};
}
