// Hash routes: `#/` lists incidents (its filters in the query: `#/?status=open`),
// `#/incidents/<id>` shows one, `#/deploys` lists deploys and their
// regression checks. `#/perf` is a hidden page that times the timeline on
// generated data (the browser test reads it).

export type Route =
  | { name: 'list'; query: string }
  | { name: 'incident'; id: string }
  | { name: 'deploys' }
  | { name: 'perf'; query: string }
  | { name: 'not-found'; path: string };

/** The route for a `location.hash` value (with or without the leading `#`). */
export function parseRoute(hash: string): Route {
  const fragment = hash.replace(/^#/, '');
  const q = fragment.indexOf('?');
  const path = (q < 0 ? fragment : fragment.slice(0, q)) || '/';
  const query = q < 0 ? '' : fragment.slice(q + 1);
  if (path === '/' || path === '/incidents' || path === '/incidents/') return { name: 'list', query };
  if (path === '/deploys' || path === '/deploys/') return { name: 'deploys' };
  if (path === '/perf') return { name: 'perf', query };
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

export const DEPLOYS_HREF = '#/deploys';
