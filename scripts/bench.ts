/**
 * `npm run bench [-- --quick] [-- --only=name] [-- --backends=cpu,wasm] [-- --repeat=K]`: runs every package's
 * benchmark suites (`packages/<pkg>/src/**\/*.bench.ts`, default export a BenchSuite) on each available backend;
 * prints the tables and writes JSON + Markdown to bench/results/ (with --backends, the other backends' rows of the
 * file are kept). `--repeat=K` runs each suite K times per backend and keeps, per row, the median of the K medians
 * and each of them (the spread); then `npm run bench:readme` regenerates the README's tables.
 */
import '@tfjs-ext/core/node';  // Node loaders of wasm, webgpu (Dawn) and tensorflow; file:// routers
import * as fs from 'fs';
import * as path from 'path';
import {BackendName, initBackend} from '@tfjs-ext/core';
import {BenchRow, BenchSuite, machineDescription, markdownTable, mergeRepetitions, writeResults} from '@tfjs-ext/core/bench';

const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const quick = args.includes('--quick');
const only = flag('only')?.split(',');
const backendFilter = flag('backends')?.split(',') as BackendName[] | undefined;
const repeat = Number(flag('repeat') ?? 1);
if (!(Number.isInteger(repeat) && repeat >= 1)) throw new Error(`--repeat must be a positive integer, got ${flag('repeat')}`);

function findSuites(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, {withFileTypes: true})) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findSuites(p));
    else if (entry.name.endsWith('.bench.ts')) out.push(p);
  }
  return out;
}

/** Rows and device lines of an earlier result file for backends other than `rerun`. */
function previousRows(file: string, rerun: string[]): {rows: BenchRow[]; devices: string[]} {
  if (!fs.existsSync(file)) return {rows: [], devices: []};
  const old = JSON.parse(fs.readFileSync(file, 'utf8')) as {rows: BenchRow[]; notes?: string[]};
  // a peer measured in a backend's pass (e.g. 'cpu (python)' beside 'cpu') is rerun with that backend
  const rows = old.rows.filter((r) => !rerun.some((b) => r.backend === b || r.backend.startsWith(`${b} (`)));
  const backends = new Set(rows.map((r) => r.backend));
  const devices = (old.notes ?? []).filter((n) => [...backends].some((b) => n.startsWith(`${b}: `)));
  return {rows, devices};
}

async function main() {
  const root = path.resolve(__dirname, '..');
  const files = fs.readdirSync(path.join(root, 'packages')).flatMap((pkg) => {
    const src = path.join(root, 'packages', pkg, 'src');
    return fs.existsSync(src) ? findSuites(src) : [];
  });
  const machine = await machineDescription();
  console.log(`tfjs-ext benchmarks on ${machine}${quick ? ' (quick)' : ''}\n`);
  for (const file of files.sort()) {
    const suite: BenchSuite = (await import(file)).default;
    if (only !== undefined && !only.includes(suite.name)) continue;
    const rows: BenchRow[] = [];
    const devices: string[] = [];
    for (const backend of suite.backends) {
      if (backendFilter !== undefined && !backendFilter.includes(backend)) continue;
      const status = await initBackend(backend);
      if (!status.available) {
        console.log(`${suite.name} [${backend}]: skipped: ${status.reason}`);
        continue;
      }
      devices.push(`${backend}: ${status.device}${status.emulated ? ' (software emulation: says nothing about GPU speed)' : ''}`);
      console.log(`${suite.name} [${backend}] ...`);
      const repetitions: BenchRow[][] = [];
      for (let i = 0; i < repeat; i++) {
        if (repeat > 1) console.log(`  repetition ${i + 1} of ${repeat}`);
        repetitions.push(await suite.run(backend, {quick, emulated: status.emulated === true, repetition: i}));
      }
      const got = mergeRepetitions(repetitions);
      console.log(markdownTable(got) + '\n');
      rows.push(...got);
    }
    if (rows.length === 0) continue;
    const outDir = path.join(root, 'bench', 'results');
    if (backendFilter !== undefined) {
      // A run on some backends keeps the other backends' rows (and device lines) of the suite's result file.
      const kept = previousRows(path.join(outDir, `${suite.name}${quick ? '-quick' : ''}.json`), backendFilter);
      rows.unshift(...kept.rows);
      devices.unshift(...kept.devices);
    }
    const suiteNotes = suite.notes?.(rows) ?? [];
    const notes = [...devices, ...suiteNotes];
    await writeResults(outDir, {suite: quick ? `${suite.name}-quick` : suite.name, machine, notes}, rows);
    for (const n of suiteNotes) console.log(`- ${n}`);
    console.log(`wrote ${path.relative(root, outDir)}/${suite.name}${quick ? '-quick' : ''}.{json,md}\n`);
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
