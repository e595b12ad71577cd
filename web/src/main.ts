// Entry point: a hash router that swaps the views, the sign-in view whenever
// the server answers 401, the top bar (navigation, live status, theme,
// session), and the one live connection the views share.

import './style.css';

import { ApiError, setUnauthorizedHandler, signIn, signOut, tokenFromHash, whoAmI, type SessionInfo } from './api';
import { h } from './dom';
import { live, type LiveStatus } from './live';
import { parseRoute, type Route } from './route';
import { setSession } from './session';
import { initTheme, themeToggle } from './theme';
import { renderDeploys } from './views/deploys';
import { renderIncident } from './views/incident';
import { renderList } from './views/list';
import { renderPerf } from './views/perf';
import { renderSignIn } from './views/signin';

initTheme();

const app = document.getElementById('app');
if (!app) throw new Error('index.html has no #app element');
const root: HTMLElement = app;

let teardown: (() => void) | null = null;
/** Whether the sign-in view is what is shown. */
let signingIn = false;

// --- the top bar ------------------------------------------------------------------------------
const topbar = document.querySelector('header.topbar');
const nav = h(
  'nav',
  { class: 'nav', 'aria-label': 'Pages' },
  h('a', { href: '#/', 'data-nav': 'list', 'data-testid': 'nav-incidents' }, 'Incidents'),
  h('a', { href: '#/deploys', 'data-nav': 'deploys', 'data-testid': 'nav-deploys' }, 'Deploys'),
);
const liveBox = h('span', { class: 'live-status', 'data-testid': 'live-status', role: 'status', 'aria-live': 'polite' });
const sessionBox = h('div', { class: 'session', 'data-testid': 'session', hidden: true });
topbar?.append(nav, h('div', { class: 'topbar-end' }, liveBox, themeToggle(), sessionBox));

const LIVE_TEXT: Record<LiveStatus, string> = {
  idle: '',
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
};
live.onStatus((s) => {
  liveBox.textContent = LIVE_TEXT[s];
  liveBox.dataset['state'] = s;
  liveBox.title =
    s === 'live'
      ? 'Changes appear as they happen.'
      : s === 'reconnecting'
        ? 'The live connection dropped; retrying. The page reloads its data once it is back.'
        : '';
  liveBox.hidden = s === 'idle';
  // The upgrade fails the same way for a dead server and a revoked token:
  // ask once per outage; a 401 shows the sign-in view.
  if (s === 'reconnecting' && !signingIn) void whoAmI().catch(() => undefined);
});

function markNav(route: Route): void {
  for (const a of nav.querySelectorAll<HTMLAnchorElement>('a')) {
    const on = a.dataset['nav'] === (route.name === 'incident' ? 'list' : route.name);
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function showSession(info: SessionInfo | null): void {
  setSession(info);
  // The live stream needs the session cookie: open it once signed in.
  if (info) live.start();
  if (!info) {
    sessionBox.hidden = true;
    sessionBox.replaceChildren();
    return;
  }
  const out = h('button', { type: 'button', class: 'link-button', 'data-testid': 'signout' }, 'Sign out');
  out.addEventListener('click', () => {
    out.disabled = true;
    // Whatever the server says, this page no longer has a session to show.
    void signOut()
      .catch(() => undefined)
      .finally(() => showSignIn());
  });
  sessionBox.replaceChildren(
    h('span', { class: 'muted' }, 'signed in as '),
    h('strong', { 'data-testid': 'session-name' }, info.name),
    h('span', { class: 'muted' }, ` (${info.role})`),
    out,
  );
  sessionBox.hidden = false;
}

function refreshSession(): void {
  whoAmI()
    .then(showSession)
    .catch(() => showSession(null));
}

/** Replaces whatever is shown with the sign-in view; a sign-in renders the route again. */
function showSignIn(error?: ApiError): void {
  if (signingIn && !error) return; // already asking; keep what was typed
  teardown?.();
  teardown = null;
  live.stop();
  root.replaceChildren();
  showSession(null);
  signingIn = true;
  nav.hidden = true;
  document.title = 'Sign in · Rewind';
  teardown = renderSignIn(root, {
    onSignedIn: (info) => {
      showSession(info);
      render();
    },
    ...(error ? { error } : {}),
  });
}

function render(): void {
  teardown?.();
  teardown = null;
  signingIn = false;
  nav.hidden = false;
  root.replaceChildren();
  const route = parseRoute(window.location.hash);
  markNav(route);
  document.body.dataset['page'] = route.name;
  switch (route.name) {
    case 'list':
      document.title = 'Incidents · Rewind';
      teardown = renderList(root, route.query);
      break;
    case 'incident':
      document.title = 'Incident · Rewind';
      teardown = renderIncident(root, route.id);
      break;
    case 'deploys':
      document.title = 'Deploys · Rewind';
      teardown = renderDeploys(root);
      break;
    case 'perf':
      document.title = 'Timing · Rewind';
      teardown = renderPerf(root, route.query);
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
  } else if (fromPath.name === 'deploys') {
    window.history.replaceState(null, '', '/#/deploys');
  }
}

// The skip link's `#app` is not a route: move the focus instead.
document.querySelector('.skip-link')?.addEventListener('click', (e) => {
  e.preventDefault();
  root.focus();
});

setUnauthorizedHandler(() => showSignIn());
window.addEventListener('hashchange', () => {
  // A pasted sign-in link while the page is open.
  if (tokenFromHash(window.location.hash) !== null) void start();
  else render();
});

/** Signs in with the token of a sign-in link (`#token=rwd_…`, `#/…?token=rwd_…`), if any, then shows the route. */
async function start(): Promise<void> {
  const link = tokenFromHash(window.location.hash);
  if (link !== null) {
    // Take the secret out of the address bar (and history) before anything else.
    window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}${link.hash}`);
    try {
      showSession(await signIn(link.token));
    } catch (e) {
      showSignIn(e instanceof ApiError ? e : new ApiError('unexpected', String(e), undefined, 0));
      return;
    }
    render();
    return;
  }
  render();
  refreshSession();
}

void start();
