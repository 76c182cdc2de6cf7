/**
 * `npm run stage`: the deployment package in a folder of its own (default `.deploy/`), which azd zips
 * (azure.yaml `dist: .deploy`, run by its prepackage hook). Only what the functions need at run time:
 * dist/functions, dist/lib, host.json, package.json and the production dependencies of package-lock.json
 * (`npm ci --omit=dev`), filtered by the allow-list in .funcignore. dev/, cli/, tests, sources and any key
 * lying in the checkout never get in.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { deflateRawSync } from 'node:zlib';
import ignoreModule from 'ignore';
import { projectRoot } from './host/options.js';

/** Copied into the staged folder; `npm ci` needs the lock file, azd reads `.funcignore` from the folder it zips. */
const STAGED = ['host.json', 'package.json', 'package-lock.json', '.funcignore', 'dist/functions', 'dist/lib'];

export async function stagePackage(root: string, out: string): Promise<void> {
  for (const path of STAGED) {
    if (!existsSync(join(root, path))) throw new Error(`${path} is missing: run npm run build first`);
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const path of STAGED) cpSync(join(root, path), join(out, path), { recursive: true });
  // The lock file pins every version; --ignore-scripts: no install script runs, nothing is built here.
  await promisify(execFile)('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: out,
    maxBuffer: 16 * 1024 * 1024,
  });
}

export interface PackageFile {
  path: string;
  bytes: number;
}

/** The files of `dir` a zip built with `dir/.funcignore` holds, as azd builds it (paths with `/`, sorted). */
export function packageFiles(dir: string, rules = readFileSync(join(dir, '.funcignore'), 'utf8')): PackageFile[] {
  // A CommonJS module: its typings declare the factory as `default`, which it also sets on itself.
  const ig = ignoreModule.default().add(rules);
  const files: PackageFile[] = [];
  const walk = (abs: string) => {
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      const path = join(abs, entry.name);
      const rel = relative(dir, path).split(sep).join('/');
      if (entry.isDirectory()) {
        if (!ig.ignores(`${rel}/`)) walk(path);
      } else if (!ig.ignores(rel)) {
        files.push({ path: rel, bytes: statSync(path).size });
      }
    }
  };
  walk(dir);
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** Size of a zip of these files with deflate (local header, data, central directory entry each; end record). */
function zippedBytes(dir: string, files: readonly PackageFile[]): number {
  let total = 22;
  for (const f of files) {
    const name = Buffer.byteLength(f.path);
    const data = readFileSync(join(dir, f.path));
    total += 30 + 46 + 2 * name + Math.min(data.length, deflateRawSync(data).length);
  }
  return total;
}

export function describe(dir: string, files: readonly PackageFile[]): string {
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  const unzipped = files.reduce((sum, f) => sum + f.bytes, 0);
  return `${files.length} files, ${mb(unzipped)} MB unzipped, ${mb(zippedBytes(dir, files))} MB zipped`;
}

async function main(): Promise<void> {
  const root = projectRoot(import.meta.dirname);
  let out: string;
  try {
    const { values } = parseArgs({ options: { out: { type: 'string', default: '.deploy' } }, strict: true });
    out = resolve(root, values.out);
  } catch (e) {
    console.error(`${(e as Error).message}\nusage: node dist/dev/stage.js [--out <dir>]`);
    process.exit(2);
  }
  await stagePackage(root, out);
  console.log(`staged ${relative(process.cwd(), out) || '.'}: ${describe(out, packageFiles(out))}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
