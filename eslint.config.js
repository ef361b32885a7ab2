import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules', '.cityflow', 'output', 'coverage', '.cache', 'data', 'test/fixtures', 'dist'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The engine must not depend on the Paris pipeline nor on storage adapters.
    files: ['engine/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/assets/**', '**/io-managers/**', '**/pipeline/**'] },
      ],
    },
  },
  {
    files: ['assets/**/*.ts', 'io-managers/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/pipeline/**'] }] },
  },
);
