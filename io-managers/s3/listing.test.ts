import { describe, expect, it } from 'vitest';
import { listingRootOf, PrefixListing } from './listing.ts';

describe('listingRootOf', () => {
  it('cuts before the first name=value segment', () => {
    expect(listingRootOf('raw/api/bikes/dt=2025-11-04/hour=02')).toBe('raw/api/bikes/');
    expect(listingRootOf('raw/api/bikes/dt=2025-11-04/hour=02/')).toBe('raw/api/bikes/');
    expect(listingRootOf('raw/batch')).toBe('raw/batch/');
    expect(listingRootOf('dt=2025-11-04/hour=02')).toBe('');
    expect(listingRootOf('')).toBe('');
  });
});

describe('PrefixListing', () => {
  const keys = [
    'r/a/dt=1/',
    'r/a/dt=1/h=0/x.csv',
    'r/a/dt=1/h=0/y.json',
    'r/a/dt=1/h=1/x.csv',
    'r/a/dt=10/h=0/x.csv',
    'r/a/dt=2/',
    'r/a/top.csv',
    'r/ab/other.csv',
  ];
  const listing = new PrefixListing(
    'r/a/',
    keys.map((key, i) => ({ key, size: i, etag: `"${i}"` })),
  );

  it('a folder: its own files only, or everything below when recursive; placeholders left out', () => {
    expect(listing.objectsIn('r/a/dt=1/h=0', false).map((o) => o.key)).toEqual([
      'r/a/dt=1/h=0/x.csv',
      'r/a/dt=1/h=0/y.json',
    ]);
    expect(listing.objectsIn('r/a/dt=1', false)).toEqual([]);
    expect(listing.objectsIn('r/a/dt=1', true).map((o) => o.key)).toEqual([
      'r/a/dt=1/h=0/x.csv',
      'r/a/dt=1/h=0/y.json',
      'r/a/dt=1/h=1/x.csv',
    ]);
    // `dt=1` is not a prefix of `dt=10`, nor `a` of `ab`.
    expect(listing.objectsIn('r/a', false).map((o) => o.key)).toEqual(['r/a/top.csv']);
    expect(listing.objectsIn('r/a/dt=3', true)).toEqual([]);
  });

  it('a folder whose files sort around its sub-folders: all its files, in key order', () => {
    const l = new PrefixListing(
      'r/',
      ['r/a.csv', 'r/b/', 'r/b/x.csv', 'r/c.csv', 'r/d/e/y.csv', 'r/z.csv'].map((key) => ({
        key,
        size: 1,
        etag: '"e"',
      })),
    );
    expect(l.objectsIn('r', false).map((o) => o.key)).toEqual(['r/a.csv', 'r/c.csv', 'r/z.csv']);
    expect(l.objectsIn('r/b/', false).map((o) => o.key)).toEqual(['r/b/x.csv']);
    expect(l.objectsIn('r/d', false)).toEqual([]);
    expect(l.objectsIn('r/d/e', false).map((o) => o.key)).toEqual(['r/d/e/y.csv']);
  });

  it('sub-folder names, placeholders included, as a delimiter listing gives them', () => {
    expect(listing.folderNames('r/a')).toEqual(['dt=1', 'dt=10', 'dt=2']);
    expect(listing.folderNames('r/a/dt=1/')).toEqual(['h=0', 'h=1']);
    expect(listing.covers('r/a/dt=7')).toBe(true);
    expect(listing.covers('r/ab')).toBe(false);
  });
});
