/**
 * `${VAR}` / `${VAR:-default}` expansion in config values, done on the parsed YAML tree (not the text), so a
 * value containing quotes or colons cannot change the YAML structure. `$${` is a literal `${`.
 * An unset variable without a default is an error naming the variable and the field it is used in; the
 * variable's value never appears in any message (it is often an API key).
 */

export class ExpansionError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'ExpansionError';
    this.path = path;
  }
}

const reference = /\$\$\{|\$\{([^}]*)\}/g;
const variableName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Expands one string; `path` names the field in errors. */
export function expandString(text: string, env: NodeJS.ProcessEnv, path: string): string {
  if (!text.includes('${')) return text;
  return text.replace(reference, (match, body: string | undefined) => {
    if (match === '$${') return '${';
    const inner = body ?? '';
    const sep = inner.indexOf(':-');
    const name = sep === -1 ? inner : inner.slice(0, sep);
    if (!variableName.test(name)) {
      throw new ExpansionError(
        path,
        `invalid variable reference \${${inner}} (expected \${NAME} or \${NAME:-default})`,
      );
    }
    const value = env[name];
    if (sep !== -1) return value === undefined || value === '' ? inner.slice(sep + 2) : value;
    if (value === undefined) {
      throw new ExpansionError(path, `environment variable ${name} is not set (or give a default: \${${name}:-value})`);
    }
    return value;
  });
}

/** Returns a copy of `value` with every string expanded. Keys are left alone. */
export function expandTree(value: unknown, env: NodeJS.ProcessEnv, path = ''): unknown {
  if (typeof value === 'string') return expandString(value, env, path || '(root)');
  if (Array.isArray(value)) return value.map((v, i) => expandTree(v, env, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = expandTree(v, env, path ? `${path}.${k}` : k);
    return out;
  }
  return value;
}
