import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAsset, defineSource, dep } from './asset.ts';
import { AssetGraph, DefinitionError } from './graph.ts';
import { daily, hourly, hourlyToDaily } from './partitions.ts';
import { parseSelection, resolveSelection, SelectionError } from './selection.ts';

const num = z.number();
const raw = defineSource({ key: 'raw', partitions: hourly(), locate: (p) => ({ prefix: `api/raw/${p}` }) });
const a = defineAsset({
  key: 'a',
  group: 'g1',
  partitions: daily(),
  schema: num,
  deps: { raw: dep(raw, hourlyToDaily()) },
  compute: (i) => i.raw.length,
});
const b = defineAsset({
  key: 'b',
  group: 'g1',
  tags: ['t'],
  partitions: daily(),
  schema: num,
  deps: { a },
  compute: (i) => i.a + 1,
});
const c = defineAsset({
  key: 'c',
  group: 'g2',
  partitions: daily(),
  schema: num,
  deps: { b },
  compute: (i) => i.b + 1,
});
const d = defineAsset({ key: 'd', group: 'g2', tags: ['t'], schema: num, compute: () => 1 });
const graph = new AssetGraph([raw, a, b, c, d]);

describe('selection language', () => {
  // raw → a → b → c, and d alone (b and d tagged t).
  const table: [string, string[]][] = [
    ['b', ['b']],
    ['key:b', ['b']],
    ['+b', ['a', 'b', 'raw']],
    ['b+', ['b', 'c']],
    ['+b+', ['a', 'b', 'c', 'raw']],
    ['group:g2', ['c', 'd']],
    ['tag:t', ['b', 'd']],
    ['a d', ['a', 'd']],
    ['c +a', ['a', 'c', 'raw']],
    ['*', ['a', 'b', 'c', 'd', 'raw']],
    // graph depth
    ['1+b', ['a', 'b']],
    ['2+c', ['a', 'b', 'c']],
    ['a+1', ['a', 'b']],
    ['1+b+1', ['a', 'b', 'c']],
    ['raw+2', ['a', 'b', 'raw']],
    ['@b', ['a', 'b', 'c', 'raw']],
    ['+tag:t', ['a', 'b', 'd', 'raw']],
    // intersection (comma) and union (space)
    ['+c,group:g1', ['a', 'b']],
    ['tag:t,group:g2', ['d']],
    ['+c,b+ d', ['b', 'c', 'd']],
    ['*,group:g1', ['a', 'b']],
  ];
  it.each(table)('%s selects %j', (expr, expected) => {
    expect([...resolveSelection(parseSelection(expr), graph)].sort()).toEqual(expected);
  });

  it.each([
    ['*', 'group:g1', ['c', 'd', 'raw']],
    ['+c', 'a+1', ['c', 'raw']],
    ['+c', '1+b', ['c', 'raw']],
    ['*', 'tag:t,group:g2', ['a', 'b', 'c', 'raw']],
    ['b', 'b', []],
  ])('%s excluding %s selects %j', (expr, exclude, expected) => {
    const sel = resolveSelection(parseSelection(expr), graph, undefined, parseSelection(exclude));
    expect([...sel].sort()).toEqual(expected);
  });

  it('status: terms use the given status function, and intersect like any term', () => {
    const statusOf = (k: string) => ({ stale: k !== 'a', missing: false, failed: k === 'c' });
    expect([...resolveSelection(parseSelection('status:failed'), graph, statusOf)]).toEqual(['c']);
    expect([...resolveSelection(parseSelection('status:stale,group:g1'), graph, statusOf)]).toEqual(['b']);
    // An empty intersection with a status: term is not a mistake (nothing is failed there).
    expect([...resolveSelection(parseSelection('status:failed,group:g1'), graph, statusOf)]).toEqual([]);
  });

  it('the old comma meaning (union) gets an error saying how to write a union', () => {
    expect(() => resolveSelection(parseSelection('a,d'), graph)).toThrow(
      /"a,d" selects no asset: a comma means intersection .* as in dbt.* separate them with spaces: "a d"/,
    );
    expect(() => parseSelection('c, +a')).toThrow(/a comma joins terms into an intersection/);
  });

  it.each([
    ['zz', /Unknown asset "zz"/],
    ['group:none', /No asset has group "none"/],
    ['status:old', /status must be stale, missing or failed/],
    ['foo:bar', /unknown selector "foo:"/],
    ['A+B', /not a valid selection term/],
    ['@b+', /@X cannot be combined with X\+/],
    ['b++', /not a valid selection term/],
    ['', /Empty selection/],
  ])('rejects %j with a helpful message', (expr, msg) => {
    expect(() => resolveSelection(parseSelection(expr), graph)).toThrow(SelectionError);
    expect(() => resolveSelection(parseSelection(expr), graph)).toThrow(msg);
  });
});

describe('graph validation', () => {
  it('names the whole cycle path', () => {
    // Build a cycle by hand-editing deps (the typed API cannot express one without forward references).
    const x = { ...d, key: 'x', deps: [{ name: 'z', assetKey: 'z', optional: false, self: false }] };
    const y = { ...d, key: 'y', deps: [{ name: 'x', assetKey: 'x', optional: false, self: false }] };
    const zz = { ...d, key: 'z', deps: [{ name: 'y', assetKey: 'y', optional: false, self: false }] };
    expect(() => new AssetGraph([x, y, zz])).toThrow(
      /Dependency cycle: (x → y → z → x|y → z → x → y|z → x → y → z)/,
    );
  });

  it('rejects unknown dependencies, naming the input', () => {
    expect(() => new AssetGraph([b])).toThrow(/"b" depends on unknown asset "a" \(input "a"\)/);
  });

  it('rejects duplicate keys and mismatched partitions without a mapping', () => {
    expect(() => new AssetGraph([d, d])).toThrow(/defined twice/);
    const bad = defineAsset({
      key: 'bad',
      partitions: daily(),
      schema: num,
      deps: { raw },
      compute: () => 1,
    });
    expect(() => new AssetGraph([raw, bad])).toThrow(DefinitionError);
    expect(() => new AssetGraph([raw, bad])).toThrow(/declare a mapping/);
  });

  it('orders assets topologically', () => {
    const order = graph.order;
    expect(order.indexOf('raw')).toBeLessThan(order.indexOf('a'));
    expect(order.indexOf('a')).toBeLessThan(order.indexOf('b'));
    expect(order.indexOf('b')).toBeLessThan(order.indexOf('c'));
  });
});
