import { execFile, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import ignoreModule from 'ignore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { azdZipFiles } from '../dev/package/azdZip.js';
import { checkPackage, describe as describePackage, KEY_MATERIAL, listFiles, stagePackage } from '../dev/stage.js';

/**
 * The deployment package azd uploads (azure.yaml: `dist: .deploy`, built by `npm run stage`): the zip azd
 * builds from the staged folder, by azd's own rules (dev/package/azdZip.ts), holds exactly the staged files;
 * every function loads from it as the worker loads them; nothing secret or dev-only is in it.
 */

const root = join(import.meta.dirname, '..');

/** An allow-list as an anchored `/*` .funcignore: what this project shipped before; git's rules and azd's disagree on it. */
const ANCHORED_ALLOW_LIST = ['/*', '!/host.json', '!/package.json', '!/dist/', '/dist/*', '!/dist/functions/', '!/dist/lib/', '!/node_modules/', '/node_modules/.bin/'].join('\n');

/** A checkout with something in it that must not ship: keys, local settings, a stale build file, dev code. */
function checkoutWithLeftovers(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stage-root-'));
  for (const path of ['host.json', 'package.json', 'package-lock.json', 'functions', 'lib', 'dev', 'dist/functions', 'dist/lib', 'dist/dev']) {
    cpSync(join(root, path), join(dir, path), { recursive: true });
  }
  const plant = { 'dist/lib/leftover.pem': 'key', 'dist/functions/removedFunction.js': 'throw new Error("stale")', 'local.settings.json': '{}', '.env': 'X=1', 'maskinporten.jwk': '{}', 'lib/secret.key': 'key' };
  for (const [file, text] of Object.entries(plant)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

describe('azure.yaml and the checkout', () => {
  it('ships the staged folder as built here: dist .deploy, remoteBuild false, npm run stage before packaging on every platform', () => {
    const yaml = readFileSync(join(root, 'azure.yaml'), 'utf8');
    const api = yaml.slice(yaml.indexOf('\n  api:'), yaml.indexOf('\nhooks:'));
    expect(api).toMatch(/\n {4}dist: \.deploy\n/);
    // azd's resolveFunctionAppRemoteBuild: remoteBuild false ships node_modules, so no ignore file may exclude it.
    expect(api).toMatch(/\n {4}remoteBuild: false\n/);
    expect(api).toMatch(/\n {6}prepackage:\n {8}windows:\n {10}shell: pwsh\n {10}run: npm run stage\n {8}posix:\n {10}shell: sh\n {10}run: npm run stage$/);
    expect(readFileSync(join(root, 'package.json'), 'utf8')).toContain('"stage": "npm run build && node dist/dev/stage.js"');
  });

  it('has no .funcignore: azd reads one from the project (remote build check) and from .deploy (the zip), with its own dialect', () => {
    expect(existsSync(join(root, '.funcignore'))).toBe(false);
  });

  it('.gitignore refuses key material and local environments anywhere in the checkout', () => {
    const paths = ['private-key.pem', 'keys/maskinporten.key', 'a/b.jwk', 'cert.p12', 'cert.pfx', '.env', '.env.local', 'local.settings.json', '.deploy/host.json'];
    for (const path of paths) expect(spawnSync('git', ['check-ignore', '-q', '--no-index', path], { cwd: root }).status, path).toBe(0);
    expect(spawnSync('git', ['check-ignore', '-q', '--no-index', 'host.json'], { cwd: root }).status).toBe(1);
  });
});

const lockSchema = z.object({
  packages: z.record(z.string(), z.object({ dev: z.boolean().optional(), optional: z.boolean().optional() })),
});

describe('npm run stage', () => {
  let checkout: string;
  let out: string;
  let files: string[];

  beforeAll(async () => {
    checkout = checkoutWithLeftovers();
    out = mkdtempSync(join(tmpdir(), 'stage-'));
    await stagePackage(checkout, out);
    files = checkPackage(out);
    console.log(`deployment package: ${describePackage(out, files)}`);
  }, 180_000);
  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
    rmSync(checkout, { recursive: true, force: true });
  });

  it("is exactly what azd zips from it, by azd's rules: the staged folder is the package", () => {
    const zipped = azdZipFiles(out, { remoteBuild: false });
    console.log(`azd-rule zip: ${zipped.length} files; staged folder: ${listFiles(out).length} files`);
    expect([...zipped].sort()).toEqual([...listFiles(out)].sort());
    expect(files.length).toBeGreaterThan(1000);
    expect(readdirSync(out).sort()).toEqual(['dist', 'host.json', 'node_modules', 'package.json']);
  });

  it('an anchored /* allow-list would have shipped an app without code: azd keeps 2 files where git keeps thousands', () => {
    const zipped = azdZipFiles(out, { remoteBuild: false, ignoreFile: ANCHORED_ALLOW_LIST });
    expect(zipped).toEqual(['host.json', 'package.json']);
    const git = ignoreModule.default().add(ANCHORED_ALLOW_LIST);
    const gitKept = listFiles(out).filter((f) => !git.ignores(f));
    expect(gitKept.length).toBeGreaterThan(1000);
    expect(() => checkPackage(out)).not.toThrow();
    writeFileSync(join(out, '.funcignore'), ANCHORED_ALLOW_LIST);
    try {
      expect(() => checkPackage(out)).toThrow(/azd would not zip the staged folder as it is/);
    } finally {
      rmSync(join(out, '.funcignore'));
    }
  });

  it('holds no key material, local settings, dev, cli, test or bench file, no stale build output, no .d.ts, map or .bin in node_modules', () => {
    expect(files.filter((p) => KEY_MATERIAL.test(p))).toEqual([]);
    expect(files.filter((p) => /(^|\/)(dev|cli|test)\/|\.test\.|bench/.test(p) && !p.startsWith('node_modules/'))).toEqual([]);
    expect(files.filter((p) => !/^(host\.json|package\.json|dist\/(functions|lib)\/.+\.js(\.map)?|node_modules\/.+)$/.test(p))).toEqual([]);
    expect(files).not.toContain('dist/functions/removedFunction.js');
    expect(files.filter((p) => p.startsWith('node_modules/') && /\.d\.[cm]?ts$|\.map$|(^|\/)\.bin\//.test(p))).toEqual([]);
  });

  it('compiles every function and lib module into it', () => {
    const js = (dir: string) =>
      readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => `dist/${dir}/${f.replace(/\.ts$/, '.js').split('\\').join('/')}`);
    for (const path of [...js('functions'), ...js('lib')]) expect(files, path).toContain(path);
  });

  it('carries the production dependencies of package-lock.json and no devDependency', () => {
    const lock = lockSchema.parse(JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')));
    const deps = Object.entries(lock.packages).filter(([key]) => key.startsWith('node_modules/'));
    const present = (key: string) => files.includes(`${key}/package.json`);
    const dev = deps.filter(([, p]) => p.dev).map(([key]) => key);
    const prod = deps.filter(([, p]) => !p.dev && !p.optional).map(([key]) => key);
    expect(dev.length).toBeGreaterThan(100);
    expect(dev.filter(present)).toEqual([]);
    expect(prod).toEqual(expect.arrayContaining(['node_modules/@azure/functions', 'node_modules/zod', 'node_modules/jose']));
    expect(prod.filter((key) => !present(key))).toEqual([]);
  });

  it('loads every function from the files of the zip as the worker does: package.json main, each match imported', async () => {
    // A folder holding only the zip's files (what Flex Consumption unpacks), then the worker's steps
    // (Azure/azure-functions-nodejs-worker src/startApp.ts loadEntryPointFile: glob `main`, import each match).
    const unpacked = mkdtempSync(join(tmpdir(), 'unzipped-'));
    try {
      for (const f of azdZipFiles(out, { remoteBuild: false })) {
        mkdirSync(dirname(join(unpacked, f)), { recursive: true });
        cpSync(join(out, f), join(unpacked, f));
      }
      const script = `import { readdirSync, readFileSync } from 'node:fs';
        import { pathToFileURL } from 'node:url';
        const main = JSON.parse(readFileSync('package.json', 'utf8')).main;
        if (!/^dist\\/functions\\/\\*\\.js$/.test(main)) throw new Error('main changed: ' + main);
        const files = readdirSync('dist/functions').filter((f) => f.endsWith('.js'));
        if (files.length === 0) throw new Error('Found zero files matching the supplied pattern');
        const names = [];
        for (const f of files) names.push((await import(pathToFileURL('dist/functions/' + f).href)).definition.name);
        console.log(JSON.stringify(names));`;
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: unpacked });
      const sources = readdirSync(join(root, 'functions')).filter((f) => f.endsWith('.ts'));
      const names = z.array(z.string().min(1)).parse(JSON.parse(stdout.trim()));
      expect(names).toHaveLength(sources.length);
      expect(names).toEqual(expect.arrayContaining(['eventsReceiver', 'health', 'instanceProcessor']));
    } finally {
      rmSync(unpacked, { recursive: true, force: true });
    }
  });
});
