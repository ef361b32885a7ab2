/**
 * The version in CityFlow's package.json, for `pipeline --version`. Found by walking up from this
 * module: it runs from `pipeline/` (tsx) or from the compiled copy under
 * `node_modules/.cache/cityflow/<hash>/pipeline/`, whose nearest package.json named "cityflow" is the
 * project's own.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function packageVersion(from: string = import.meta.dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'cityflow' && pkg.version) return pkg.version;
    } catch {
      // No (readable) package.json here: look further up.
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}
