import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import ignoreModule from 'ignore';
import { afterEach, describe, expect, it } from 'vitest';
import { azdZipFiles } from '../dev/package/azdZip.js';
import { parseGoGitignore } from '../dev/package/goGitignore.js';

/**
 * Our model of azd's zip rules (dev/package/: Azure/azure-dev project_utils.go createDeployableZip and
 * denormal/go-gitignore), held to what their source states, and to where it parts from git's rules.
 */

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'azdzip-'));
  dirs.push(dir);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

describe("go-gitignore, azd's matcher", () => {
  it('matches an anchored name pattern against the whole path without FNM_PATHNAME: /* matches every path at every depth', () => {
    const m = parseGoGitignore('/*\n');
    for (const path of ['host.json', 'dist/functions/health.js', 'node_modules/zod/index.js']) expect(m.ignores(path, false), path).toBe(true);
    // git's rules (node-ignore) anchor /* to the top level only.
    expect(ignoreModule.default().add('/*\n!/dist/\n').ignores('dist/functions/health.js')).toBe(false);
  });

  it('decides by the last matching pattern alone: a negated folder is kept, the files inside it are not', () => {
    const m = parseGoGitignore('/*\n!/dist/\n!/dist/functions/\n');
    expect(m.ignores('dist', true)).toBe(false);
    expect(m.ignores('dist/functions', true)).toBe(false);
    expect(m.ignores('dist/functions/health.js', false)).toBe(true);
  });

  it('matches unanchored names by the last component, inner slashes with FNM_PATHNAME, ** by components', () => {
    const m = parseGoGitignore('# a comment\n\n*.pem\n/dist/*\n/node_modules/**/*.d.ts\nlogs/\n');
    expect(m.ignores('a/b/key.pem', false)).toBe(true);
    expect(m.ignores('dist/x.js', false)).toBe(true);
    expect(m.ignores('dist/functions/x.js', false)).toBe(false); // * stops at / with FNM_PATHNAME
    expect(m.ignores('node_modules/zod/index.d.ts', false)).toBe(true);
    expect(m.ignores('node_modules/index.d.ts', false)).toBe(true); // ** is zero components too
    expect(m.ignores('logs', true)).toBe(true);
    expect(m.ignores('logs', false)).toBe(false); // directories only
  });

  it('refuses syntax the model does not cover rather than guessing', () => {
    expect(() => parseGoGitignore('[ab].js\n')).toThrow(/does not cover/);
    expect(() => parseGoGitignore('trailing \n')).toThrow(/does not cover/);
  });
});

describe("azd's createDeployableZip file selection", () => {
  const files = { 'host.json': '{}', 'dist/functions/a.js': '', 'node_modules/zod/index.js': '', 'local.settings.json': '{}', 'dist/local.settings.json': '{}', '.azure/env/.env': 'x', '.funcignore': '*.md\n', 'README.md': '' };

  it('without an ignore file keeps everything but .azure and local.settings.json, node_modules only with remoteBuild false', () => {
    const dir = tree({ ...files, '.funcignore': '' });
    rmSync(join(dir, '.funcignore'));
    expect(azdZipFiles(dir, { remoteBuild: false })).toEqual(['README.md', 'dist/functions/a.js', 'host.json', 'node_modules/zod/index.js']);
    expect(azdZipFiles(dir, { remoteBuild: undefined })).toEqual(['README.md', 'dist/functions/a.js', 'host.json']);
  });

  it('with an ignore file leaves out what it ignores and the file itself, and never enters an ignored folder', () => {
    const dir = tree(files);
    expect(azdZipFiles(dir, { remoteBuild: false })).toEqual(['dist/functions/a.js', 'host.json', 'node_modules/zod/index.js']);
    expect(azdZipFiles(dir, { remoteBuild: false, ignoreFile: 'dist/\n!dist/functions/a.js\n' })).toEqual(['README.md', 'host.json', 'node_modules/zod/index.js']);
  });
});
