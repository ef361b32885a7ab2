/**
 * No shell is ever spawned with user input: the shipped source (engine/, io-managers/, assets/,
 * pipeline/; tests excluded) is parsed with the TypeScript compiler and must not
 * - call `exec` / `execSync` from `child_process` (they always run a shell),
 * - pass `shell: <anything but false>` in an object literal (spawn/execFile options),
 * - or call `eval` / `new Function`.
 * Parsing (not grepping) avoids false hits such as `RegExp.prototype.exec`.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.join(import.meta.dirname, '..', '..');
const DIRS = ['engine', 'io-managers', 'assets', 'pipeline'];

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'fixtures') out.push(...(await sourceFiles(p)));
    } else if (/\.(ts|tsx|mts|mjs|js)$/.test(e.name) && !/\.test\.tsx?$/.test(e.name)) out.push(p);
  }
  return out;
}

interface Finding {
  file: string;
  line: number;
  what: string;
}

/** Everything in one file that could start a shell or evaluate a string as code. */
export function findShellUse(file: string, text: string): { findings: Finding[]; childProcess: string[] } {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const findings: Finding[] = [];
  const childProcess: string[] = []; // names imported from child_process
  const at = (n: ts.Node, what: string): void => {
    findings.push({ file, line: sf.getLineAndCharacterOfPosition(n.getStart()).line + 1, what });
  };
  const isChildProcess = (spec: ts.Expression): boolean =>
    ts.isStringLiteral(spec) && /^(node:)?child_process$/.test(spec.text);
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && isChildProcess(n.moduleSpecifier)) {
      const b = n.importClause?.namedBindings;
      if (b && ts.isNamedImports(b))
        for (const el of b.elements) childProcess.push((el.propertyName ?? el.name).text);
      else childProcess.push('*');
    }
    if (ts.isCallExpression(n)) {
      const callee = n.expression;
      // require('child_process') / import('child_process')
      if (
        (callee.kind === ts.SyntaxKind.ImportKeyword ||
          (ts.isIdentifier(callee) && callee.text === 'require')) &&
        n.arguments[0] &&
        isChildProcess(n.arguments[0])
      )
        childProcess.push('*');
      if (ts.isIdentifier(callee) && callee.text === 'eval') at(n, 'eval()');
    }
    if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'Function')
      at(n, 'new Function()');
    if (
      ts.isPropertyAssignment(n) &&
      (ts.isIdentifier(n.name) || ts.isStringLiteral(n.name)) &&
      n.name.text === 'shell' &&
      n.initializer.kind !== ts.SyntaxKind.FalseKeyword
    )
      at(n, `shell: ${n.initializer.getText(sf)}`);
    if (ts.isShorthandPropertyAssignment(n) && n.name.text === 'shell') at(n, 'shell (shorthand)');
    ts.forEachChild(n, visit);
  };
  visit(sf);
  for (const name of childProcess)
    if (name === 'exec' || name === 'execSync' || name === '*')
      findings.push({ file, line: 0, what: `child_process ${name === '*' ? 'namespace' : name} import` });
  return { findings, childProcess };
}

describe('no shell with user input', () => {
  it('the scanner itself catches each forbidden form (and ignores RegExp#exec)', () => {
    const bad = [
      `import { exec } from 'node:child_process'; exec('ls ' + x);`,
      `import { execSync as run } from 'child_process'; run(cmd);`,
      `import * as cp from 'node:child_process'; cp.spawn('x', [], {});`,
      `const cp = require('child_process');`,
      `import { spawn } from 'node:child_process'; spawn(cmd, { shell: true });`,
      `import { execFile } from 'node:child_process'; execFile(cmd, [], { 'shell': '/bin/sh' });`,
      `eval(code);`,
      `const f = new Function('a', body);`,
    ];
    for (const src of bad) expect(findShellUse('x.ts', src).findings, src).not.toEqual([]);
    const ok = `import { execFile } from 'node:child_process'; /x/.exec(s); execFile('radosgw', [a], { shell: false });`;
    expect(findShellUse('ok.ts', ok).findings).toEqual([]);
  });

  it('engine/, io-managers/, assets/ and pipeline/ never start a shell or evaluate strings', async () => {
    const files = (await Promise.all(DIRS.map((d) => sourceFiles(path.join(ROOT, d))))).flat();
    const findings: Finding[] = [];
    const importers: string[] = [];
    for (const f of files) {
      const r = findShellUse(path.relative(ROOT, f), await readFile(f, 'utf8'));
      findings.push(...r.findings);
      if (r.childProcess.length) importers.push(`${path.relative(ROOT, f)} (${r.childProcess.join(', ')})`);
    }
    console.log(
      `[no shell] scanned ${files.length} source files; child_process imported by: ${importers.join('; ') || 'none'}`,
    );
    expect(files.length).toBeGreaterThan(50);
    expect(findings).toEqual([]);
  });
});
