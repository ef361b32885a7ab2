/**
 * The MongoDB side of chunked values (io-managers/chunking.ts): the index record is the main document
 * of the key, chunks are documents `{owner, tag, i, data: Binary, written_at}` of the chunks collection.
 */
import { Binary, type Collection, type Document } from 'mongodb';
import type { ChunkBackend, IndexFields, IndexRecord } from '../chunking.ts';
import { upsertOperation } from './bulk.ts';

/** Where one (asset, partition) lives. */
export interface DocKey {
  assetKey: string;
  /** The MongoDB collection name. */
  collection: string;
  filter: Record<string, string>;
  /** Extra identity fields written with the document. */
  identity: Document;
  payloadAttr: string;
  /** What its chunks are filed under. */
  owner: string;
  label: string;
}

export class MongoDocumentBackend implements ChunkBackend<DocKey> {
  constructor(
    private readonly coll: (name: string) => Collection<Document>,
    private readonly chunksName: string,
  ) {}

  private get chunks(): Collection<Document> {
    return this.coll(this.chunksName);
  }

  async readIndex(key: DocKey, fields?: readonly string[]): Promise<IndexRecord | undefined> {
    const projection = fields ? Object.fromEntries(fields.map((f) => [f, 1])) : undefined;
    const doc = await this.coll(key.collection).findOne(key.filter, projection ? { projection } : {});
    return (doc as IndexRecord | null) ?? undefined;
  }

  inlineValue(key: DocKey, record: IndexRecord): unknown {
    return record[key.payloadAttr];
  }

  /** One upsert by the natural key: `created_at` on insert only, the other layout's value field unset. */
  async writeIndex(key: DocKey, fields: IndexFields, inline?: { value: unknown }): Promise<void> {
    const now = new Date();
    const doc: Document = {
      ...key.filter,
      ...key.identity,
      asset_key: key.assetKey,
      timestamp: now.toISOString(),
      ...fields,
    };
    if (inline) doc[key.payloadAttr] = inline.value;
    const op = upsertOperation(doc, Object.keys(key.filter), now, inline ? [] : [key.payloadAttr]);
    await this.coll(key.collection).bulkWrite([op], { ordered: false });
  }

  async writeChunks(key: DocKey, tag: string, slices: Buffer[]): Promise<void> {
    const writtenAt = new Date();
    await this.chunks.bulkWrite(
      slices.map((s, i) => ({
        insertOne: { document: { owner: key.owner, tag, i, data: new Binary(s), written_at: writtenAt } },
      })),
      { ordered: false },
    );
  }

  async readChunks(key: DocKey, tag: string, count: number): Promise<Buffer[] | undefined> {
    const parts = await this.chunks
      .find({ owner: key.owner, tag }, { projection: { i: 1, data: 1 } })
      .sort({ i: 1 })
      .toArray();
    if (parts.length !== count || parts.some((p, i) => p.i !== i)) return undefined;
    return parts.map((p) => Buffer.from((p.data as Binary).buffer));
  }

  /** The rule of isStaleTag as one query: the age is the chunks' `written_at` (indexed with `owner`). */
  async deleteStaleChunks(
    key: DocKey,
    current: string | null,
    previous: string | null,
    cutoffMs: number,
  ): Promise<void> {
    const which: Document[] = [{ written_at: { $lt: new Date(cutoffMs) } }];
    if (previous) which.push({ tag: previous });
    await this.chunks.deleteMany({
      owner: key.owner,
      ...(current ? { tag: { $ne: current } } : {}),
      $or: which,
    });
  }

  refusesInline(err: unknown): boolean {
    return /larger than|maximum.*size|too large|BSONObjectTooLarge/i.test(
      `${(err as Error).name} ${(err as Error).message}`,
    );
  }

  describe(key: DocKey): string {
    return key.label;
  }
}
