/**
 * .dockerignore semantics (as in moby's patternmatcher): patterns are relative to the context root, `*` and `?`
 * stay within a path segment, `**` spans any number of segments, `!` re-includes, the last matching pattern
 * wins, and a pattern that matches a directory matches everything below it. Pure.
 */

export interface IgnorePattern {
  negated: boolean;
  regexp: RegExp;
  source: string;
}

export function parseDockerignore(text: string): IgnorePattern[] {
  const patterns: IgnorePattern[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    if (negated) line = line.slice(1).trim();
    // Like filepath.Clean: no leading "/" or "./", no trailing "/".
    line = line.replace(/^(\.?\/)+/, '').replace(/\/+$/, '');
    if (!line) continue;
    patterns.push({ negated, regexp: patternToRegExp(line), source: raw.trim() });
  }
  return patterns;
}

function patternToRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === '*' && pattern[i + 1] === '*') {
      // `**/` matches zero or more directories; a trailing `**` matches everything.
      if (pattern[i + 2] === '/') {
        out += '(?:.*/)?';
        i += 2;
      } else {
        out += '.*';
        i += 1;
      }
    } else if (char === '*') out += '[^/]*';
    else if (char === '?') out += '[^/]';
    else out += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** Whether `path` (relative, `/`-separated) is left out of the build context. */
export function isIgnored(path: string, patterns: readonly IgnorePattern[]): boolean {
  const segments = path.split('/');
  const candidates = segments.map((_, index) => segments.slice(0, index + 1).join('/'));
  let ignored = false;
  for (const pattern of patterns) {
    if (candidates.some((candidate) => pattern.regexp.test(candidate))) ignored = !pattern.negated;
  }
  return ignored;
}
