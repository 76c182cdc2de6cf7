/**
 * `npm run stage`: the deployment package in a folder of its own (default `.deploy/`), which azd zips as it
 * is (azure.yaml `dist: .deploy`, run by its prepackage hook). The folder IS the package: it carries no
 * ignore file, so no gitignore dialect decides what ships (azd's matcher is not git's: dev/package/). In it:
 * host.json, package.json, the compiled functions and lib (only files with a source, so no stale build
 * output), and the production dependencies of package-lock.json (`npm ci --omit=dev`) without type
 * declarations, source maps, .bin links or anything that looks like key material.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { deflateRawSync } from 'node:zlib';
import { resolveCommand } from './command.js';
import { projectRoot } from './host/options.js';
import { azdZipFiles } from './package/azdZip.js';

/** Key material and local settings: never in the package, wherever they are (even inside a dependency). */
export const KEY_MATERIAL = /(^|\/)(\.env[^/]*|local\.settings\.json|[^/]+\.(pem|key|jwk|p12|pfx))$/;
/** Not needed at run time in node_modules. */
const DEPENDENCY_CLUTTER = /(^|\/)([^/]+\.d\.[cm]?ts|[^/]+\.map)$/;
/** Compiled into dist/<folder>: each source's .js (and its .js.map) is copied. */
const COMPILED = ['functions', 'lib'];

/** Every file under `dir`, relative, with `/`, sorted by byte order. */
export function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((p) => p.split(sep).join('/'))
    .filter((p) => statSync(join(dir, p)).isFile())
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

function copyCompiled(root: string, out: string): void {
  for (const folder of COMPILED) {
    for (const source of listFiles(join(root, folder)).filter((f) => f.endsWith('.ts'))) {
      const js = `dist/${folder}/${source.replace(/\.ts$/, '.js')}`;
      if (!existsSync(join(root, js))) throw new Error(`${js} is missing: run npm run build first`);
      for (const file of [js, `${js}.map`].filter((f) => existsSync(join(root, f)))) {
        mkdirSync(dirname(join(out, file)), { recursive: true });
        cpSync(join(root, file), join(out, file));
      }
    }
  }
}

function prune(out: string): void {
  rmSync(join(out, 'package-lock.json'));
  for (const rel of readdirSync(join(out, 'node_modules'), { recursive: true, encoding: 'utf8' }).map((p) => `node_modules/${p.split(sep).join('/')}`)) {
    if (!existsSync(join(out, rel))) continue; // inside a folder removed already
    if (/(^|\/)\.bin$/.test(rel) || DEPENDENCY_CLUTTER.test(rel) || KEY_MATERIAL.test(rel)) rmSync(join(out, rel), { recursive: true, force: true });
  }
}

export async function stagePackage(root: string, out: string): Promise<void> {
  for (const file of ['host.json', 'package.json', 'package-lock.json']) {
    if (!existsSync(join(root, file))) throw new Error(`${file} is missing`);
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const file of ['host.json', 'package.json', 'package-lock.json']) cpSync(join(root, file), join(out, file));
  copyCompiled(root, out);
  // The lock file pins every version; --ignore-scripts: no install script runs, nothing is built here.
  const npm = resolveCommand('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund']);
  await promisify(execFile)(npm.command, npm.args, { cwd: out, shell: npm.shell, maxBuffer: 16 * 1024 * 1024 });
  prune(out);
}

/** The staged files, after checking that the zip azd builds from the folder (azure.yaml: remoteBuild false) holds exactly them. */
export function checkPackage(out: string): string[] {
  const staged = listFiles(out);
  const zipped = [...azdZipFiles(out, { remoteBuild: false })].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const missing = staged.filter((f) => !zipped.includes(f));
  if (missing.length > 0 || zipped.length !== staged.length) throw new Error(`azd would not zip the staged folder as it is: left out ${missing.slice(0, 5).join(', ')}`);
  const unwanted = staged.filter((f) => KEY_MATERIAL.test(f));
  if (unwanted.length > 0) throw new Error(`key material in the package: ${unwanted.join(', ')}`);
  return staged;
}

/** Size of a zip of these files with deflate (local header, data, central directory entry each; end record). */
function zippedBytes(dir: string, files: readonly string[]): number {
  let total = 22;
  for (const f of files) {
    const name = Buffer.byteLength(f);
    const data = readFileSync(join(dir, f));
    total += 30 + 46 + 2 * name + Math.min(data.length, deflateRawSync(data).length);
  }
  return total;
}

export function describe(dir: string, files: readonly string[]): string {
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  const unzipped = files.reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
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
  console.log(`staged ${relative(process.cwd(), out) || '.'}: ${describe(out, checkPackage(out))} (the zip azd builds from it holds the same files)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
