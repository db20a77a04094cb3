#!/usr/bin/env node
// `npm run mutate [module…]`: Stryker puts realistic bugs into a module's code one at a time and runs that
// module's suites against each; a mutant no test notices "survives". Not part of `npm test` (it takes long).
// Scores are recorded in test/README.md; the HTML report goes to reports/mutation/<module>.html.
import process from 'node:process';
import console from 'node:console';
import { Command } from 'commander';
import { Stryker } from '@stryker-mutator/core';
import { MODULES } from './modules.mjs';

const program = new Command('mutate')
  .description('mutation testing of the core modules (Stryker)')
  .argument('[modules...]', `modules to mutate: ${Object.keys(MODULES).join(', ')} (default: all)`)
  .option('-c, --concurrency <n>', 'test runner processes', (v) => Number.parseInt(v, 10), 2)
  .option('--fresh', 'ignore the incremental results of earlier runs')
  .option('--with-logs', 'mutate log lines too (by default they are ignored: test/mutate/ignore-logs.mjs)')
  .option('--files <globs>', 'mutate only these files (comma-separated), within the module')
  .option(
    '--tests <globs>',
    "judge with only these of the module's suites (comma-separated): those that reach the files mutated",
  )
  .parse();

const names = program.args.length > 0 ? program.args : Object.keys(MODULES);
const unknown = names.filter((n) => !(n in MODULES));
if (unknown.length > 0) program.error(`unknown module: ${unknown.join(', ')}`);
const opts = program.opts();

const rows = [];
for (const name of names) {
  const mod = MODULES[name];
  process.env.MUTATE_TESTS = opts.tests ?? mod.tests.join(',');
  const stryker = new Stryker({
    testRunner: 'vitest',
    plugins: ['@stryker-mutator/vitest-runner', './test/mutate/ignore-logs.mjs'],
    // Log lines are not judged (test/mutate/ignore-logs.mjs says why); `--with-logs` judges them too.
    ignorers: opts.withLogs ? [] : ['log-lines'],
    vitest: { configFile: 'test/mutate/vitest.config.ts', related: false },
    coverageAnalysis: 'perTest',
    mutate: opts.files ? opts.files.split(',') : mod.mutate,
    concurrency: opts.concurrency,
    incremental: !opts.fresh,
    incrementalFile: `reports/mutation/${name}.incremental.json`,
    // progress: a progress bar on a terminal, a line every 10 s in a log (how far a long run has got).
    reporters: ['html', 'json', 'clear-text', 'progress'],
    htmlReporter: { fileName: `reports/mutation/${name}.html` },
    jsonReporter: { fileName: `reports/mutation/${name}.json` },
    clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
    ignorePatterns: ['/reports', 'docs/screens', '.stryker-tmp', 'node_modules'],
    tempDirName: '.stryker-tmp',
    timeoutMS: 20_000,
    // The first run of every suite (coverage per test, one test at a time): the conform kit's suites alone take
    // over Stryker's default 5 minutes on a shared 2-core machine.
    dryRunTimeoutMinutes: 30,
    timeoutFactor: 2,
    thresholds: { high: 90, low: 80, break: null },
  });
  const results = await stryker.runMutationTest();
  const count = (...s) => results.filter((r) => s.includes(r.status)).length;
  const killed = count('Killed', 'Timeout');
  const survived = count('Survived', 'NoCoverage');
  const ignored = count('Ignored');
  const score = killed + survived === 0 ? 100 : (100 * killed) / (killed + survived);
  rows.push({
    module: name,
    mutants: results.length,
    ignored,
    killed,
    survived,
    score: score.toFixed(1) + '%',
  });
}
console.table(rows);
