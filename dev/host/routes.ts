/** A compiled HTTP trigger route template (`orders/{id}`, `files/{*path}`, `items/{id:int?}`). */
export interface Route {
  template: string;
  match(path: string): Record<string, string> | undefined;
}

/**
 * Compiles an ASP.NET-style route template the way the Functions host matches it: case-insensitive
 * literal segments, `{name}` parameters (constraints after `:` are accepted but not checked),
 * `{name?}` optional and `{*name}` catch-all parameters.
 */
export function compileRoute(template: string): Route {
  const segments = template.replace(/^\/+|\/+$/g, '').split('/').filter(Boolean);
  const names: string[] = [];
  let source = '';
  for (const seg of segments) {
    const param = /^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(?::[^}?]*)?(\?)?\}$/.exec(seg);
    if (!param) {
      if (/[{}]/.test(seg)) throw new Error(`route "${template}": unsupported segment "${seg}"`);
      source += `/${seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
      continue;
    }
    const [, catchAll, name, optional] = param;
    names.push(name!);
    source += catchAll ? '(?:/(.*))?' : optional ? '(?:/([^/]+))?' : '/([^/]+)';
  }
  const re = new RegExp(`^${source}/?$`, 'i');
  return {
    template,
    match(path) {
      const m = re.exec(path);
      if (!m) return undefined;
      const params: Record<string, string> = {};
      names.forEach((n, i) => {
        const v = m[i + 1];
        if (v !== undefined) params[n] = decodeURIComponent(v);
      });
      return params;
    },
  };
}
