/**
 * Surface samplers of the procedural shapes: each shape is a list of patches (a sampler of uniform points on a
 * surface piece, its area, and its part label); points are drawn per patch in proportion to area.
 */

export type Rand = () => number;
export type Vec3 = [number, number, number];

export interface Patch {
  area: number;
  part: number;
  sample(r: Rand): Vec3;
}

function gaussian(r: Rand): number {
  return Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r());
}

function unitVector(r: Rand): Vec3 {
  const v: Vec3 = [gaussian(r), gaussian(r), gaussian(r)];
  const n = Math.hypot(...v) || 1;
  return [v[0] / n, v[1] / n, v[2] / n];
}

/** The 6 faces of an axis-aligned box centred at `c` with half extents `h`. */
export function boxPatches(c: Vec3, h: Vec3, part: number): Patch[] {
  const patches: Patch[] = [];
  for (let axis = 0; axis < 3; axis++) {
    const u = (axis + 1) % 3, v = (axis + 2) % 3;
    for (const sign of [-1, 1]) {
      patches.push({area: 4 * h[u] * h[v], part, sample: (r) => {
        const p: Vec3 = [0, 0, 0];
        p[axis] = c[axis] + sign * h[axis];
        p[u] = c[u] + (2 * r() - 1) * h[u];
        p[v] = c[v] + (2 * r() - 1) * h[v];
        return p;
      }});
    }
  }
  return patches;
}

/** Ellipsoid surface (a sphere scaled by `s`; density follows the scaling), centred at `c`. */
export function ellipsoidPatch(c: Vec3, s: Vec3, part: number): Patch {
  const p = 1.6;  // Thomsen's approximation of the ellipsoid area
  const area = 4 * Math.PI * (((s[0] * s[1]) ** p + (s[0] * s[2]) ** p + (s[1] * s[2]) ** p) / 3) ** (1 / p);
  return {area, part, sample: (r) => {
    const u = unitVector(r);
    return [c[0] + s[0] * u[0], c[1] + s[1] * u[1], c[2] + s[2] * u[2]];
  }};
}

/** A half sphere of radius `rad` at `c`, on the side `dir` (+1 / -1) of the z axis. */
export function hemispherePatch(c: Vec3, rad: number, dir: number, part: number): Patch {
  return {area: 2 * Math.PI * rad * rad, part, sample: (r) => {
    const u = unitVector(r);
    return [c[0] + rad * u[0], c[1] + rad * u[1], c[2] + rad * Math.abs(u[2]) * dir];
  }};
}

/** The side of a z-aligned cylinder (radius `rad`, from z0 to z1) around (cx, cy). */
export function cylinderSide(cx: number, cy: number, rad: number, z0: number, z1: number, part: number): Patch {
  return {area: 2 * Math.PI * rad * (z1 - z0), part, sample: (r) => {
    const t = 2 * Math.PI * r();
    return [cx + rad * Math.cos(t), cy + rad * Math.sin(t), z0 + (z1 - z0) * r()];
  }};
}

/** A disk of radius `rad` at height z around (cx, cy). */
export function disk(cx: number, cy: number, rad: number, z: number, part: number): Patch {
  return {area: Math.PI * rad * rad, part, sample: (r) => {
    const t = 2 * Math.PI * r(), q = rad * Math.sqrt(r());
    return [cx + q * Math.cos(t), cy + q * Math.sin(t), z];
  }};
}

/** The lateral surface of a z-aligned cone frustum from radius r0 at z0 to radius r1 at z1. */
export function coneSide(r0: number, z0: number, r1: number, z1: number, part: number): Patch {
  const slant = Math.hypot(r0 - r1, z1 - z0);
  return {area: Math.PI * (r0 + r1) * slant, part, sample: (r) => {
    // radius at a uniform-area position: linear in sqrt of a uniform variable between r0^2 and r1^2
    const q = Math.sqrt(r0 * r0 + (r1 * r1 - r0 * r0) * r());
    const f = r0 === r1 ? r() : (q - r0) / (r1 - r0);
    const t = 2 * Math.PI * r();
    return [q * Math.cos(t), q * Math.sin(t), z0 + f * (z1 - z0)];
  }};
}

/** A triangle. */
export function triangle(a: Vec3, b: Vec3, c: Vec3, part: number): Patch {
  const ab = [b[0] - a[0], b[1] - a[1], b[2] - a[2]], ac = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
  const cross = [ab[1] * ac[2] - ab[2] * ac[1], ab[2] * ac[0] - ab[0] * ac[2], ab[0] * ac[1] - ab[1] * ac[0]];
  return {area: Math.hypot(cross[0], cross[1], cross[2]) / 2, part, sample: (r) => {
    let u = r(), v = r();
    if (u + v > 1) { u = 1 - u; v = 1 - v; }
    return [a[0] + u * ab[0] + v * ac[0], a[1] + u * ab[1] + v * ac[1], a[2] + u * ab[2] + v * ac[2]];
  }};
}

/** A z-aligned torus (major radius R, minor radius rr), uniform in area by rejection. */
export function torusPatch(R: number, rr: number, part: number): Patch {
  return {area: 4 * Math.PI * Math.PI * R * rr, part, sample: (r) => {
    for (;;) {
      const u = 2 * Math.PI * r(), v = 2 * Math.PI * r();
      if (r() * (R + rr) <= R + rr * Math.cos(v)) {
        const q = R + rr * Math.cos(v);
        return [q * Math.cos(u), q * Math.sin(u), rr * Math.sin(v)];
      }
    }
  }};
}

/** Four legs (thin boxes) under a rectangle of half extents (hx, hy), from z0 down to z1. */
function legs(hx: number, hy: number, z0: number, z1: number, thick: number, part: number): Patch[] {
  const zc = (z0 + z1) / 2, hz = (z0 - z1) / 2;
  return [[-1, -1], [-1, 1], [1, -1], [1, 1]].flatMap(([sx, sy]) =>
      boxPatches([sx * (hx - thick), sy * (hy - thick), zc], [thick, thick, hz], part));
}

/** Part names of the composite shapes, indexed by the global part label. */
export const PART_NAMES = ['table top', 'table leg', 'chair seat', 'chair back', 'chair leg', 'lamp base', 'lamp pole',
  'lamp shade'] as const;

/** Shape builders by class name; `p` varies proportions within a class (values in [0, 1)). */
export const SHAPES: Record<string, (p: Rand) => Patch[]> = {
  sphere: () => [ellipsoidPatch([0, 0, 0], [1, 1, 1], 0)],
  cube: () => boxPatches([0, 0, 0], [1, 1, 1], 0),
  cylinder: (p) => {
    const rad = 0.45 + 0.15 * p(), h = 1;
    return [cylinderSide(0, 0, rad, -h, h, 0), disk(0, 0, rad, -h, 0), disk(0, 0, rad, h, 0)];
  },
  cone: (p) => {
    const rad = 0.6 + 0.3 * p();
    return [coneSide(rad, -1, 0, 1, 0), disk(0, 0, rad, -1, 0)];
  },
  torus: (p) => [torusPatch(0.75, 0.2 + 0.1 * p(), 0)],
  pyramid: (p) => {
    const h = 0.9 + 0.4 * p(), b = 1;
    const apex: Vec3 = [0, 0, h];
    const c: Vec3[] = [[-b, -b, -0.6], [b, -b, -0.6], [b, b, -0.6], [-b, b, -0.6]];
    return [0, 1, 2, 3].map((i) => triangle(c[i], c[(i + 1) % 4], apex, 0))
        .concat([triangle(c[0], c[1], c[2], 0), triangle(c[0], c[2], c[3], 0)]);
  },
  capsule: (p) => {
    const rad = 0.35 + 0.1 * p(), h = 0.8;
    return [cylinderSide(0, 0, rad, -h, h, 0), hemispherePatch([0, 0, h], rad, 1, 0),
            hemispherePatch([0, 0, -h], rad, -1, 0)];
  },
  ellipsoid: (p) => [ellipsoidPatch([0, 0, 0], [1, 0.55 + 0.1 * p(), 0.3 + 0.1 * p()], 0)],
  table: (p) => {
    const hx = 1, hy = 0.55 + 0.25 * p(), top = 0.5, height = 0.9 + 0.4 * p();
    return [...boxPatches([0, 0, top], [hx, hy, 0.05], 0), ...legs(hx, hy, top - 0.05, top - height, 0.06, 1)];
  },
  chair: (p) => {
    const hs = 0.5, seat = 0, legH = 0.7 + 0.2 * p(), backH = 0.8 + 0.3 * p();
    return [...boxPatches([0, 0, seat], [hs, hs, 0.05], 2),
            ...boxPatches([0, -hs + 0.05, seat + 0.05 + backH / 2], [hs, 0.05, backH / 2], 3),
            ...legs(hs, hs, seat - 0.05, seat - legH, 0.05, 4)];
  },
  lamp: (p) => {
    const baseR = 0.45 + 0.1 * p(), poleH = 1.1 + 0.3 * p(), shadeR = 0.55 + 0.15 * p();
    return [cylinderSide(0, 0, baseR, -1, -0.9, 5), disk(0, 0, baseR, -0.9, 5), disk(0, 0, baseR, -1, 5),
            cylinderSide(0, 0, 0.05, -0.9, -0.9 + poleH, 6),
            coneSide(shadeR, -0.9 + poleH - 0.1, 0.2, -0.9 + poleH + 0.45, 7)];
  },
};

/** Samples `n` points (flat xyz) and their part labels from patches, area-weighted. */
export function samplePatches(patches: Patch[], n: number, r: Rand): {xyz: Float64Array; parts: Int32Array} {
  const total = patches.reduce((a, q) => a + q.area, 0);
  const cum: number[] = [];
  let acc = 0;
  for (const q of patches) cum.push((acc += q.area / total));
  const xyz = new Float64Array(n * 3), parts = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    let k = 0;
    while (k < patches.length - 1 && cum[k] < u) k++;
    const v = patches[k].sample(r);
    xyz.set(v, i * 3);
    parts[i] = patches[k].part;
  }
  return {xyz, parts};
}
