// Node test matrix (npm run test:node passes every package's *.test.ts): each backend suite from describeBackends (TFJS_EXT_BACKENDS
// narrows it). TypeScript runs through tsx; packages resolve to their sources via the tfjs-ext-source condition.
module.exports = {
  'node-option': ['conditions=tfjs-ext-source', 'import=tsx', 'max-old-space-size=8192'],
  extension: ['ts'],
  require: ['packages/core/src/testing/mocha_setup.ts'],
  reporter: './scripts/mocha-reporter.cjs',
  timeout: 60000,
  exit: true,
};
