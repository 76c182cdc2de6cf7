import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describe as describePackage, packageFiles, stagePackage, type PackageFile } from '../dev/stage.js';

/**
 * The deployment package azd uploads (azure.yaml: `dist: .deploy`, built by `npm run stage`, filtered by the
 * .funcignore it carries): what the functions need at run time, and nothing secret or dev-only.
 */

const root = join(import.meta.dirname, '..');
const KEY_MATERIAL = /(^|\/)(\.env[^/]*|local\.settings\.json|[^/]+\.(pem|key|jwk|p12|pfx))$/;

function tree(files: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'funcignore-'));
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), 'x');
  }
  copyFileSync(join(root, '.funcignore'), join(dir, '.funcignore'));
  return dir;
}

describe('.funcignore', () => {
  it('lets only the functions, their lib, host.json, package.json and node_modules through, never key material', () => {
    const kept = ['host.json', 'package.json', 'dist/functions/health.js', 'dist/functions/health.js.map', 'dist/lib/config.js', 'node_modules/zod/index.js', 'node_modules/zod/package.json'];
    const dropped = [
      'private-key.pem',
      'maskinporten.jwk',
      'secrets/client.key',
      'cert.p12',
      'cert.pfx',
      '.env',
      '.env.production',
      'local.settings.json',
      'dist/lib/leftover.pem',
      'node_modules/some-dep/test/fixtures/server.key',
      'node_modules/zod/index.d.ts',
      'node_modules/zod/index.js.map',
      'node_modules/.bin/tsc',
      'dist/dev/host.js',
      'dist/cli/main.js',
      'dev/stage.ts',
      'cli/main.ts',
      'functions/health.ts',
      'lib/config.ts',
      'test/package.test.ts',
      'bench-results.json',
      'BENCHMARKS.md',
      'README.md',
      'infra/main.bicep',
      'package-lock.json',
      'tsconfig.json',
      '.funcignore',
    ];
    const dir = tree([...kept, ...dropped]);
    try {
      expect(packageFiles(dir).map((f) => f.path)).toEqual([...kept].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('azure.yaml', () => {
  it('ships the staged folder as built here: dist .deploy, remoteBuild false, npm run stage before packaging', () => {
    const yaml = readFileSync(join(root, 'azure.yaml'), 'utf8');
    const api = yaml.slice(yaml.indexOf('\n  api:'));
    expect(api).toMatch(/\n {4}dist: \.deploy\n/);
    // azd requires an explicit remoteBuild to agree with .funcignore: false ships node_modules, so it must not be ignored.
    expect(api).toMatch(/\n {4}remoteBuild: false\n/);
    expect(api).toMatch(/\n {6}prepackage:\n {8}shell: sh\n {8}run: npm run stage\n/);
    expect(readFileSync(join(root, 'package.json'), 'utf8')).toContain('"stage": "npm run build && node dist/dev/stage.js"');
    const dir = tree(['node_modules/zod/package.json']);
    try {
      expect(packageFiles(dir).map((f) => f.path)).toEqual(['node_modules/zod/package.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('.gitignore', () => {
  it('refuses key material and local environments anywhere in the checkout', () => {
    const paths = ['private-key.pem', 'keys/maskinporten.key', 'a/b.jwk', 'cert.p12', 'cert.pfx', '.env', '.env.local', 'local.settings.json', '.deploy/host.json'];
    for (const path of paths) expect(spawnSync('git', ['check-ignore', '-q', '--no-index', path], { cwd: root }).status, path).toBe(0);
    expect(spawnSync('git', ['check-ignore', '-q', '--no-index', 'host.json'], { cwd: root }).status).toBe(1);
  });
});

const lockSchema = z.object({
  packages: z.record(z.string(), z.object({ dev: z.boolean().optional(), optional: z.boolean().optional() })),
});

describe('npm run stage', () => {
  let out: string;
  let files: PackageFile[];
  let paths: Set<string>;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'stage-'));
    await stagePackage(root, out);
    files = packageFiles(out);
    paths = new Set(files.map((f) => f.path));
    console.log(`deployment package: ${describePackage(out, files)}`);
  }, 180_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('holds only dist/functions, dist/lib, host.json, package.json and node_modules', () => {
    const outside = files.map((f) => f.path).filter((p) => !/^(host\.json|package\.json|dist\/(functions|lib)\/.+|node_modules\/.+)$/.test(p));
    expect(outside).toEqual([]);
    expect(files.map((f) => f.path).filter((p) => KEY_MATERIAL.test(p))).toEqual([]);
    expect(files.map((f) => f.path).filter((p) => /(^|\/)(dev|cli)\/|\.test\.|bench/.test(p) && !p.startsWith('node_modules/'))).toEqual([]);
  });

  it('compiles every function and lib module into it', () => {
    const js = (dir: string) =>
      readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => `dist/${dir}/${f.replace(/\.ts$/, '.js').split('\\').join('/')}`);
    for (const path of [...js('functions'), ...js('lib')]) expect(paths, path).toContain(path);
  });

  it('carries the production dependencies of package-lock.json and no devDependency', () => {
    const lock = lockSchema.parse(JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')));
    const deps = Object.entries(lock.packages).filter(([key]) => key.startsWith('node_modules/'));
    const present = (key: string) => paths.has(`${key}/package.json`);
    const dev = deps.filter(([, p]) => p.dev).map(([key]) => key);
    const prod = deps.filter(([, p]) => !p.dev && !p.optional).map(([key]) => key);
    expect(dev.length).toBeGreaterThan(100);
    expect(dev.filter(present)).toEqual([]);
    expect(prod).toEqual(expect.arrayContaining(['node_modules/@azure/functions', 'node_modules/zod', 'node_modules/jose']));
    expect(prod.filter((key) => !present(key))).toEqual([]);
  });

  it('loads every function and lib module with nothing but what it carries', async () => {
    const script = `import { readdirSync } from 'node:fs';
      const files = readdirSync('dist', { recursive: true }).filter((f) => f.endsWith('.js'));
      for (const f of files) await import('./dist/' + f.split('\\\\').join('/'));
      console.log(files.length);`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: out });
    expect(Number(stdout.trim())).toBe(files.filter((f) => f.path.startsWith('dist/') && f.path.endsWith('.js')).length);
  });
});
