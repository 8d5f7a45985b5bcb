/** One authentication challenge from a `WWW-Authenticate` header. @public */
export interface AuthChallenge {
  /** Lower-cased scheme, e.g. `bearer`, `basic`. */
  scheme: string;
  /** Parameters with lower-cased names, e.g. `realm`, `service`, `scope`. */
  params: Record<string, string>;
}

/**
 * Parses a `WWW-Authenticate` header value that may hold several challenges
 * (RFC 9110 §11.6.1), e.g.
 * `Bearer realm="https://a/token",service="reg",scope="*", Basic realm="x"`.
 * Malformed parts are skipped, never thrown.
 * @public
 */
export function parseWwwAuthenticate(header: string | null | undefined): AuthChallenge[] {
  if (!header) return [];
  const out: AuthChallenge[] = [];
  const s = header;
  let i = 0;
  const skipWs = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < s.length && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  let current: AuthChallenge | undefined;
  while (i < s.length) {
    skipWs();
    if (s[i] === ',') {
      i++;
      continue;
    }
    const name = token();
    if (!name) {
      i++;
      continue;
    }
    skipWs();
    if (s[i] === '=') {
      // auth-param of the current challenge (or token68 padding when no value follows)
      i++;
      skipWs();
      let value: string;
      if (s[i] === '"') {
        i++;
        let v = '';
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          v += s[i];
          i++;
        }
        i++;
        value = v;
      } else {
        const vs = i;
        while (i < s.length && s[i] !== ',' && s[i] !== ' ' && s[i] !== '\t') i++;
        value = s.slice(vs, i);
      }
      if (current) current.params[name.toLowerCase()] = value;
      continue;
    }
    // A word not followed by '=' starts a new challenge.
    current = { scheme: name.toLowerCase(), params: {} };
    out.push(current);
  }
  return out;
}

/** Joins scopes into the canonical form: sorted, actions merged per resource. */
export function mergeScopes(scopes: Iterable<string>): string[] {
  const byResource = new Map<string, Set<string>>();
  for (const scope of scopes) {
    for (const one of scope.split(' ')) {
      if (!one) continue;
      const lastColon = one.lastIndexOf(':');
      if (lastColon <= 0) continue;
      const resource = one.slice(0, lastColon);
      const actions = one
        .slice(lastColon + 1)
        .split(',')
        .filter(Boolean);
      const set = byResource.get(resource) ?? new Set<string>();
      byResource.set(resource, set);
      for (const a of actions) set.add(a);
    }
  }
  const out: string[] = [];
  for (const [resource, actions] of byResource) {
    const list = actions.has('*') ? ['*'] : [...actions].sort();
    out.push(`${resource}:${list.join(',')}`);
  }
  return out.sort();
}

/** `repository:<name>:<actions>`. */
export function repositoryScope(repository: string, ...actions: string[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}
