/**
 * One ListObjectsV2 page, with its XML read by a parser made for that one answer. The SDK's generic
 * XML and schema deserializer costs ≈ 25 µs per listed object (plus its garbage): 0.6–0.7 s of CPU for
 * the 26,280 keys of a year of hourly files, the largest part of a no-op run in S3 mode. The request
 * itself (signing, endpoint, retries, errors) stays the SDK's: a middleware placed right after the
 * SDK's deserializer (where the SDK's own `throw200ExceptionsMiddleware` sits) reads the body of a
 * successful answer, parses it here, and hands the deserializer an empty `ListBucketResult`. Any body
 * this parser does not recognise (an error document, an unexpected shape) is passed on untouched, and
 * the SDK parses it as before.
 */
import { ListObjectsV2Command, type ListObjectsV2CommandInput, type S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';

export interface ListPage {
  contents: { Key: string; Size: number; ETag: string }[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextContinuationToken: string | undefined;
  /** Who read the answer: this module's parser, or the SDK's (a body it did not recognise). */
  parsedBy: 'cityflow' | 'sdk';
}

type Stack = Parameters<ListObjectsV2Command['middlewareStack']['addRelativeTo']>;

const EMPTY_RESULT = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult></ListBucketResult>',
);

/** Sends one ListObjectsV2 request; its page comes from `parseListPage`, or from the SDK's parse. */
export async function listPage(
  client: S3Client,
  input: ListObjectsV2CommandInput,
  signal?: AbortSignal,
): Promise<ListPage> {
  const cmd = new ListObjectsV2Command(input);
  let fast: Omit<ListPage, 'parsedBy'> | null = null;
  const parser = (next: (args: unknown) => Promise<{ response: unknown }>) => async (args: unknown) => {
    fast = null; // a retried request parses its own answer
    const result = await next(args);
    const response = result.response as { statusCode?: number; body?: unknown };
    if (response.statusCode !== 200 || response.body === undefined) return result;
    const bytes = await bodyBytes(response.body);
    fast = parseListPage(bytes.toString('utf8'));
    response.body = Readable.from([fast ? EMPTY_RESULT : bytes]);
    return result;
  };
  cmd.middlewareStack.addRelativeTo(
    parser as unknown as Stack[0],
    {
      relation: 'after',
      toMiddleware: 'deserializerMiddleware',
      name: 'cityflowListPageParser',
      override: true,
    } as Stack[1],
  );
  const out = await client.send(cmd, { abortSignal: signal });
  if (fast) return { ...(fast as Omit<ListPage, 'parsedBy'>), parsedBy: 'cityflow' };
  return {
    contents: (out.Contents ?? []).flatMap((o) =>
      o.Key === undefined ? [] : [{ Key: o.Key, Size: o.Size ?? 0, ETag: o.ETag ?? '' }],
    ),
    commonPrefixes: (out.CommonPrefixes ?? []).flatMap((p) => (p.Prefix ? [p.Prefix] : [])),
    isTruncated: out.IsTruncated === true,
    nextContinuationToken: out.NextContinuationToken,
    parsedBy: 'sdk',
  };
}

async function bodyBytes(body: unknown): Promise<Buffer> {
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const chunks: Buffer[] = [];
  for await (const c of body as AsyncIterable<Uint8Array | string>)
    chunks.push(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  return Buffer.concat(chunks);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const QUOT = '&quot;';

/** XML text with its entity and character references replaced; null for a malformed reference. */
function unescapeXml(s: string): string | null {
  const amp = s.indexOf('&');
  if (amp === -1) return s;
  // An ETag as Ceph RGW sends it (`&quot;<hex>&quot;`): no regular expression per object.
  if (
    amp === 0 &&
    s.startsWith(QUOT) &&
    s.indexOf('&', QUOT.length) === s.length - QUOT.length &&
    s.endsWith(QUOT)
  )
    return `"${s.slice(QUOT.length, -QUOT.length)}"`;
  let bad = false;
  const out = s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);|&/g, (m, ref: string | undefined) => {
    if (ref === undefined) return ((bad = true), m);
    if (ref[0] !== '#') return ENTITIES[ref] ?? ((bad = true), m);
    const cp = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    if (!(cp >= 0 && cp <= 0x10ffff)) return ((bad = true), m);
    return String.fromCodePoint(cp);
  });
  return bad ? null : out;
}

const tagsOf = (tag: string) => ({ open: `<${tag}>`, close: `</${tag}>`, empty: `<${tag}/>` });
/** The markup of the tags read, built once. */
const TAGS: Record<string, { open: string; close: string; empty: string }> = Object.fromEntries(
  ['Key', 'Size', 'ETag', 'Prefix', 'IsTruncated', 'NextContinuationToken', 'EncodingType'].map((t) => [
    t,
    tagsOf(t),
  ]),
);

/** The text of `<tag>…</tag>` in `block` (one small element's XML), or undefined; null when malformed. */
function textOf(block: string, tag: string): string | null | undefined {
  const t = TAGS[tag] ?? tagsOf(tag);
  const open = block.indexOf(t.open);
  if (open === -1) return block.indexOf(t.empty) !== -1 ? '' : undefined; // `<Tag/>`: empty
  const start = open + t.open.length;
  const end = block.indexOf(t.close, start);
  if (end === -1) return null;
  const raw = block.slice(start, end);
  // Nested elements: not the shape S3 sends; leave it to the SDK.
  if (raw.indexOf('<') !== -1) return null;
  return unescapeXml(raw);
}

/**
 * The page in a ListObjectsV2 answer (`<ListBucketResult>`), or null when `xml` is anything else or
 * not in the plain shape S3 sends (the caller then lets the SDK parse it). Keys, prefixes and tokens
 * are unescaped (`&amp;`, `&#13;`…); ETags keep their quotes, as the SDK returns them.
 */
export function parseListPage(xml: string): Omit<ListPage, 'parsedBy'> | null {
  const root = xml.indexOf('<ListBucketResult');
  if (root === -1 || xml.indexOf('<Error>') !== -1) return null;
  const rootEnd = xml.indexOf('</ListBucketResult>', root);
  if (rootEnd === -1) return null;
  // A DOCTYPE, CDATA section or comment: not the plain shape S3 sends (keys never hold a raw `<`).
  if (xml.indexOf('<!') !== -1) return null;
  const contents: ListPage['contents'] = [];
  const commonPrefixes: string[] = [];
  // The page's own fields (IsTruncated, NextContinuationToken…): the text outside the blocks.
  let top = '';
  let pos = xml.indexOf('>', root) + 1;
  // The next block of each kind, searched again only once passed (one pass over the page).
  let c = xml.indexOf('<Contents>', pos);
  let p = xml.indexOf('<CommonPrefixes>', pos);
  for (;;) {
    const next = c === -1 ? p : p === -1 ? c : Math.min(c, p);
    if (next === -1 || next > rootEnd) {
      top += xml.slice(pos, rootEnd);
      break;
    }
    top += xml.slice(pos, next);
    if (next === c) {
      const end = xml.indexOf('</Contents>', c);
      if (end === -1) return null;
      const block = xml.slice(c + '<Contents>'.length, end);
      const key = textOf(block, 'Key');
      const size = textOf(block, 'Size');
      const etag = textOf(block, 'ETag');
      if (key == null || size === null || etag === null) return null;
      const n = size === undefined ? 0 : Number(size);
      if (!Number.isSafeInteger(n) || n < 0) return null;
      contents.push({ Key: key, Size: n, ETag: etag ?? '' });
      pos = end + '</Contents>'.length;
      c = xml.indexOf('<Contents>', pos);
    } else {
      const end = xml.indexOf('</CommonPrefixes>', p);
      if (end === -1) return null;
      const prefix = textOf(xml.slice(p + '<CommonPrefixes>'.length, end), 'Prefix');
      if (prefix === null) return null;
      if (prefix) commonPrefixes.push(prefix);
      pos = end + '</CommonPrefixes>'.length;
      p = xml.indexOf('<CommonPrefixes>', pos);
    }
    // A block opening inside the one just read: not the plain shape.
    if ((c !== -1 && c < pos) || (p !== -1 && p < pos)) return null;
  }
  const truncated = textOf(top, 'IsTruncated');
  const token = textOf(top, 'NextContinuationToken');
  if (truncated === null || token === null) return null;
  // An encoded listing (EncodingType=url) is never asked for here; refuse one rather than misread it.
  if (textOf(top, 'EncodingType') !== undefined) return null;
  const isTruncated = truncated === 'true';
  if (isTruncated && !token) return null;
  return { contents, commonPrefixes, isTruncated, nextContinuationToken: token || undefined };
}
