/**
 * `npm run bench [-- --quick] [-- --only=name] [-- --backends=cpu,wasm]`: runs every package's benchmark suites
 * (`packages/<pkg>/src/**\/*.bench.ts`, default export a BenchSuite) on each available backend; prints the tables
 * and writes JSON + Markdown to bench/results/.
 */
import * as fs from 'fs';
import * as path from 'path';
import {BackendName, initBackend} from '@tfjs-ext/core';
import {BenchRow, BenchSuite, machineDescription, markdownTable, writeResults} from '@tfjs-ext/core/bench';

const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const quick = args.includes('--quick');
const only = flag('only')?.split(',');
const backendFilter = flag('backends')?.split(',') as BackendName[] | undefined;

function findSuites(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, {withFileTypes: true})) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findSuites(p));
    else if (entry.name.endsWith('.bench.ts')) out.push(p);
  }
  return out;
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
      const got = await suite.run(backend, {quick, emulated: status.emulated === true});
      console.log(markdownTable(got) + '\n');
      rows.push(...got);
    }
    if (rows.length === 0) continue;
    const suiteNotes = suite.notes?.(rows) ?? [];
    const notes = [...devices, ...suiteNotes];
    const outDir = path.join(root, 'bench', 'results');
    await writeResults(outDir, {suite: quick ? `${suite.name}-quick` : suite.name, machine, notes}, rows);
    for (const n of suiteNotes) console.log(`- ${n}`);
    console.log(`wrote ${path.relative(root, outDir)}/${suite.name}${quick ? '-quick' : ''}.{json,md}\n`);
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
