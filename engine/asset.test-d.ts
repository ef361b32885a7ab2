import { expectTypeOf, test } from 'vitest';
import { z } from 'zod';
import { defineAsset, defineSource, dep, self, type Partitioned } from './asset.ts';
import type { FileSet } from './io.ts';
import { daily, dayOffset, hourly, hourlyToDaily } from './partitions.ts';

const raw = defineSource({ key: 'raw', partitions: hourly(), locate: (p) => ({ prefix: p }) });
const counts = defineAsset({
  key: 'counts',
  partitions: daily(),
  schema: z.object({ total: z.number(), names: z.array(z.string()) }),
  deps: { files: dep(raw, hourlyToDaily()) },
  compute: (inputs) => {
    expectTypeOf(inputs.files).toEqualTypeOf<Partitioned<FileSet>[]>();
    return { total: inputs.files.length, names: [] };
  },
});

test('inputs are typed from the dependencies’ schemas', () => {
  defineAsset({
    key: 'report',
    partitions: daily(),
    schema: z.object({ total: z.number() }),
    deps: { counts, previous: self(dayOffset(-7)) },
    compute: (inputs) => {
      expectTypeOf(inputs.counts.total).toEqualTypeOf<number>();
      expectTypeOf(inputs.previous).toEqualTypeOf<{ total: number } | undefined>();
      return { total: inputs.counts.total };
    },
  });
});

test('a misspelled input or a wrong input type does not compile', () => {
  defineAsset({
    key: 'bad',
    partitions: daily(),
    schema: z.number(),
    deps: { counts },
    compute: (inputs) => {
      // @ts-expect-error — there is no input named "count"
      void inputs.count;
      // @ts-expect-error — counts.total is a number, not a string
      const s: string = inputs.counts.total;
      void s;
      return 1;
    },
  });
  defineAsset({
    key: 'bad2',
    schema: z.number(),
    deps: { counts },
    // @ts-expect-error — compute must return the schema's type
    compute: () => 'not a number',
  });
});
