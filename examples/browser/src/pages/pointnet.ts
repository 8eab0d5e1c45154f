/**
 * PointNet++: a rotatable point cloud (three.js, drag to orbit) of procedural test shapes or the Stanford bunny
 * (npm `bunny`, sampled with the package's `sampleMesh`), classified live by the SSG classifier that
 * examples/node/pointnet2/train.ts trained (exported by export-models.ts). The test shapes come from the
 * package's seeded generator, with a seed the training never used.
 */
import * as tf from '@tensorflow/tfjs';
import {CLASSIFICATION_CLASSES, generatePointClouds, sampleMesh} from '@tfjs-ext/pointnet2';
import * as bunny from 'bunny';
import * as THREE from 'three';
import {action, demo, el, Page} from '../shell';

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
    show(xyz: Float32Array) {
      if (points !== null) {
        scene.remove(points);
        points.geometry.dispose();
      }
      const geometry = new THREE.BufferGeometry();
      geometry.setAttribute('position', new THREE.BufferAttribute(xyz, 3));
      // shade by height so the shape reads in a still image
      const colors = new Float32Array(xyz.length);
      for (let i = 0; i < xyz.length; i += 3) {
        const c = new THREE.Color().setHSL(0.6 - 0.15 * (xyz[i + 2] + 1) / 2, 0.7, 0.45);
        colors.set([c.r, c.g, c.b], i);
      }
      geometry.setAttribute('color', new THREE.BufferAttribute(colors, 3));
      points = new THREE.Points(geometry, new THREE.PointsMaterial({size: 0.06, vertexColors: true}));
      scene.add(points);
      render();
    },
  };
}

export const pointnetPage: Page = {
  id: 'pointnet',
  title: 'PointNet++',
  async mount(root) {
    const model = await tf.loadLayersModel('models/pointnet2/cls/model.json');  // SA layers registered by the import
    const meta = await (await fetch('models/pointnet2/meta.json')).json() as PointNetMeta;
    const test = generatePointClouds({count: meta.testCount, numPoints: meta.numPoints, seed: meta.testSeed});
    // The bunny is y-up: turn it z-up like the procedural shapes.
    const zUp = (xyz: Float32Array) => {
      for (let i = 0; i < xyz.length; i += 3) [xyz[i + 1], xyz[i + 2]] = [-xyz[i + 2], xyz[i + 1]];
      return xyz;
    };
    const bunnyCloud = zUp(sampleMesh(bunny.positions, bunny.cells, meta.numPoints, 7));  // what the model sees
    const bunnyDense = zUp(sampleMesh(bunny.positions, bunny.cells, 4096, 7));  // what the view draws
    const select = el('select', {id: 'pn-shape'},
        ...Array.from({length: test.count}, (_, i) => el('option', {value: String(i)},
            `test shape ${i + 1}: ${test.classNames[test.labels[i]]}`)),
        el('option', {value: 'bunny'}, 'the Stanford bunny'));
    const prediction = el('p', {class: 'stat', id: 'pn-prediction'});
    const allButton = el('button', {id: 'pn-all'}, `Classify all ${test.count}`);
    const allStatus = el('p', {class: 'stat', id: 'pn-all-status'});
    const viewBox = el('div');
    root.append(el('div', {class: 'card'},
        el('h2', {}, 'PointNet++ classification'),
        el('p', {class: 'muted'}, `An SSG PointNet++ (${model.countParams().toLocaleString()} parameters; ` +
           `farthest-point sampling, ball query and grouping are the fused ops) trained by ${meta.source} on ` +
           `${CLASSIFICATION_CLASSES.length} procedural shape classes, ${meta.numPoints} points per cloud. ` +
           `Drag to rotate, scroll to zoom. Part colouring needs the part-segmentation model, which is not shipped ` +
           `yet.`),
        el('div', {class: 'row'}, select, allButton), viewBox, prediction, allStatus,
        el('p', {class: 'muted'}, `The bunny is drawn with 4096 points; the classifier sees ${meta.numPoints} of them.`)));
    const view = await cloudView(viewBox);

    /** Class probabilities `[count, classes]` of `count` clouds (flat xyz). */
    const classify = async (xyz: Float32Array, count: number) => {
      const probs = tf.tidy(() => tf.softmax(model.predict(tf.tensor3d(xyz, [count, meta.numPoints, 3])) as tf.Tensor));
      const values = await probs.data() as Float32Array;
      probs.dispose();
      return values;
    };
    const showOne = async () => {
      const i = select.value === 'bunny' ? -1 : Number(select.value);
      const xyz = i < 0 ? bunnyCloud : test.points.slice(i * meta.numPoints * 3, (i + 1) * meta.numPoints * 3);
      view.show(i < 0 ? bunnyDense : xyz);
      const p = await classify(xyz, 1);
      const top = Array.from(p).map((v, c) => [v, c]).sort((a, b) => b[0] - a[0]).slice(0, 3);
      prediction.textContent = `${i < 0 ? 'bunny' : `true class ${test.classNames[test.labels[i]]}`}: ` +
          top.map(([v, c]) => `${CLASSIFICATION_CLASSES[c]} ${(100 * v).toFixed(1)}%`).join(', ');
    };
    select.onchange = () => void action('PointNet++ classify one cloud', showOne);
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
    allButton.onclick = () => void action('PointNet++ classify all', classifyAll);
    demo.actions.classifyAll = async () => { await action('PointNet++ classify all', classifyAll); return demo.result.pointnet; };
    demo.actions.showBunny = async () => { select.value = 'bunny'; await action('PointNet++ classify one cloud', showOne); return prediction.textContent; };
    await showOne();
  },
};
