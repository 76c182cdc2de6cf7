import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { FunctionDefinition } from '../lib/functionDefinition.js';

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string };

/** Every function file in functions/, as the Functions host finds it through package.json `main`. */
const sources = readdirSync(join(root, 'functions')).filter((f) => f.endsWith('.ts'));

describe('compiled output', () => {
  it('main is the v4 glob over compiled function files', () => {
    expect(pkg.main).toBe('dist/functions/*.js');
  });

  it('has a compiled file for every function source, each exporting its definition', async () => {
    const built = readdirSync(join(root, 'dist', 'functions')).filter((f) => f.endsWith('.js'));
    expect(built.sort()).toEqual(sources.map((f) => f.replace(/\.ts$/, '.js')).sort());
    const names: string[] = [];
    for (const file of built) {
      const mod = (await import(pathToFileURL(join(root, 'dist', 'functions', file)).href)) as { definition?: FunctionDefinition };
      expect(mod.definition, file).toBeDefined();
      expect(['http', 'storageQueue', 'timer']).toContain(mod.definition!.kind);
      expect(typeof mod.definition!.options.handler).toBe('function');
      names.push(mod.definition!.name);
    }
    expect(names).toContain('health');
    expect(new Set(names).size).toBe(names.length);
  });
});
