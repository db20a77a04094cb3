import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'demo-data/**',
      'coverage/**',
      'release-out/**',
      '.stryker-tmp/**',
      'reports/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': 'off',
    },
  },
  {
    // vitest's toMatchObject and objectContaining pass a RegExp property for any string at all (a RegExp has no
    // keys to compare): a message checked that way is not checked. expect.stringMatching(/…/) is.
    files: ['test/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'CallExpression[callee.property.name=/^(toMatchObject|objectContaining)$/] Property > Literal[regex]',
          message: 'a RegExp here matches any string; use expect.stringMatching(/…/)',
        },
      ],
    },
  },
);
