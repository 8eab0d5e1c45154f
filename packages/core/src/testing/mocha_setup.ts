/**
 * Mocha root hooks for the Node run (Node only: it brings in `@tfjs-ext/core/node`): after all suites, print which backends ran (with their device) and which
 * were skipped, with the reason.
 */
import '../node';  // Node loaders of webgpu (Dawn), wasm and tensorflow, and file:// routers
import {backendsSeen} from './matrix';

export const mochaHooks = {
  afterAll(): void {
    const ran = [...backendsSeen.values()].filter((s) => s.available);
    const skipped = [...backendsSeen.values()].filter((s) => !s.available);
    console.log('\nBackends run: ' +
        (ran.map((s) => `${s.name} (${s.device}${s.emulated ? ', emulated' : ''})`).join(', ') || 'none'));
    for (const s of skipped) console.log(`Backend skipped: ${s.name}: ${s.reason}`);
  },
};
