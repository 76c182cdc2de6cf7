/**
 * Our model of the matcher azd applies to `.funcignore`: github.com/denormal/go-gitignore (ae8ad1d),
 * with github.com/danwakefield/fnmatch. Written from their source, because it is not git's dialect:
 *
 * - pattern.go NewPattern (l. 65-85): a leading `!` negates, a leading `/` anchors, a trailing `/` means
 *   directories only; compile (l. 102-122): a `**` token makes an "any" pattern, an inner `/` a "path"
 *   pattern, anything else a "name" pattern.
 * - name.Match (l. 153-166): anchored, the WHOLE relative path is matched with fnmatch flags 0 (no
 *   FNM_PATHNAME, so `*` crosses `/`: `/*` matches `dist/functions/health.js`); unanchored, the last
 *   component only.
 * - path.Match (l. 193-207): the whole path with FNM_PATHNAME (both branches try the same thing).
 * - any.Match (l. 233-279): component by component, `**` standing for zero or more components.
 * - gitignore.go Relative (l. 260-278): the LAST pattern that matches decides; no parent directory is
 *   consulted. A negated match is `Include()`, not `Ignore()` (pattern.go l. 126-130).
 *
 * Character classes (`[...]`) and escapes are not modelled: a pattern using them is refused.
 */

interface Pattern {
  line: string;
  negated: boolean;
  directory: boolean;
  kind: 'name' | 'path' | 'any';
  anchored: boolean;
  /** The pattern without `!`, leading and trailing `/` (go-gitignore's `_fnmatch`). */
  glob: string;
}

/** fnmatch(3) for `*` and `?` (danwakefield/fnmatch Match): with FNM_PATHNAME neither matches `/`. */
function fnmatch(glob: string, path: string, pathname: boolean): boolean {
  const any = pathname ? '[^/]' : '[\\s\\S]';
  const source = [...glob].map((c) => (c === '*' ? `${any}*` : c === '?' ? any : c.replace(/[.+^${}()|\\]/g, '\\$&'))).join('');
  return new RegExp(`^${source}$`).test(path);
}

function parseLine(line: string): Pattern | undefined {
  // go-gitignore's lexer treats a line starting with `#` as a comment and skips blank lines.
  if (line.trim() === '' || line.startsWith('#')) return undefined;
  if (/[[\]\\]/.test(line) || line !== line.trimEnd()) throw new Error(`.funcignore: "${line}" uses syntax our model of azd's matcher does not cover`);
  let rest = line;
  const negated = rest.startsWith('!');
  if (negated) rest = rest.slice(1);
  const anchored = rest.startsWith('/');
  if (anchored) rest = rest.slice(1);
  const directory = rest.endsWith('/');
  if (directory) rest = rest.slice(0, -1);
  const kind = rest.includes('**') ? 'any' : rest.includes('/') ? 'path' : 'name';
  return { line, negated, directory, kind, anchored, glob: rest };
}

function matchAny(parts: string[], tokens: string[]): boolean {
  if (tokens.length === 0) return parts.length === 0;
  const [token, ...more] = tokens as [string, ...string[]];
  if (token === '**') return matchAny(parts, more) || (parts.length > 0 && matchAny(parts.slice(1), tokens));
  return parts.length > 0 && fnmatch(token, parts[0]!, true) && matchAny(parts.slice(1), more);
}

function matches(p: Pattern, path: string, isDir: boolean): boolean {
  if (p.directory && !isDir) return false;
  if (p.kind === 'any') return matchAny(path.split('/'), p.glob.split('/').filter(Boolean));
  if (p.kind === 'path') return fnmatch(p.glob, path, true);
  return fnmatch(p.glob, p.anchored ? path : path.slice(path.lastIndexOf('/') + 1), false);
}

export interface GoGitIgnore {
  /** go-gitignore's `Relative(path, isdir)` then `match.Ignore()`: true when the last matching pattern is not negated. */
  ignores(path: string, isDir: boolean): boolean;
}

export function parseGoGitignore(text: string): GoGitIgnore {
  const patterns = text.split(/\r?\n/).flatMap((line) => parseLine(line) ?? []);
  return {
    ignores(path, isDir) {
      for (let i = patterns.length - 1; i >= 0; i--) {
        if (matches(patterns[i]!, path, isDir)) return !patterns[i]!.negated;
      }
      return false;
    },
  };
}
