/** A bad input record, kept with where it came from, never silently dropped. */
export interface QuarantineRecord {
  /** Short machine-readable reason, e.g. `unparsable_date`, `negative_flow`, `invalid_json`. */
  reason: string;
  /** Source file key (relative path) or name. */
  file: string;
  /** 1-based line number in the file where the record starts (0 when the whole file is bad). */
  line: number;
  /** Human explanation. */
  detail?: string;
  /** The raw record text (truncated by the sink to a few KB). */
  raw?: string;
}

export type Reject = (record: QuarantineRecord) => void;

/** Collects rejects in memory with per-reason counts; the executor persists them next to the output. */
export class QuarantineCollector {
  readonly records: QuarantineRecord[] = [];
  readonly counts: Record<string, number> = {};
  /** Kept records are capped so a file of garbage cannot exhaust memory; counts stay exact. */
  constructor(private readonly maxKept = 10_000) {}

  readonly add: Reject = (record) => {
    this.counts[record.reason] = (this.counts[record.reason] ?? 0) + 1;
    if (this.records.length < this.maxKept) {
      const raw = record.raw && record.raw.length > 4096 ? record.raw.slice(0, 4096) + '…' : record.raw;
      this.records.push({ ...record, raw });
    }
  };

  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
}
