import {expect} from 'chai';
import {CLASSIFICATION_CLASSES, generatePointClouds, PART_CLASSES, PARTS_OF, sampleMesh} from './procedural';

describe('pointnet2: procedural data', () => {
  it('is reproducible from the seed and differs between seeds', () => {
    const a = generatePointClouds({count: 20, numPoints: 64, seed: 3});
    const b = generatePointClouds({count: 20, numPoints: 64, seed: 3});
    const c = generatePointClouds({count: 20, numPoints: 64, seed: 4});
    expect(Array.from(a.points)).to.deep.equal(Array.from(b.points));
    expect(Array.from(a.labels)).to.deep.equal(Array.from(b.labels));
    expect(Array.from(a.points)).to.not.deep.equal(Array.from(c.points));
  });

  it('is balanced over the 10 classes and normalised to the unit sphere (plus jitter)', () => {
    const set = generatePointClouds({count: 50, numPoints: 128, seed: 1});
    expect(CLASSIFICATION_CLASSES.length).to.equal(10);
    const counts = new Array(10).fill(0);
    set.labels.forEach((l) => counts[l]++);
    expect(counts).to.deep.equal(new Array(10).fill(5));
    for (let i = 0; i < set.count; i++) {
      let maxR = 0;
      const centroid = [0, 0, 0];
      for (let q = 0; q < 128; q++) {
        const o = (i * 128 + q) * 3;
        maxR = Math.max(maxR, Math.hypot(set.points[o], set.points[o + 1], set.points[o + 2]));
        for (let k = 0; k < 3; k++) centroid[k] += set.points[o + k] / 128;
      }
      expect(maxR).to.be.within(0.9, 1 + 3 * 0.01 * Math.sqrt(3) + 1e-6);
      expect(Math.hypot(...centroid)).to.be.below(0.02);
    }
  });

  it('labels the parts of composite objects with their category parts, all parts present', () => {
    const set = generatePointClouds({count: 12, numPoints: 512, seed: 5, classNames: PART_CLASSES,
                                     augment: {dropout: 0, occlusion: 0}});
    for (let i = 0; i < set.count; i++) {
      const parts = new Set(set.parts.subarray(i * 512, (i + 1) * 512));
      expect([...parts].sort()).to.deep.equal([...PARTS_OF[set.classNames[set.labels[i]]]].sort());
    }
  });

  it('samples a mesh on its triangles, area-weighted, normalised', () => {
    // two triangles in the plane z = 0: [0,1]^2 split on the diagonal, and a 3x larger one beside it
    const positions = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [2, 0, 0], [5, 0, 0], [2, 3, 0]];
    const cells = [[0, 1, 2], [3, 4, 5]];
    const pts = sampleMesh(positions, cells, 2000, 1);
    expect(Array.from(pts).filter((_, i) => i % 3 === 2).every((z) => Math.abs(z) < 1e-6)).to.equal(true);
    // the big triangle has 9x the area: ~90% of the points lie beyond the widest gap in x between the triangles
    const xs = Array.from(pts).filter((_, i) => i % 3 === 0).sort((a, b) => a - b);
    let cut = 0;
    for (let i = 1; i < xs.length; i++) if (xs[i] - xs[i - 1] > xs[cut + 1] - xs[cut]) cut = i - 1;
    const right = (xs.length - cut - 1) / xs.length;
    expect(right).to.be.within(0.85, 0.95);
    expect(Math.max(...Array.from({length: 2000}, (_, q) => Math.hypot(pts[q * 3], pts[q * 3 + 1])))).to.be.closeTo(1, 1e-6);
    expect(Array.from(sampleMesh(positions, cells, 50, 9))).to.deep.equal(Array.from(sampleMesh(positions, cells, 50, 9)));
  });
});
