/**
 * The dependency rule (pipeline → assets → engine, io-managers → engine) is enforced by the linter, for
 * static and dynamic imports: each forbidden edge, written in a file of the layer, is an error.
 */
import { ESLint } from 'eslint';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const eslint = new ESLint({ cwd: root });

async function errorsOf(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return result!.messages.filter((m) => m.severity === 2).map((m) => m.ruleId ?? '');
}

const forbidden: [string, string][] = [
  ['engine', 'assets/definitions.ts'],
  ['engine', 'io-managers/local-fs.ts'],
  ['engine', 'pipeline/cli.ts'],
  ['assets', 'io-managers/local-fs.ts'],
  ['assets', 'pipeline/cli.ts'],
  ['io-managers', 'assets/sources.ts'],
  ['io-managers', 'pipeline/cli.ts'],
  ['pipeline', 'assets/definitions.ts'],
];

describe('layering', () => {
  it.each(forbidden)('%s/ importing %s is an error, statically and with import()', async (layer, target) => {
    const file = `${layer}/layer-probe.ts`;
    expect(await errorsOf(file, `import * as m from '../${target}';\nexport const x = m;\n`)).toContain(
      'no-restricted-imports',
    );
    expect(await errorsOf(file, `export const load = () => import('../${target}');\n`)).toContain(
      'no-restricted-syntax',
    );
  });

  it('the allowed edges are not errors', async () => {
    expect(await errorsOf('assets/layer-probe.ts', `export { sha256 } from '../engine/hash.ts';\n`)).toEqual(
      [],
    );
    expect(
      await errorsOf(
        'pipeline/layer-probe.ts',
        `export const l = () => import('../io-managers/local-fs.ts');\n`,
      ),
    ).toEqual([]);
    expect(
      await errorsOf('io-managers/layer-probe.ts', `export { sha256 } from '../engine/hash.ts';\n`),
    ).toEqual([]);
  });
});
