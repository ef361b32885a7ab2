import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Files under `dir` may not import (statically or with `import()`) anything under the `forbidden` dirs. */
function layer(dir, forbidden, reason) {
  const why = `${dir}/ may not depend on ${forbidden.join(', ')}: ${reason}`;
  return {
    files: [`${dir}/**/*.ts`, `${dir}/**/*.tsx`, `${dir}/**/*.mts`],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: forbidden.map((f) => `**/${f}/**`), message: why }] },
      ],
      'no-restricted-syntax': [
        'error',
        ...forbidden.map((f) => ({
          selector: `ImportExpression > Literal[value=/(^|\\/)${f.replace('-', '\\-')}\\//]`,
          message: why,
        })),
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['node_modules', '.cityflow', 'output', 'coverage', '.cache', 'data', 'test/fixtures', 'dist'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The layers: pipeline → assets → engine, io-managers → engine. A project's config (cityflow.config.ts)
  // is where assets meet IO managers. Checked for static and dynamic imports alike.
  layer(
    'engine',
    ['assets', 'io-managers', 'pipeline'],
    'the engine knows nothing of storage, Paris or the CLI',
  ),
  layer(
    'assets',
    ['io-managers', 'pipeline'],
    'assets name a storage binding; the config decides what stands behind it',
  ),
  layer(
    'io-managers',
    ['assets', 'pipeline'],
    'IO managers are generic storage, they depend on the engine only',
  ),
  layer('pipeline', ['assets'], "the CLI runs any project's assets, brought by its cityflow.config.ts"),
);
