// AssemblyScript source of the road-count row splitter (compiled to WebAssembly with SIMD by
// scripts/build-wasm.ts into split-rows-wasm.ts; loaded by split-rows.ts, used by scan-range.ts).
//
// Why WebAssembly: the JS scanner needed ≈ 24 native Buffer.indexOf calls per row (line end, CR,
// quotes, 14 separators); the JS <-> native call cost was the floor. Here 32 bytes at a time are
// compared with the four special bytes (separator, quote, CR, LF) and only the positions found are
// looked at, ≈ 100 ns per row (docs/performance.md has the figures).
//
// Only the regular form is split here: exactly `width` fields, quotes only around whole fields
// (doubled inside), the header's line ending on every line, no other CR. Any other line is flagged
// slow and re-split by the JS code in scan-range.ts, which decides the exact reason (irregular file,
// wrong column count, blank line...). A line always ends at its first LF, as in the JS code.

const QUOTE: i32 = 0x22;
const CR: i32 = 0x0d;
const NL: i32 = 0x0a;

// Results of the last call.
export let consumed: i32 = 0; // offset just past the last line break handled
export let newlines: i32 = 0; // line breaks in [from, consumed)

/**
 * Splits the lines of b[from, have) (b at `inPtr`, `from` a line start) into rows written at
 * `outPtr`, stride 4 + 3 * width i32: [start, lf, line index from `from`, slow, then per field:
 * start, end, quoted (0 no, 1 yes, 2 with doubled quotes)]. Empty regular lines are counted, not
 * written. Stops after the last complete line (or at `have` when `atEnd`: a last line without LF is
 * always written as slow, with lf = have), or once `maxRows` rows are written.
 * The 32 bytes after `have` must be addressable (their content is ignored).
 */
export function split(
  inPtr: usize,
  from: i32,
  have: i32,
  atEnd: i32,
  delim: i32,
  crlf: i32,
  width: i32,
  outPtr: usize,
  maxRows: i32,
): i32 {
  const stride = 4 + 3 * width;
  const vd = i8x16.splat(<i8>delim);
  const vq = i8x16.splat(<i8>QUOTE);
  const vc = i8x16.splat(<i8>CR);
  const vn = i8x16.splat(<i8>NL);

  let nRows = 0;
  let lines = 0;
  let rowStart = from;
  let fieldStart = from;
  let nf = 0;
  let inQuote = false;
  let closed = -1; // position of the closing quote of the current field, or -1
  let doubled = 0;
  let skip = -1; // position of the second quote of a doubled pair
  let slow = 0;
  let rec: usize = outPtr;
  let done = from; // consumed

  let i = from;
  while (i < have) {
    const p = inPtr + <usize>i;
    const a = v128.load(p);
    const c = v128.load(p, 16);
    let m: u32 =
      <u32>i8x16.bitmask(v128.or(v128.or(i8x16.eq(a, vd), i8x16.eq(a, vq)), v128.or(i8x16.eq(a, vc), i8x16.eq(a, vn)))) |
      (<u32>i8x16.bitmask(v128.or(v128.or(i8x16.eq(c, vd), i8x16.eq(c, vq)), v128.or(i8x16.eq(c, vc), i8x16.eq(c, vn)))) << 16);
    if (have - i < 32) m &= (<u32>1 << <u32>(have - i)) - 1;
    while (m != 0) {
      const pos = i + <i32>ctz(m);
      m &= m - 1;
      if (pos == skip) continue;
      const ch = <i32>load<u8>(inPtr + <usize>pos);
      if (ch == delim) {
        if (inQuote) continue;
        if (nf < width) {
          const f = rec + <usize>((4 + 3 * nf) << 2);
          if (closed >= 0) {
            if (pos != closed + 1) slow = 1;
            store<i32>(f, fieldStart + 1);
            store<i32>(f, closed, 4);
            store<i32>(f, 1 + doubled, 8);
          } else {
            store<i32>(f, fieldStart);
            store<i32>(f, pos, 4);
            store<i32>(f, 0, 8);
          }
        }
        nf++;
        fieldStart = pos + 1;
        closed = -1;
        doubled = 0;
      } else if (ch == QUOTE) {
        if (inQuote) {
          if (<i32>load<u8>(inPtr + <usize>pos + 1) == QUOTE && pos + 1 < have) {
            doubled = 1;
            skip = pos + 1;
          } else {
            inQuote = false;
            closed = pos;
          }
        } else if (pos == fieldStart && closed < 0) {
          inQuote = true;
        } else {
          slow = 1;
        }
      } else if (ch == CR) {
        if (inQuote || crlf == 0 || <i32>load<u8>(inPtr + <usize>pos + 1) != NL || pos + 1 >= have) slow = 1;
      } else {
        // NL: end of line (a quoted field never spans lines on the fast path).
        let eol = pos;
        if (crlf != 0) {
          if (pos > rowStart && <i32>load<u8>(inPtr + <usize>pos - 1) == CR) eol = pos - 1;
          else slow = 1;
        }
        if (inQuote) slow = 1;
        if (eol > rowStart || slow != 0) {
          if (nf < width) {
            const f = rec + <usize>((4 + 3 * nf) << 2);
            if (closed >= 0) {
              if (eol != closed + 1) slow = 1;
              store<i32>(f, fieldStart + 1);
              store<i32>(f, closed, 4);
              store<i32>(f, 1 + doubled, 8);
            } else {
              store<i32>(f, fieldStart);
              store<i32>(f, eol, 4);
              store<i32>(f, 0, 8);
            }
          }
          nf++;
          if (nf != width) slow = 1;
          store<i32>(rec, rowStart);
          store<i32>(rec, pos, 4);
          store<i32>(rec, lines, 8);
          store<i32>(rec, slow, 12);
          rec += <usize>(stride << 2);
          nRows++;
        }
        lines++;
        rowStart = pos + 1;
        fieldStart = rowStart;
        done = rowStart;
        nf = 0;
        inQuote = false;
        closed = -1;
        doubled = 0;
        slow = 0;
        if (nRows == maxRows) {
          consumed = done;
          newlines = lines;
          return nRows;
        }
      }
    }
    i += 32;
  }
  if (atEnd != 0 && rowStart < have) {
    // Last line without a line break: always re-split in JS (its end has no CR rule).
    store<i32>(rec, rowStart);
    store<i32>(rec, have, 4);
    store<i32>(rec, lines, 8);
    store<i32>(rec, 1, 12);
    nRows++;
    done = have;
  }
  consumed = done;
  newlines = lines;
  return nRows;
}
