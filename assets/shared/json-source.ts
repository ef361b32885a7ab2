/**
 * Reads a small JSON source file. Empty, invalid or wrongly shaped JSON becomes one line-0 reject; a file
 * the system cannot read at all (permissions, I/O) throws, naming the file, so only its asset fails.
 */
import { readFile } from 'node:fs/promises';
import type { Reject } from '../../engine/quarantine.ts';
import { unreadableFile, type RawFile } from './csv-source.ts';

export async function readJsonFile(
  file: RawFile,
  reject: Reject,
): Promise<{ ok: true; value: unknown; text: string } | { ok: false }> {
  let text: string;
  try {
    text = await readFile(file.path, 'utf8');
  } catch (e) {
    throw unreadableFile(file, e);
  }
  if (text.trim() === '') {
    reject({ reason: 'empty_file', file: file.key, line: 0, detail: 'file is empty' });
    return { ok: false };
  }
  const deep = tooDeep(text, MAX_JSON_DEPTH);
  if (deep !== null) {
    reject({
      reason: 'too_deeply_nested',
      file: file.key,
      line: deep,
      detail: `JSON nested more than ${MAX_JSON_DEPTH} levels deep (from line ${deep}): not read`,
      raw: text.slice(0, 200),
    });
    return { ok: false };
  }
  try {
    return { ok: true, value: JSON.parse(text.replace(/^\uFEFF/, '')) as unknown, text };
  } catch (e) {
    reject({
      reason: 'invalid_json',
      file: file.key,
      line: 0,
      detail: (e as Error).message,
      raw: text.slice(0, 200),
    });
    return { ok: false };
  }
}

/** Deeper than any record of these sources (a few levels): walking such a value overflows the stack. */
export const MAX_JSON_DEPTH = 256;

/** 1-based line where `[`/`{` nesting first exceeds `max` (strings skipped), or null. One pass. */
export function tooDeep(text: string, max: number): number | null {
  let depth = 0;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    else if (c === 34) {
      // skip the string (escapes included); a string never holds a raw line break in valid JSON
      for (i++; i < text.length && text.charCodeAt(i) !== 34; i++) if (text.charCodeAt(i) === 92) i++;
    } else if (c === 91 || c === 123) {
      if (++depth > max) return line;
    } else if (c === 93 || c === 125) depth--;
  }
  return null;
}

/** Rejects the whole file (line 0) for a JSON document of an unexpected shape. */
export function rejectShape(file: RawFile, reject: Reject, detail: string): void {
  reject({ reason: 'unexpected_shape', file: file.key, line: 0, detail });
}

interface Frame {
  kind: 'obj' | 'arr';
  /** Key path from the root, null once the path goes through an array element. */
  path: string[] | null;
  key: string | null;
  expectKey: boolean;
  awaitingValue: boolean;
}

const samePath = (a: string[] | null, b: readonly string[]): boolean =>
  a !== null && a.length === b.length && a.every((k, i) => k === b[i]);

/**
 * 1-based start line of each element of the array found at `path` (object keys from the root; `[]` for
 * a root array), so per-record rejects of pretty-printed JSON point at the right line. One lexical pass,
 * no allocation per element; assumes `text` is valid JSON (call after JSON.parse succeeded).
 */
export function arrayElementLines(text: string, path: readonly string[]): number[] {
  const out: number[] = [];
  const stack: Frame[] = [];
  let line = 1;
  const valueStarts = () => {
    const top = stack.at(-1);
    if (top && top.kind === 'arr' && top.awaitingValue) {
      top.awaitingValue = false;
      if (samePath(top.path, path)) out.push(line);
    }
  };
  const childPath = (): string[] | null => {
    const top = stack.at(-1);
    if (!top) return [];
    if (top.kind === 'obj' && top.path && top.key !== null) return [...top.path, top.key];
    return null;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') line++;
    else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack.at(-1);
      if (top?.kind === 'obj' && top.expectKey) {
        top.key = JSON.parse(text.slice(i, j + 1)) as string;
        top.expectKey = false;
      } else valueStarts();
      i = j;
    } else if (c === '{' || c === '[') {
      valueStarts();
      const p = childPath();
      stack.push({
        kind: c === '{' ? 'obj' : 'arr',
        path: p,
        key: null,
        expectKey: c === '{',
        awaitingValue: c === '[',
      });
    } else if (c === '}' || c === ']') stack.pop();
    else if (c === ',') {
      const top = stack.at(-1);
      if (top?.kind === 'obj') top.expectKey = true;
      else if (top) top.awaitingValue = true;
    } else if (c !== ':' && c !== ' ' && c !== '\t' && c !== '\r') valueStarts();
  }
  return out;
}

/**
 * A raw JSON value as a reject detail shows it: an object or array as its JSON, never through `String`
 * (which throws for `{"toString": false}`), anything longer than 40 characters shortened.
 */
export function shownJsonValue(v: unknown): string {
  const text = typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
  return text.length > 40 ? `${text.slice(0, 20)}… (${text.length} characters)` : text;
}
