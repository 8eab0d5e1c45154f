// Mocha's spec reporter plus one plain closing line CI can read: "node: N passed, N failed, N skipped".
const Mocha = require('mocha');
const {EVENT_RUN_END} = Mocha.Runner.constants;

class SpecWithTotals extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats;
      const label = process.env.TFJS_EXT_RUN_LABEL || 'node';
      console.log(`${label}: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped`);
    });
  }
}
module.exports = SpecWithTotals;
