/**
 * A small evaluator of ARM template expressions (`[if(parameters('x'), 'a', 'b')]`), for the functions our
 * compiled Bicep uses in the properties the infra tests evaluate. Any other function is refused, so a
 * test never passes on an expression it did not understand.
 */
import { z } from 'zod';

type Value = unknown;
interface Scope {
  parameters: Record<string, Value>;
  variables?: Record<string, Value>;
  /** The template's user-defined functions (`functions` of the compiled template). */
  functions?: unknown;
}

const userFunctionsSchema = z.array(
  z.object({ namespace: z.string(), members: z.record(z.string(), z.object({ parameters: z.array(z.object({ name: z.string() })), output: z.object({ value: z.unknown() }) })) }),
);

function callUser(name: string, args: Value[], scope: Scope): Value {
  const [ns, member] = name.split('.');
  const fn = userFunctionsSchema.parse(scope.functions ?? []).find((f) => f.namespace === ns)?.members[member!];
  if (!fn) throw new Error(`ARM function ${name}() is not modelled`);
  // A user-defined function sees only its own parameters (and the template's functions).
  return evaluate(fn.output.value, { parameters: Object.fromEntries(fn.parameters.map((p, k) => [p.name, args[k]])), functions: scope.functions });
}

interface Call {
  name: string;
  args: Node[];
  access: (string | Node)[];
}
type Node = { literal: Value } | Call;

function parse(src: string): Node {
  let i = 0;
  const ws = () => {
    while (src[i] === ' ') i++;
  };
  const node = (): Node => {
    ws();
    if (src[i] === "'") {
      let s = '';
      for (i++; ; i++) {
        if (src[i] === "'" && src[i + 1] === "'") s += src[i++];
        else if (src[i] === "'") break;
        else if (i >= src.length) throw new Error(`unterminated string in ${src}`);
        else s += src[i];
      }
      i++;
      return { literal: s };
    }
    const m = /^[A-Za-z_][\w.]*|^-?\d+/.exec(src.slice(i));
    if (!m) throw new Error(`cannot parse ${src} at ${i}`);
    i += m[0].length;
    if (/^-?\d+$/.test(m[0])) return { literal: Number(m[0]) };
    if (m[0] === 'true' || m[0] === 'false') return { literal: m[0] === 'true' };
    ws();
    if (src[i] !== '(') throw new Error(`expected ( after ${m[0]} in ${src}`);
    i++;
    const call: Call = { name: m[0], args: [], access: [] };
    for (ws(); src[i] !== ')'; ws()) {
      call.args.push(node());
      ws();
      if (src[i] === ',') i++;
    }
    i++;
    for (;;) {
      const prop = /^\.(\w+)/.exec(src.slice(i));
      if (prop) {
        call.access.push(prop[1]!);
        i += prop[0].length;
      } else if (src[i] === '[') {
        i++;
        call.access.push(node());
        ws();
        i++;
      } else return call;
    }
  };
  const result = node();
  ws();
  if (i !== src.length) throw new Error(`trailing text in ${src}`);
  return result;
}

const FUNCTIONS: Record<string, (args: Value[]) => Value> = {
  and: (a) => a.every(Boolean),
  or: (a) => a.some(Boolean),
  not: ([a]) => !a,
  equals: ([a, b]) => JSON.stringify(a) === JSON.stringify(b),
  empty: ([a]) => a === '' || a === null || (Array.isArray(a) ? a.length === 0 : typeof a === 'object' && Object.keys(a).length === 0),
  length: ([a]) => (a as string | unknown[]).length,
  range: ([start, count]) => Array.from({ length: Number(count) }, (_, k) => Number(start) + k),
  createArray: (a) => a,
  coalesce: (a) => a.find((v) => v !== null && v !== undefined) ?? null,
  tryGet: ([o, key]) => (o as Record<string, Value>)[String(key)] ?? null,
  createObject: (a): Record<string, Value> => Object.fromEntries(Array.from({ length: a.length / 2 }, (_, k) => [String(a[2 * k]), a[2 * k + 1]])),
};

function run(n: Node, scope: Scope): Value {
  if ('literal' in n) return n.literal;
  let value: Value;
  if (n.name === 'if') value = run(n.args[0]!, scope) ? run(n.args[1]!, scope) : run(n.args[2]!, scope);
  else if (n.name === 'parameters' || n.name === 'variables') {
    const name = String(run(n.args[0]!, scope));
    const table = n.name === 'parameters' ? scope.parameters : (scope.variables ?? {});
    if (!(name in table)) throw new Error(`${n.name}('${name}') is not given`);
    value = evaluate(table[name], scope);
  } else if (FUNCTIONS[n.name]) value = FUNCTIONS[n.name]!(n.args.map((a) => run(a, scope)));
  else if (n.name.includes('.')) value = callUser(n.name, n.args.map((a) => run(a, scope)), scope);
  else throw new Error(`ARM function ${n.name}() is not modelled`);
  for (const key of n.access) value = (value as Record<string, Value>)[typeof key === 'string' ? key : String(run(key, scope))];
  return value;
}

/** `value` with every ARM expression in it evaluated (objects and arrays too). */
export function evaluate(value: Value, scope: Scope): Value {
  if (typeof value === 'string') return value.startsWith('[') && !value.startsWith('[[') ? run(parse(value.slice(1, -1)), scope) : value;
  if (Array.isArray(value)) return value.map((v) => evaluate(v, scope));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, evaluate(v, scope)]));
  return value;
}
