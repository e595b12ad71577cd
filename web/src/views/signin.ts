// The sign-in view: shown whenever the server answers 401 (no session yet,
// or its token was revoked or expired). The token goes to the server once,
// which keeps it in an HttpOnly cookie; this page never stores it.

import { ApiError, signIn, type SessionInfo } from '../api';
import { errorBox, h } from '../dom';

export interface SignInOptions {
  /** Called once the server accepted the token. */
  onSignedIn: (info: SessionInfo) => void;
  /** An error to show at once (a sign-in link whose token was refused). */
  error?: ApiError;
}

function showError(slot: HTMLElement, e: unknown): void {
  const err = e instanceof ApiError ? e : new ApiError('unexpected', String(e), undefined, 0);
  slot.replaceChildren(errorBox(err.message, err.hint, err.code));
}

/** Renders the sign-in form into `root`. Returns a function that tears it down. */
export function renderSignIn(root: HTMLElement, opts: SignInOptions): () => void {
  let active = true;
  const input = h('input', {
    type: 'password',
    name: 'token',
    id: 'signin-token',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'rwd_…',
    required: true,
    'data-testid': 'signin-token',
  });
  const submit = h('button', { type: 'submit', 'data-testid': 'signin-submit' }, 'Sign in');
  const errorSlot = h('div', { 'data-testid': 'signin-error', 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'signin', 'data-testid': 'signin-view' },
    h('h2', {}, 'Sign in'),
    h(
      'p',
      {},
      'This Rewind server needs a token. Paste one here; the server keeps it in a cookie for this site only.',
    ),
    h(
      'p',
      { class: 'muted' },
      'No token yet? Ask an admin, or make one on the server machine with ',
      h('code', {}, 'rewind token create --name you --role viewer'),
      ' (give it the server\u2019s ',
      h('code', {}, '--state-dir'),
      ').',
    ),
    h('label', { for: 'signin-token' }, 'Token'),
    h('div', { class: 'signin-row' }, input, submit),
    errorSlot,
  );
  if (opts.error) showError(errorSlot, opts.error);

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    submit.disabled = true;
    errorSlot.replaceChildren();
    signIn(token)
      .then((info) => {
        if (active) opts.onSignedIn(info);
      })
      .catch((e: unknown) => {
        if (!active) return;
        showError(errorSlot, e);
        input.select();
      })
      .finally(() => {
        submit.disabled = false;
      });
  });

  root.append(form);
  input.focus();
  return () => {
    active = false;
  };
}
