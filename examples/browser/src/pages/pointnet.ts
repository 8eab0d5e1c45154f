/**
 * PointNet++: a rotatable point cloud (three.js, drag to orbit) of procedural test shapes or the Stanford bunny
 * (npm `bunny`, sampled with the package's `sampleMesh`), classified live by the SSG classifier that
 * examples/node/pointnet2/train.ts trained, and, for the composite objects (tables, chairs, lamps) and the bunny,
 * coloured point by point by the part-segmentation model of `train.ts --task=partseg` (both exported by
 * export-models.ts). The test shapes come from the package's seeded generator, with seeds the training never used.
 */
import * as tf from '@tensorflow/tfjs';
import {CLASSIFICATION_CLASSES, generatePointClouds, PART_NAMES, PARTS_OF, sampleMesh} from '@tfjs-ext/pointnet2';
import * as bunny from 'bunny';
import * as THREE from 'three';
import {action, demo, el, Page} from '../shell';
import {compositeShapes, PART_COLORS, partCounts, PartSegMeta, partScores, partTestSet, predictParts} from './pointnet_parts';

interface PointNetMeta {
  source: string;
  numPoints: number;
  testSeed: number;
  testCount: number;
  nodeAccuracy: number;
}

/** A three.js view of one cloud: points in a unit sphere, z up, redrawn only when something changes. */
async function cloudView(parent: HTMLElement) {
  // three's addons are ES modules only: a dynamic import (esbuild bundles it into the app like the rest)
  const {OrbitControls} = await import('three/examples/jsm/controls/OrbitControls.js');
  const renderer = new THREE.WebGLRenderer({antialias: true, preserveDrawingBuffer: true});
  renderer.setSize(600, 400);
  renderer.setClearColor(0xffffff);
  parent.append(renderer.domElement);
  const scene = new THREE.Scene();
  const camera = new THREE.PerspectiveCamera(40, 600 / 400, 0.1, 20);
  camera.up.set(0, 0, 1);
  camera.position.set(2.4, -2.4, 1.6);
  const controls = new OrbitControls(camera, renderer.domElement);
  const render = () => renderer.render(scene, camera);
  controls.addEventListener('change', render);
  scene.add(new THREE.AxesHelper(0.4));
  let points: THREE.Points | null = null;
  return {
    /** Draws `xyz` (flat `[n, 3]`) coloured by `parts` (an index into PART_COLORS per point) or else by height. */
    show(xyz: Float32Array, parts?: ArrayLike<number>) {
      if (points !== null) {
        scene.remove(points);
        points.geometry.dispose();
      }
      const geometry = new THREE.BufferGeometry();
      geometry.setAttribute('position', new THREE.BufferAttribute(xyz, 3));
      // shade by height so the shape reads in a still image (or colour by part)
      const colors = new Float32Array(xyz.length);
      const partColors = PART_COLORS.map((c) => new THREE.Color(c));
      for (let i = 0; i < xyz.length; i += 3) {
        const c = parts ? partColors[parts[i / 3]] : new THREE.Color().setHSL(0.6 - 0.15 * (xyz[i + 2] + 1) / 2, 0.7, 0.45);
        colors.set([c.r, c.g, c.b], i);
      }
      geometry.setAttribute('color', new THREE.BufferAttribute(colors, 3));
      points = new THREE.Points(geometry, new THREE.PointsMaterial({size: 0.06, vertexColors: true}));
      scene.add(points);
      render();
    },
  };
}

/** For each point of `dense` (flat `[m, 3]`), the part of its nearest point in `sparse` (flat `[n, 3]`). */
function nearestParts(dense: Float32Array, sparse: Float32Array, parts: ArrayLike<number>): Int32Array {
  const out = new Int32Array(dense.length / 3);
  for (let i = 0; i < out.length; i++) {
    let best = 0, bestD = Infinity;
    for (let j = 0; j < sparse.length / 3; j++) {
      const dx = dense[3 * i] - sparse[3 * j], dy = dense[3 * i + 1] - sparse[3 * j + 1], dz = dense[3 * i + 2] - sparse[3 * j + 2];
      const d = dx * dx + dy * dy + dz * dz;
      if (d < bestD) [best, bestD] = [j, d];
    }
    out[i] = parts[best];
  }
  return out;
}

/** The part colours, one line per category. */
function partLegend(): HTMLElement {
  return el('div', {class: 'muted', id: 'pn-legend'}, ...Object.entries(PARTS_OF).map(([name, parts]) =>
    el('div', {}, `${name}: `, ...parts.map((p) => el('span', {style: `color:${PART_COLORS[p]};margin-right:10px`},
                                                      `\u25cf ${PART_NAMES[p]}`)))));
}

export const pointnetPage: Page = {
  id: 'pointnet',
  title: 'PointNet++',
  async mount(root) {
    const model = await tf.loadLayersModel('models/pointnet2/cls/model.json');  // SA layers registered by the import
    const partModel = await tf.loadLayersModel('models/pointnet2/partseg/model.json');  // SA and FP layers
    const meta = await (await fetch('models/pointnet2/meta.json')).json() as PointNetMeta;
    const partMeta = await (await fetch('models/pointnet2/partseg.json')).json() as PartSegMeta;
    const test = generatePointClouds({count: meta.testCount, numPoints: meta.numPoints, seed: meta.testSeed});
    const partSet = partTestSet(partMeta);
    const composite = compositeShapes(test, partSet);  // every table, chair and lamp the page ships
    const n = meta.numPoints;
    // The bunny is y-up: turn it z-up like the procedural shapes.
    const zUp = (xyz: Float32Array) => {
      for (let i = 0; i < xyz.length; i += 3) [xyz[i + 1], xyz[i + 2]] = [-xyz[i + 2], xyz[i + 1]];
      return xyz;
    };
    const bunnyCloud = zUp(sampleMesh(bunny.positions, bunny.cells, n, 7));  // what the model sees
    const bunnyDense = zUp(sampleMesh(bunny.positions, bunny.cells, 4096, 7));  // what the view draws
    const select = el('select', {id: 'pn-shape'},
        el('optgroup', {label: 'classification test shapes'}, ...Array.from({length: test.count}, (_, i) =>
            el('option', {value: String(i)}, `test shape ${i + 1}: ${test.classNames[test.labels[i]]}`))),
        el('optgroup', {label: 'part-segmentation test shapes'}, ...Array.from({length: partSet.count}, (_, i) =>
            el('option', {value: `p${i}`}, `part shape ${i + 1}: ${partSet.classNames[partSet.labels[i]]}`))),
        el('option', {value: 'bunny'}, 'the Stanford bunny'));
    const prediction = el('p', {class: 'stat', id: 'pn-prediction'});
    const partStatus = el('p', {class: 'stat', id: 'pn-parts'});
    const allButton = el('button', {id: 'pn-all'}, `Classify all ${test.count}`);
    const allStatus = el('p', {class: 'stat', id: 'pn-all-status'});
    const segButton = el('button', {id: 'pn-seg-all'}, `Segment all ${composite.count} composite shapes`);
    const segStatus = el('p', {class: 'stat', id: 'pn-seg-status'});
    const viewBox = el('div');
    root.append(el('div', {class: 'card'},
        el('h2', {}, 'PointNet++ classification and part segmentation'),
        el('p', {class: 'muted'}, `An SSG PointNet++ (${model.countParams().toLocaleString()} parameters; ` +
           `farthest-point sampling, ball query and grouping are the fused ops) trained by ${meta.source} on ` +
           `${CLASSIFICATION_CLASSES.length} procedural shape classes, ${n} points per cloud. Tables, chairs, ` +
           `lamps and the bunny are coloured by the part-segmentation model (${partModel.countParams().toLocaleString()} ` +
           `parameters; three-NN interpolation is its fused op too) trained by ${partMeta.source} on tables, chairs ` +
           `and lamps with ${PART_NAMES.length} parts; it is told no category: each point gets the most likely of ` +
           `all ${PART_NAMES.length} parts. Other shapes are shaded by height. Drag to rotate, scroll to zoom.`),
        el('div', {class: 'row'}, select, allButton, segButton), viewBox, partLegend(), prediction, partStatus,
        allStatus, segStatus,
        el('p', {class: 'muted'}, `The bunny is drawn with 4096 points, each coloured as the nearest of the ${n} ` +
           `the models see.`)));
    const view = await cloudView(viewBox);

    /** Class probabilities `[count, classes]` of `count` clouds (flat xyz). */
    const classify = async (xyz: Float32Array, count: number) => {
      const probs = tf.tidy(() => tf.softmax(model.predict(tf.tensor3d(xyz, [count, n, 3])) as tf.Tensor));
      const values = await probs.data() as Float32Array;
      probs.dispose();
      return values;
    };
    const showOne = async () => {
      const v = select.value, bunnyShown = v === 'bunny', fromParts = v.startsWith('p');
      const set = fromParts ? partSet : test, i = bunnyShown ? -1 : Number(fromParts ? v.slice(1) : v);
      const xyz = bunnyShown ? bunnyCloud : set.points.slice(i * n * 3, (i + 1) * n * 3);
      const name = bunnyShown ? 'bunny' : set.classNames[set.labels[i]];
      const p = await classify(xyz, 1);
      const top = Array.from(p).map((q, c) => [q, c]).sort((a, b) => b[0] - a[0]).slice(0, 3);
      prediction.textContent = `${bunnyShown ? 'bunny' : `true class ${name}`}: ` +
          top.map(([q, c]) => `${CLASSIFICATION_CLASSES[c]} ${(100 * q).toFixed(1)}%`).join(', ') +
          (name === 'lamp' ? ' (lamp is not one of the classifier\'s classes)' : '');
      if (!bunnyShown && !(name in PARTS_OF)) {
        view.show(xyz);
        partStatus.textContent = `parts: none (a ${name} is not a composite object)`;
        return;
      }
      const parts = await predictParts(partModel, xyz, 1, n);
      if (bunnyShown) {
        view.show(bunnyDense, nearestParts(bunnyDense, bunnyCloud, parts));
        const counts = partCounts(parts).map((c, q) => [c, q]).filter(([c]) => c > 0).sort((a, b) => b[0] - a[0]);
        partStatus.textContent = `parts, out of distribution (no bunny in training): ` +
            counts.map(([c, q]) => `${PART_NAMES[q]} ${c}`).join(', ') + ` of ${n} points`;
        demo.result.pointnetBunnyParts = Object.fromEntries(counts.map(([c, q]) => [PART_NAMES[q], c]));
        return;
      }
      view.show(xyz, parts);
      const {accuracy, mIoU} = partScores(parts, set.parts.subarray(i * n, (i + 1) * n), [name], n);
      partStatus.textContent = `parts: ${(100 * accuracy).toFixed(1)}% of the ${n} points as the generator ` +
          `labelled them (IoU averaged over the ${name}'s parts ${(100 * mIoU).toFixed(1)}%)`;
    };
    select.onchange = () => void action('PointNet++ classify and segment one cloud', showOne);
    const classifyAll = async () => {
      const p = await classify(test.points, test.count);
      const k = CLASSIFICATION_CLASSES.length;
      let correct = 0;
      for (let i = 0; i < test.count; i++) {
        let best = 0;
        for (let c = 1; c < k; c++) if (p[i * k + c] > p[i * k + best]) best = c;
        if (best === test.labels[i]) correct++;
      }
      const accuracy = correct / test.count;
      allStatus.textContent = `${correct} / ${test.count} test shapes classified correctly (${(100 * accuracy).toFixed(1)}%; ` +
          `Node: ${(100 * meta.nodeAccuracy).toFixed(1)}%) on ${tf.getBackend()}`;
      demo.result.pointnet = {accuracy, count: test.count, nodeAccuracy: meta.nodeAccuracy};
    };
    /** Parts of every composite shape in one batch, scored against the generator's labels and Node's predictions. */
    const segmentAll = async () => {
      const pred = await predictParts(partModel, composite.points, composite.count, n);
      const {accuracy, mIoU} = partScores(pred, composite.parts, composite.names, n);
      const node = partMeta.nodeParts.join('');
      let agree = 0;
      for (let q = 0; q < pred.length; q++) if (pred[q] === Number(node[q])) agree++;
      const agreement = agree / pred.length;
      segStatus.textContent = `${composite.count} composite shapes (${composite.names.filter((c) => c === 'lamp').length} ` +
          `lamps): ${(100 * accuracy).toFixed(1)}% of the points as the generator labelled them, instance mIoU ` +
          `${(100 * mIoU).toFixed(1)}% (Node: ${(100 * partMeta.nodeAccuracy).toFixed(1)}%, ` +
          `${(100 * partMeta.nodeMIoU).toFixed(1)}%); ${(100 * agreement).toFixed(2)}% of the points get the part ` +
          `Node predicts, on ${tf.getBackend()}`;
      demo.result.pointnetParts = {accuracy, mIoU, agreement, count: composite.count, points: pred.length,
                                   nodeAccuracy: partMeta.nodeAccuracy, nodeMIoU: partMeta.nodeMIoU};
    };
    allButton.onclick = () => void action('PointNet++ classify all', classifyAll);
    segButton.onclick = () => void action('PointNet++ segment all composite shapes', segmentAll);
    demo.actions.classifyAll = async () => { await action('PointNet++ classify all', classifyAll); return demo.result.pointnet; };
    demo.actions.segmentAll = async () => {
      await action('PointNet++ segment all composite shapes', segmentAll);
      return demo.result.pointnetParts;
    };
    demo.actions.showBunny = async () => {
      select.value = 'bunny';
      await action('PointNet++ classify and segment one cloud', showOne);
      return {prediction: prediction.textContent, parts: demo.result.pointnetBunnyParts};
    };
    demo.actions.show = async (value: string) => {
      select.value = value;
      await action('PointNet++ classify and segment one cloud', showOne);
      return {prediction: prediction.textContent, parts: partStatus.textContent};
    };
    await showOne();
  },
};
