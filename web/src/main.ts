// Entry point: a hash router that swaps the list and incident views, and
// the sign-in view whenever the server answers 401.

import './style.css';

import { ApiError, setUnauthorizedHandler, signIn, signOut, tokenFromHash, whoAmI, type SessionInfo } from './api';
import { h } from './dom';
import { parseRoute } from './route';
import { renderIncident } from './views/incident';
import { renderList } from './views/list';
import { renderSignIn } from './views/signin';

const app = document.getElementById('app');
if (!app) throw new Error('index.html has no #app element');
const root: HTMLElement = app;

let teardown: (() => void) | null = null;
/** Whether the sign-in view is what is shown. */
let signingIn = false;

// The "signed in as … / Sign out" corner of the top bar.
const sessionBox = h('div', { class: 'session', 'data-testid': 'session', hidden: true });
document.querySelector('header.topbar')?.append(sessionBox);

function showSession(info: SessionInfo | null): void {
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
  root.replaceChildren();
  showSession(null);
  signingIn = true;
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
