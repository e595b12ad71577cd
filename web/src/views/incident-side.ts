// The panels beside an incident's timeline: its status and the moves it
// allows, the evidence, notes, who did what, and the downloads.

import {
  ApiError,
  addNote,
  downloadLinks,
  reopen,
  transition,
  type IncidentDetail,
  type IncidentStatus,
  type IncidentSummary,
  type TimelineEntry,
} from '../api';
import { badge, errorBox, h } from '../dom';
import {
  formatBytes,
  formatCondition,
  formatDateTime,
  formatDuration,
  formatRelative,
  formatSignificant,
  formatValue,
  parseTimestamp,
} from '../format';
import {
  allowedFromError,
  allowedTransitions,
  describeEntry,
  isActive,
  statusFromError,
  transitionLabel,
} from '../lifecycle';
import { incidentHref } from '../route';
import { canRespond } from '../session';

function asApiError(e: unknown): ApiError {
  return e instanceof ApiError ? e : new ApiError('unexpected', String(e), undefined, 0);
}

function panel(title: string, testid: string, ...children: Array<Node | null>): HTMLElement {
  const id = `panel-${testid}`;
  return h('section', { class: 'card side-panel', 'data-testid': testid, 'aria-labelledby': id }, h('h3', { id }, title), ...children);
}

export interface LifecyclePanel {
  el: HTMLElement;
  /** Shows `status` with its moves (`allowed` when the server named them). */
  setStatus(status: IncidentStatus, allowed?: IncidentStatus[]): void;
}

/** The status, a button per allowed move, a reason, and Reopen once resolved. */
export function lifecyclePanel(opts: {
  id: string;
  status: IncidentStatus;
  onMoved: (summary: IncidentSummary) => void;
  onReopened: (summary: IncidentSummary) => void;
}): LifecyclePanel {
  const statusSlot = h('span', { 'data-testid': 'lifecycle-status' });
  const buttons = h('div', { class: 'lifecycle-buttons', role: 'group', 'aria-label': 'Move the incident' });
  const reason = h('input', {
    type: 'text',
    id: `reason-${opts.id}`,
    class: 'reason',
    maxlength: 10000,
    placeholder: 'why (optional, goes on the timeline)',
    'data-testid': 'transition-reason',
  });
  const errorSlot = h('div', { 'aria-live': 'polite' });
  const note = h('p', { class: 'muted small' });
  const el = panel(
    'Status',
    'lifecycle',
    h('p', { class: 'lifecycle-now' }, 'Now ', statusSlot),
    h('label', { for: `reason-${opts.id}`, class: 'sr-only' }, 'Reason for the move'),
    reason,
    buttons,
    note,
    errorSlot,
  );
  let current = opts.status;

  const act = (b: HTMLButtonElement, run: () => Promise<void>): void => {
    b.addEventListener('click', () => {
      for (const x of buttons.querySelectorAll('button')) x.disabled = true;
      errorSlot.replaceChildren();
      run()
        .catch((e: unknown) => {
          const err = asApiError(e);
          errorSlot.replaceChildren(errorBox(err.message, err.hint, err.code));
          // The server says what is allowed now (someone else may have moved it).
          const allowed = allowedFromError(err);
          setStatus(statusFromError(err) ?? current, allowed ?? undefined);
        })
        .finally(() => {
          for (const x of buttons.querySelectorAll('button')) x.disabled = !canRespond();
        });
    });
  };

  function setStatus(status: IncidentStatus, allowed?: IncidentStatus[]): void {
    current = status;
    statusSlot.replaceChildren(badge('status', status));
    const moves = allowed ?? allowedTransitions(status);
    const mayWrite = canRespond();
    const list: HTMLButtonElement[] = moves.map((to) => {
      const b = h(
        'button',
        { type: 'button', class: `action action-${to}`, 'data-testid': `transition-${to}`, disabled: !mayWrite },
        transitionLabel(to, status),
      );
      act(b, async () => {
        const summary = await transition(opts.id, to, reason.value);
        reason.value = '';
        setStatus(summary.status);
        opts.onMoved(summary);
      });
      return b;
    });
    if (!isActive(status)) {
      const b = h('button', { type: 'button', class: 'action', 'data-testid': 'reopen', disabled: !mayWrite }, 'Reopen as a new incident');
      act(b, async () => {
        const summary = await reopen(opts.id, reason.value);
        opts.onReopened(summary);
      });
      list.push(b);
    }
    buttons.replaceChildren(...list);
    reason.hidden = list.length === 0;
    note.textContent = !mayWrite
      ? 'Your token is a viewer’s: moving incidents needs a responder.'
      : isActive(status)
        ? ''
        : 'Resolved incidents are final: nothing changes them. Reopening makes a new incident.';
  }
  setStatus(opts.status);
  return { el, setStatus };
}

function evidenceItem(detail: IncidentDetail, ev: IncidentDetail['trigger']['evidence'][number], firedAt: number): HTMLElement {
  const unit = detail.series.find((s) => s.name === ev.series)?.unit ?? '';
  const since = parseTimestamp(ev.since);
  const b = ev.baseline;
  const rows: Array<[string, string]> = [];
  if (b) {
    rows.push(['Baseline', `${formatValue(b.level, unit)} ± ${formatSignificant(b.spread)} (${b.samples} samples over ${formatDuration(b.window_nanos / 1e9)})`]);
    rows.push(['Now', `${formatValue(ev.observed, unit)}, peak ${formatValue(ev.peak, unit)}`]);
    if (b.level !== 0) {
      const change = (ev.observed / b.level - 1) * 100;
      rows.push(['Change', `${change > 0 ? '+' : ''}${change.toFixed(1)}%`]);
    }
  } else {
    rows.push(['Condition', formatCondition(ev.condition, unit)]);
    rows.push(['Observed', `${formatValue(ev.observed, unit)}, peak ${formatValue(ev.peak, unit)}`]);
  }
  rows.push(['Held since', Number.isFinite(since) ? `${formatRelative(since - firedAt)} (${formatDuration(firedAt - since)} before T+0)` : ev.since]);
  rows.push(['Samples', String(ev.samples)]);
  if (ev.predicted_at) rows.push(['Predicted at', ev.predicted_at]);
  return h(
    'div',
    { class: 'evidence-item', 'data-testid': 'evidence-item', 'data-series': ev.series },
    h('code', { class: 'series-name' }, ev.series),
    ev.text ? h('p', { class: 'evidence-text' }, ev.text) : null,
    h('dl', { class: 'evidence-facts' }, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
  );
}

/** The evidence, and the trigger's labels (a regression names its deploy there). */
export function evidencePanel(detail: IncidentDetail, firedAt: number): HTMLElement {
  const evidence = detail.trigger.evidence;
  const labels = Object.entries(detail.trigger.labels ?? {});
  const deployId = detail.trigger.labels?.['deploy_id'];
  return panel(
    'Evidence',
    'evidence',
    evidence.length === 0
      ? h('p', { class: 'muted' }, 'The rule reported no evidence.')
      : h('div', { class: 'evidence-list', 'data-testid': 'evidence-table' }, ...evidence.map((ev) => evidenceItem(detail, ev, firedAt))),
    labels.length > 0
      ? h(
          'dl',
          { class: 'labels', 'data-testid': 'trigger-labels' },
          ...labels.flatMap(([k, v]) => [
            h('dt', {}, k),
            h('dd', {}, k === 'deploy_id' ? h('a', { href: `#/deploys?deploy=${encodeURIComponent(v)}` }, h('code', {}, v)) : v),
          ]),
        )
      : null,
    deployId
      ? h('p', { class: 'small' }, h('a', { href: `#/deploys?deploy=${encodeURIComponent(deployId)}` }, 'See the deploy’s regression check →'))
      : null,
  );
}

export interface NotesPanel {
  el: HTMLElement;
  setActive(active: boolean): void;
}

/** A form that adds a note. */
export function notesPanel(opts: { id: string; active: boolean; onAdded: (entry: TimelineEntry) => void }): NotesPanel {
  const text = h('textarea', {
    id: `note-${opts.id}`,
    rows: 3,
    maxlength: 10000,
    placeholder: 'What you saw, what you tried…',
    'data-testid': 'note-input',
  });
  const submit = h('button', { type: 'submit', 'data-testid': 'note-submit' }, 'Add note');
  const errorSlot = h('div', { 'aria-live': 'polite' });
  const why = h('p', { class: 'muted small' });
  const form = h(
    'form',
    { class: 'note-form' },
    h('label', { for: `note-${opts.id}` }, 'Add a note'),
    text,
    h('div', { class: 'form-row' }, submit),
    why,
    errorSlot,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = text.value.trim();
    if (!value) return;
    submit.disabled = true;
    errorSlot.replaceChildren();
    addNote(opts.id, value)
      .then((entry) => {
        text.value = '';
        opts.onAdded(entry);
      })
      .catch((err: unknown) => {
        const a = asApiError(err);
        errorSlot.replaceChildren(errorBox(a.message, a.hint, a.code));
      })
      .finally(() => {
        submit.disabled = !canRespond() || text.disabled;
      });
  });
  const setActive = (active: boolean): void => {
    const may = canRespond();
    text.disabled = !active || !may;
    submit.disabled = !active || !may;
    why.textContent = !may ? 'Writing notes needs a responder token.' : active ? '' : 'The incident is resolved: it takes no more notes.';
  };
  setActive(opts.active);
  return { el: form, setActive };
}

export interface ActivityPanel {
  el: HTMLElement;
  set(entries: readonly TimelineEntry[]): void;
}

/** Who did what, oldest first: the incident's timeline. */
export function activityPanel(notes: HTMLElement): ActivityPanel {
  const list = h('ol', { class: 'activity', 'data-testid': 'activity', 'aria-live': 'polite' });
  const el = panel('Activity and notes', 'activity-panel', list, notes);
  return {
    el,
    set(entries) {
      list.replaceChildren(
        ...entries.map((e) => {
          const { title, detail } = describeEntry(e);
          const at = parseTimestamp(e.at);
          return h(
            'li',
            { class: `activity-entry kind-${e.kind}`, 'data-testid': 'activity-entry', 'data-seq': e.seq, 'data-kind': e.kind },
            h(
              'div',
              { class: 'activity-head' },
              h('strong', {}, e.actor),
              ' ',
              title,
              e.kind === 'opened' && e.reopened_from
                ? h('span', {}, ' (', h('a', { href: incidentHref(e.reopened_from) }, 'the resolved one'), ')')
                : null,
              h('time', { class: 'muted', datetime: e.at, title: e.at }, formatDateTime(at)),
            ),
            detail ? h('p', { class: e.kind === 'note' ? 'note-text' : 'muted small' }, detail) : null,
          );
        }),
      );
    },
  };
}

/** The bundle, the Markdown postmortem draft and the JSON export. */
export function downloadsPanel(detail: IncidentDetail): HTMLElement {
  const links = downloadLinks(detail);
  const item = (href: string, testid: string, label: string, what: string, filename: string): HTMLElement =>
    h('li', {}, h('a', { href, download: filename, 'data-testid': testid }, label), h('span', { class: 'muted small' }, ` ${what}`));
  return panel(
    'Downloads',
    'downloads',
    h(
      'ul',
      { class: 'downloads' },
      item(links.bundle, 'download-bundle', 'Bundle (.zip)', formatBytes(detail.bundle_bytes), `bundle_${detail.device_id}_${detail.bundle_id}.zip`),
      item(links.markdown, 'download-markdown', 'Postmortem draft (Markdown)', 'summary, timeline, evidence', `incident_${detail.id}.md`),
      item(links.json, 'download-json', 'Everything (JSON)', 'incident, timeline, bundles, deploys', `incident_${detail.id}.json`),
    ),
  );
}
