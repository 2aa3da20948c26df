import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** Node built-ins and I/O libraries: workflows must stay deterministic and free of I/O. */
const ioModules = [
  'kafkajs',
  'mysql2',
  'mysql2/*',
  'nodemailer',
  'react-email',
  '@react-email/*',
  'react',
  'react-dom',
  'pino',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
];
const nodeBuiltins = ['fs', 'path', 'os', 'crypto', 'net', 'http', 'https', 'child_process', 'timers', 'events'];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.stack/', '.react-email/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // A function that does not fit on a screen is several functions.
    files: ['src/**'],
    rules: { 'max-lines-per-function': ['error', { max: 80 }] },
  },
  {
    files: ['src/workflows/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Workflows are deterministic: no Node built-ins.' },
            { group: ioModules, message: 'Workflows do no I/O: call an activity instead.' },
            {
              group: ['../activities/*', '../activities'],
              allowTypeImports: true,
              message: 'Import activities as types only.',
            },
          ],
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflows are deterministic: no Node built-ins.' })),
        },
      ],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.mjs'], languageOptions: { globals: { console: 'readonly', process: 'readonly' } } },
  prettier,
);
