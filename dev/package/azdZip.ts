/**
 * The files `azd package`/`azd deploy` would put into the zip of a TypeScript function app, as Azure/azure-dev
 * (ae35809) states it — our own code, written from theirs:
 *
 * - cli/azd/pkg/project/framework_service_node.go Package (l. 225-233): the folder zipped is the service's
 *   `dist` (azure.yaml `dist: .deploy`); service_target_functionapp.go Package (l. 192-198) zips it with
 *   createDeployableZip.
 * - cli/azd/pkg/project/project_utils.go createDeployableZip (l. 31-47): the ignore file
 *   (service_target.go IgnoreFile: `.funcignore`) is read from that folder and parsed by go-gitignore.
 * - its onZip filter (l. 50-108): `.azure` folders, the ignore file itself and, for a function app,
 *   `local.settings.json` are always left out; with an ignore file, whatever `ignorer.Absolute(...).Ignore()`
 *   says is left out; without one, node_modules is kept only when `remoteBuild` is explicitly false.
 * - cli/azd/pkg/rzip/rzip.go addDir (l. 80-128): every entry of a folder (os.ReadDir order) goes through
 *   onZip; a folder left out is not entered; a symbolic link is followed.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseGoGitignore, type GoGitIgnore } from './goGitignore.js';

const IGNORE_FILE = '.funcignore';

export interface AzdZipOptions {
  /** azure.yaml `remoteBuild`: undefined when unset. */
  remoteBuild: boolean | undefined;
  /** The ignore file's text; default: `<dir>/.funcignore` when it exists (as azd reads it). */
  ignoreFile?: string;
}

function readIgnoreFile(dir: string): string | undefined {
  try {
    // project_utils.go strips a UTF-8 byte order mark before parsing (stripUTF8BOM).
    return readFileSync(join(dir, IGNORE_FILE), 'utf8').replace(/^\uFEFF/, '');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function included(rel: string, name: string, isDir: boolean, ignorer: GoGitIgnore | undefined, remoteBuild: boolean | undefined): boolean {
  if (name === '.azure' && isDir) return false;
  if (name === IGNORE_FILE && !isDir) return false;
  if (name === 'local.settings.json' && !isDir) return false;
  if (ignorer) return !ignorer.ignores(rel, isDir);
  if (name === 'node_modules' && isDir) return remoteBuild === false;
  return true;
}

/** Paths (with `/`, in zip order) of the files azd would zip from `dir`. */
export function azdZipFiles(dir: string, opts: AzdZipOptions): string[] {
  const text = opts.ignoreFile ?? readIgnoreFile(dir);
  const ignorer = text === undefined ? undefined : parseGoGitignore(text);
  const files: string[] = [];
  const walk = (abs: string, rel: string) => {
    // os.ReadDir returns entries sorted by file name (byte order), as does this sort.
    const names = readdirSync(abs).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const name of names) {
      const path = join(abs, name);
      const relPath = rel ? `${rel}/${name}` : name;
      const isDir = statSync(path).isDirectory(); // stat, not lstat: a link counts as what it points to
      if (!included(relPath, name, isDir, ignorer, opts.remoteBuild)) continue;
      if (isDir) walk(path, relPath);
      else files.push(relPath);
    }
  };
  walk(dir, '');
  return files;
}
