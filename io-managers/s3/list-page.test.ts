import { describe, expect, it } from 'vitest';
import { parseListPage } from './list-page.ts';
import { before } from './listing.ts';

const page = (inner: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
  `<Name>b</Name><Prefix>r/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>${inner}</ListBucketResult>`;
const object = (key: string, size = 3, etag = '&quot;abc&quot;') =>
  `<Contents><Key>${key}</Key><LastModified>2025-01-01T00:00:00.000Z</LastModified><ETag>${etag}</ETag>` +
  `<Size>${size}</Size><Owner><ID>o</ID><DisplayName>o</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents>`;

describe('parseListPage', () => {
  it('reads keys, sizes, ETags (quotes kept), prefixes and the continuation token', () => {
    const xml = page(
      `<IsTruncated>true</IsTruncated>${object('r/a&amp;b &lt;c&gt; &#13;&#x1F600;.csv', 12)}${object('r/x.json', 0)}` +
        `<CommonPrefixes><Prefix>r/dt=1/</Prefix></CommonPrefixes><NextContinuationToken>t&amp;1</NextContinuationToken>`,
    );
    expect(parseListPage(xml)).toEqual({
      contents: [
        { Key: 'r/a&b <c> \r😀.csv', Size: 12, ETag: '"abc"' },
        { Key: 'r/x.json', Size: 0, ETag: '"abc"' },
      ],
      commonPrefixes: ['r/dt=1/'],
      isTruncated: true,
      nextContinuationToken: 't&1',
    });
  });

  it('ETags: the usual quoted form, an empty one, and one with other references inside', () => {
    const etags = [
      '&quot;&quot;',
      '&quot;a&amp;b&quot;',
      '&quot;x&quot;y&quot;',
      '&quot;',
      'W/&quot;z&quot;',
    ];
    const xml = page(
      `<IsTruncated>false</IsTruncated>${etags.map((e, i) => object(`r/${i}`, 1, e)).join('')}`,
    );
    expect(parseListPage(xml)?.contents.map((o) => o.ETag)).toEqual(['""', '"a&b"', '"x"y"', '"', 'W/"z"']);
    expect(
      parseListPage(page(`<IsTruncated>false</IsTruncated>${object('r/a', 1, '&quot;a&bad;&quot;')}`)),
    ).toBeNull();
  });

  it('an empty, untruncated page', () => {
    expect(parseListPage(page('<IsTruncated>false</IsTruncated>'))).toEqual({
      contents: [],
      commonPrefixes: [],
      isTruncated: false,
      nextContinuationToken: undefined,
    });
  });

  it('anything but the plain shape is left to the SDK (null)', () => {
    const ok = `<IsTruncated>false</IsTruncated>${object('r/a')}`;
    expect(parseListPage(page(ok))).not.toBeNull();
    for (const xml of [
      '<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>',
      page(`<IsTruncated>false</IsTruncated>${object('<![CDATA[r/a]]>')}`),
      page(`<!-- c -->${ok}`),
      page(`<IsTruncated>true</IsTruncated>${object('r/a')}`), // truncated without a token
      page(`<EncodingType>url</EncodingType>${ok}`),
      page(`<IsTruncated>false</IsTruncated>${object('r/a&bogus;')}`),
      page(`<IsTruncated>false</IsTruncated>${object('r/a & b')}`),
      page(`<IsTruncated>false</IsTruncated>${object('r/a', 3).replace('<Size>3', '<Size>-3')}`),
      page(`<IsTruncated>false</IsTruncated><Contents><Key>r/a</Key>`), // cut
      '<ListBucketResult><Contents><Key>r/a</Key>', // cut before the end
    ])
      expect(parseListPage(xml), xml).toBeNull();
  });
});

describe('before (S3 key order: UTF-8 bytes)', () => {
  it('matches a byte comparison, around surrogates too', () => {
    const alphabet = ['a', 'b', '/', '=', '\u00e9', '\uffff', '\ue000', '\ud7ff', '😀', '𝄞', ''];
    const pick = (n: number) =>
      Array.from({ length: n }, (_, i) => alphabet[(i * 7 + n * 3) % alphabet.length]);
    const strings: string[] = [];
    for (let n = 0; n < 6; n++)
      for (let s = 0; s < alphabet.length; s++) strings.push(pick(n).join('') + alphabet[s]);
    for (const a of strings)
      for (const b of strings)
        expect(before(a, b), `${a} < ${b}`).toBe(Buffer.compare(Buffer.from(a), Buffer.from(b)) < 0);
  });
});
