/**
 * Chromium page tests of the demo app (examples/browser): every page on every backend Chromium offers here
 * (webgpu on SwiftShader, webgl, wasm) must load without console errors, run, and give checked output:
 * - Text generation: greedy text equals Node's (public/models/lm/expected.json, made by export-models.ts);
 *   an 80-token sample runs.
 * - KAN: the in-page fit reaches the page's stated test RMSE.
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
const pages = (flag('pages') ?? 'lm,kan').split(',');
const updateScreenshots = args.includes('--update-screenshots');
const resultsDir = path.join(root, 'examples/browser/results');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

type Check = (page: Page) => Promise<string>;

const expectedLM: Array<{prompt: string; tokens: number; text: string; minMargin: number}> =
    JSON.parse(fs.readFileSync(path.join(root, 'examples/browser/public/models/lm/expected.json'), 'utf8'));

const checks: Record<string, Check> = {
  async lm(page) {
    for (const e of expectedLM) {
      const got = await page.evaluate(([p, n]) => (window as any).__demo.actions.greedy(p, n), [e.prompt, e.tokens]);
      if (got !== e.text) {
        throw new Error(`greedy text for ${JSON.stringify(e.prompt)} differs from Node's:\n  page: ` +
                        `${JSON.stringify(got)}\n  node: ${JSON.stringify(e.text)}`);
      }
    }
    await page.fill('#lm-count', '80');  // a short sample: SwiftShader's webgpu and webgl are slow
    const r = await page.evaluate(() => (window as any).__demo.actions.generate()) as {text: string; tokensPerSecond: number};
    if (!r || r.text.length < 80) throw new Error(`sampling produced ${r?.text.length ?? 0} characters`);
    return `greedy text equals Node's for ${expectedLM.length} prompts; 80-token sample at ` +
           `${r.tokensPerSecond.toFixed(1)} tokens/s`;
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
