// Hash routes: `#/` lists incidents, `#/incidents/<id>` shows one.

export type Route =
  | { name: 'list' }
  | { name: 'incident'; id: string }
  | { name: 'not-found'; path: string };

/** The route for a `location.hash` value (with or without the leading `#`). */
export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/\?.*$/, '') || '/';
  if (path === '/' || path === '/incidents' || path === '/incidents/') return { name: 'list' };
  const m = /^\/incidents\/([^/]+)\/?$/.exec(path);
  if (m) {
    let id = m[1]!;
    try {
      id = decodeURIComponent(id);
    } catch {
      // keep it as typed; the server will say it is not an id
    }
    return { name: 'incident', id };
  }
  return { name: 'not-found', path };
}

/** The hash that links to an incident. */
export function incidentHref(id: string): string {
  return `#/incidents/${encodeURIComponent(id)}`;
}
