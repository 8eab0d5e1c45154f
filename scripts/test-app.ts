/**
 * Chromium page tests of the demo app (examples/browser): every page on every backend Chromium offers here
 * (webgpu on SwiftShader, webgl, wasm) must load without console errors, run, and give checked output:
 * - Text generation: greedy text equals Node's (public/models/lm/expected.json, made by export-models.ts);
 *   an 80-token sample runs.
 * - Mamba-2: greedy text over the recurrent state equals Node's (public/models/mamba/expected.json); a short
 *   race of both LMs charts tokens/s against context length.
 * - KAN: the in-page fit reaches the page's stated test RMSE.
 * - SAC: the trained Pendulum policy keeps |angle| < 0.3 rad over the last 100 of 200 steps in 3 episodes (the
 *   seeds export-models.ts checks in Node); the MuJoCo inverted pendulum (mujoco-js in the page) under its trained
 *   actor keeps the pole within 0.2 rad for all 1000 steps of an episode (Gymnasium's length) in 3 episodes, as
 *   many steps as it held in Node (public/models/sac/invertedpendulum.json); "Train here" runs 150 steps
 *   (50 gradient steps) with finite losses.
 * - PointNet++: the classifier gets >= 90% of the page's 40 test shapes (the package's generator, an unseen
 *   seed) and classifies the bunny; the part-segmentation model labels >= 85% of the points of the page's 32
 *   composite shapes (tables, chairs, lamps) as the generator did (Node: 95.5%; one part everywhere scores 27.6%,
 *   each shape's most common true part 55.5%) and gives >= 99% of them the part Node's model predicts.
 * - BFN: 10-step sampling gives [32, 196] digits and [300, 2] points, the sampler's parameters change from the
 *   first update to the last, the final digits are binary (and not blank).
 * A screenshot of each page per backend goes to examples/browser/results/ (look at them);
 * `--update-screenshots` also refreshes the README's (examples/browser/screenshots/, webgl).
 *
 *   npm run test:app [-- --backends=webgl,wasm] [-- --pages=lm]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {chromium, Page} from 'playwright-core';
import {serveApp} from '../examples/browser/server';

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const backends = (flag('backends') ?? 'webgpu,webgl,wasm').split(',');
const pages = (flag('pages') ?? 'lm,mamba,kan,bfn,sac,pointnet').split(',');
const updateScreenshots = args.includes('--update-screenshots');
const resultsDir = path.join(root, 'examples/browser/results');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

type Check = (page: Page) => Promise<string>;
type Greedy = Array<{prompt: string; tokens: number; text: string; minMargin: number}>;

const readExpected = (model: string): Greedy =>
    JSON.parse(fs.readFileSync(path.join(root, `examples/browser/public/models/${model}/expected.json`), 'utf8'));
const expectedLM = readExpected('lm');
const expectedMamba = readExpected('mamba');

/** The page's `greedy(prompt, n)` action must reproduce Node's text for every expected prompt. */
async function checkGreedy(page: Page, expected: Greedy): Promise<void> {
  for (const e of expected) {
    const got = await page.evaluate(([p, n]) => (window as any).__demo.actions.greedy(p, n), [e.prompt, e.tokens]);
    if (got !== e.text) {
      throw new Error(`greedy text for ${JSON.stringify(e.prompt)} differs from Node's:\n  page: ` +
                      `${JSON.stringify(got)}\n  node: ${JSON.stringify(e.text)}`);
    }
  }
}

const checks: Record<string, Check> = {
  async lm(page) {
    await checkGreedy(page, expectedLM);
    await page.fill('#lm-count', '80');  // a short sample: SwiftShader's webgpu and webgl are slow
    const r = await page.evaluate(() => (window as any).__demo.actions.generate()) as {text: string; tokensPerSecond: number};
    if (!r || r.text.length < 80) throw new Error(`sampling produced ${r?.text.length ?? 0} characters`);
    return `greedy text equals Node's for ${expectedLM.length} prompts; 80-token sample at ` +
           `${r.tokensPerSecond.toFixed(1)} tokens/s`;
  },
  async mamba(page) {
    await checkGreedy(page, expectedMamba);
    await page.fill('#race-count', '24');  // short: SwiftShader's webgpu decodes a few tokens/s
    const r = await page.evaluate(() => (window as any).__demo.actions.race()) as
        {tokens: number; points: number; mambaPerSecond: number; transformerPerSecond: number};
    if (!r || r.tokens !== 24 || r.points !== 24 - 8 || !(r.mambaPerSecond > 0) || !(r.transformerPerSecond > 0)) {
      throw new Error(`the race charted ${JSON.stringify(r)}`);
    }
    return `greedy text over the recurrent state equals Node's for ${expectedMamba.length} prompts (smallest ` +
           `top-2 margin ${Math.min(...expectedMamba.map((e) => e.minMargin)).toFixed(3)}); race of 24 tokens: ` +
           `Mamba-2 ${r.mambaPerSecond.toFixed(1)}, transformer ${r.transformerPerSecond.toFixed(1)} tokens/s`;
  },
  async bfn(page) {
    await page.fill('#bfn-steps', '10');
    const r = await page.evaluate(() => (window as any).__demo.actions.sample()) as
        {digitShape: number[]; pointShape: number[]; frames: number; digitChange: number; pointChange: number;
         binary: boolean; onFraction: number; finite: boolean};
    const ok = r && r.digitShape.join() === '32,196' && r.pointShape.join() === '300,2' && r.frames === 10 &&
        r.digitChange > 0.05 && r.pointChange > 0.05 && r.binary && r.onFraction > 0.02 && r.onFraction < 0.6 && r.finite;
    if (!ok) throw new Error(`BFN sampling gave ${JSON.stringify(r)}`);
    return `digits [${r.digitShape}] binary (${(100 * r.onFraction).toFixed(1)}% on), points [${r.pointShape}]; ` +
           `mean change first -> last update: P(pixel) ${r.digitChange.toFixed(3)}, 2-D means ${r.pointChange.toFixed(3)}`;
  },
  async sac(page) {
    const cartPole = await page.evaluate(() => (window as any).__demo.actions.cartpole()) as
        {held: number[]; maxAngle: number[]; nodeHeld: number[]; steps: number; seconds: number};
    if (!cartPole || cartPole.held.length !== 3 || cartPole.steps !== 1000 || Math.min(...cartPole.nodeHeld) !== 1000 ||
        !cartPole.held.every((h) => h === 1000)) {
      throw new Error(`the MuJoCo cart-pole policy does not hold the pole for 1000 steps: ${JSON.stringify(cartPole)}`);
    }
    const policy = await page.evaluate(() => (window as any).__demo.actions.evaluate()) as {worst: number[]};
    if (!policy || policy.worst.length !== 3 || !policy.worst.every((w) => w < 0.3)) {
      throw new Error(`the trained policy does not hold the pole up: ${JSON.stringify(policy)}`);
    }
    await page.fill('#sac-train-steps', '150');  // 100 random steps, then 50 gradient steps
    const t = await page.evaluate(() => (window as any).__demo.actions.train()) as
        {steps: number; gradientSteps: number; points: number; losses: {criticLoss: number; actorLoss: number}};
    if (!t || t.steps !== 150 || t.gradientSteps !== 50 || t.points !== 15 ||
        !Number.isFinite(t.losses?.criticLoss) || !Number.isFinite(t.losses?.actorLoss)) {
      throw new Error(`training in the page gave ${JSON.stringify(t)}`);
    }
    return `pole held over the last 100 of 200 steps in 3 episodes (largest |angle| ` +
           `${Math.max(...policy.worst).toFixed(3)} rad); MuJoCo cart-pole within 0.2 rad for 1000 of 1000 steps in 3 ` +
           `episodes (largest |angle| ${Math.max(...cartPole.maxAngle).toFixed(3)} rad, ${cartPole.seconds.toFixed(1)} s); 150 training steps, critic ` +
           `loss ${t.losses.criticLoss.toFixed(3)}`;
  },
  async pointnet(page) {
    const bunny = await page.evaluate(() => (window as any).__demo.actions.showBunny()) as
        {prediction: string; parts: Record<string, number>};
    if (!/^bunny: \w+ [\d.]+%/.test(bunny?.prediction ?? '')) throw new Error(`the bunny was not classified: ${bunny?.prediction}`);
    const bunnyParts = Object.values(bunny.parts ?? {}).reduce((a, c) => a + c, 0);
    if (bunnyParts !== 256) throw new Error(`the bunny's parts cover ${bunnyParts} of its 256 points`);
    const r = await page.evaluate(() => (window as any).__demo.actions.classifyAll()) as
        {accuracy: number; count: number; nodeAccuracy: number};
    if (!r || r.count !== 40 || !(r.accuracy >= 0.9)) throw new Error(`PointNet++ test accuracy ${JSON.stringify(r)} < 90%`);
    const s = await page.evaluate(() => (window as any).__demo.actions.segmentAll()) as
        {accuracy: number; mIoU: number; agreement: number; count: number; points: number; nodeAccuracy: number};
    if (!s || s.count !== 32 || s.points !== 32 * 256 || !(s.accuracy >= 0.85) || !(s.agreement >= 0.99)) {
      throw new Error(`PointNet++ parts: ${JSON.stringify(s)} (needs >= 85% of points right, >= 99% as Node's)`);
    }
    // the last shown shape: a part-set lamp (the classifier has no lamp class), for the screenshot
    await page.evaluate(() => (window as any).__demo.actions.show('p1'));
    return `${(100 * r.accuracy).toFixed(1)}% of ${r.count} test shapes (Node ${(100 * r.nodeAccuracy).toFixed(1)}%); ` +
           `parts: ${(100 * s.accuracy).toFixed(1)}% of the points of ${s.count} composite shapes right (Node ` +
           `${(100 * s.nodeAccuracy).toFixed(1)}%), mIoU ${(100 * s.mIoU).toFixed(1)}%, ${(100 * s.agreement).toFixed(2)}% ` +
           `as Node's; ${bunny.prediction}`;
  },
  async kan(page) {
    const r = await page.evaluate(() => (window as any).__demo.actions.fit()) as
        {testRmse: number; target: number; formula: string; seconds: number};
    if (!r || !(r.testRmse < r.target)) throw new Error(`KAN test RMSE ${r?.testRmse} misses the target ${r?.target}`);
    return `test RMSE ${r.testRmse.toExponential(2)} < ${r.target} in ${r.seconds.toFixed(1)} s; formula ${r.formula}`;
  },
};

async function main(): Promise<void> {
  if (!fs.existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: apt-get install chromium`);
  const server = await serveApp({outDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-ext-app-'))});
  const browser = await chromium.launch({
    executablePath: chromiumPath, headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--no-first-run', '--disable-quic', '--enable-unsafe-webgpu', '--enable-unsafe-swiftshader',
           '--use-webgpu-adapter=swiftshader', '--ignore-gpu-blocklist'],
  });
  fs.mkdirSync(resultsDir, {recursive: true});
  let passed = 0, failed = 0;
  try {
    for (const backend of backends) {
      for (const id of pages) {
        const page = await browser.newPage({viewport: {width: 1280, height: 900}});
        const consoleErrors: string[] = [];
        page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
        page.on('pageerror', (e) => consoleErrors.push(e.message));
        const label = `${id} [${backend}]`;
        const t0 = Date.now();
        try {
          await page.goto(`${server.url}?backend=${backend}#/${id}`);
          await page.waitForFunction(() => (window as any).__demo?.ready || (window as any).__demo?.errors.length,
                                     undefined, {timeout: 120000});
          const state = await page.evaluate(() => (window as any).__demo);
          if (state.backend !== backend) throw new Error(`page runs on ${state.backend}, not ${backend}`);
          const summary = await checks[id](page);
          const errors = [...(await page.evaluate(() => (window as any).__demo.errors as string[])), ...consoleErrors];
          if (errors.length > 0) throw new Error(`errors in the page: ${errors.join(' | ')}`);
          console.log(`  ok   ${label}: ${summary} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
          passed++;
        } catch (e) {
          console.log(`  FAIL ${label}: ${e instanceof Error ? e.message : e}`);
          failed++;
        } finally {
          const shot = path.join(resultsDir, `${id}-${backend}.png`);
          await page.screenshot({path: shot, fullPage: true}).catch(() => {});
          if (updateScreenshots && backend === 'webgl') {
            fs.mkdirSync(path.join(root, 'examples/browser/screenshots'), {recursive: true});
            fs.copyFileSync(shot, path.join(root, 'examples/browser/screenshots', `${id}.png`));
          }
          await page.close();
        }
      }
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  console.log(`screenshots: ${path.relative(root, resultsDir)}/`);
  console.log(`app pages: ${passed} passed, ${failed} failed`);
  if (failed > 0 || passed === 0) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
