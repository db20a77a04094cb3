// The vitest config Stryker runs (test/mutate/run.mjs): the main config, with only the chosen module's suites.
import { defineConfig } from 'vitest/config';
import base from '../../vitest.config.js';

const include = (process.env.MUTATE_TESTS ?? '').split(',').filter(Boolean);

export default defineConfig({ ...base, test: { ...base.test, include } });
