// Entry point: a hash router that swaps the list and incident views.

import './style.css';

import { h } from './dom';
import { parseRoute } from './route';
import { renderIncident } from './views/incident';
import { renderList } from './views/list';

const app = document.getElementById('app');
if (!app) throw new Error('index.html has no #app element');
const root: HTMLElement = app;

let teardown: (() => void) | null = null;

function render(): void {
  teardown?.();
  teardown = null;
  root.replaceChildren();
  const route = parseRoute(window.location.hash);
  switch (route.name) {
    case 'list':
      document.title = 'Incidents · Rewind';
      teardown = renderList(root);
      break;
    case 'incident':
      document.title = 'Incident · Rewind';
      teardown = renderIncident(root, route.id);
      break;
    case 'not-found':
      document.title = 'Not found · Rewind';
      root.append(
        h('h2', {}, 'Page not found'),
        h('p', {}, 'Nothing lives at ', h('code', {}, route.path), '. ', h('a', { href: '#/' }, 'See all incidents'), '.'),
      );
      break;
  }
  window.scrollTo(0, 0);
}

// The server falls back to index.html for unknown paths, so a path-style link
// such as /incidents/<id> still lands here: turn it into the hash route.
if (!window.location.hash && window.location.pathname !== '/') {
  const fromPath = parseRoute(window.location.pathname);
  if (fromPath.name === 'incident') {
    window.history.replaceState(null, '', `/#/incidents/${encodeURIComponent(fromPath.id)}`);
  }
}

window.addEventListener('hashchange', render);
render();
