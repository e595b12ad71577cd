// Light and dark themes. The page follows the system (`prefers-color-scheme`)
// until someone picks one with the toggle; the choice is kept in
// localStorage. CSS reads `html[data-theme]`; charts draw on canvas and take
// their colours from `chartColors()`, and views redraw them on `onThemeChange`.

export type ThemeChoice = 'system' | 'light' | 'dark';
export type Theme = 'light' | 'dark';

const KEY = 'rewind.theme';

export interface ChartColors {
  text: string;
  axis: string;
  grid: string;
  /** The trigger (T+0). */
  marker: string;
  /** Deploys. */
  deploy: string;
  threshold: string;
  band: string;
  /** Series colours, the first for the evidence or headline series. */
  series: string[];
  eventLevels: { error: string; warning: string; info: string };
  surface: string;
}

// Series colours chosen to stay apart from each other and from the marker
// red and deploy purple, with at least 3:1 against the chart background.
const LIGHT: ChartColors = {
  text: '#1f2937',
  axis: '#4b5563',
  grid: 'rgba(17, 24, 39, 0.09)',
  marker: '#c81e1e',
  deploy: '#7c3aed',
  threshold: '#b45309',
  band: 'rgba(200, 30, 30, 0.08)',
  series: ['#1d4ed8', '#0f766e', '#c2410c', '#4d7c0f', '#a21caf', '#0369a1', '#92400e', '#475569', '#be185d', '#15803d', '#6d28d9', '#0e7490'],
  eventLevels: { error: '#c81e1e', warning: '#b45309', info: '#475569' },
  surface: '#ffffff',
};

const DARK: ChartColors = {
  text: '#e5e7eb',
  axis: '#9ca3af',
  grid: 'rgba(229, 231, 235, 0.10)',
  marker: '#f87171',
  deploy: '#c4b5fd',
  threshold: '#fbbf24',
  band: 'rgba(248, 113, 113, 0.12)',
  series: ['#60a5fa', '#2dd4bf', '#fb923c', '#a3e635', '#f0abfc', '#38bdf8', '#fcd34d', '#cbd5e1', '#f9a8d4', '#4ade80', '#c4b5fd', '#67e8f9'],
  eventLevels: { error: '#f87171', warning: '#fbbf24', info: '#cbd5e1' },
  surface: '#161b22',
};

export function colorsFor(theme: Theme): ChartColors {
  return theme === 'dark' ? DARK : LIGHT;
}

function storage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

export function themeChoice(): ThemeChoice {
  const v = storage()?.getItem(KEY);
  return v === 'light' || v === 'dark' ? v : 'system';
}

function systemTheme(): Theme {
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** The theme in effect. */
export function currentTheme(): Theme {
  const c = themeChoice();
  return c === 'system' ? systemTheme() : c;
}

/** The colours charts draw with now. */
export function chartColors(): ChartColors {
  return colorsFor(currentTheme());
}

const listeners = new Set<(t: Theme) => void>();

export function onThemeChange(fn: (t: Theme) => void): () => void {
  listeners.add(fn);
  return () => {
    listeners.delete(fn);
  };
}

function apply(): void {
  const t = currentTheme();
  const root = document.documentElement;
  if (root.dataset['theme'] === t) return;
  root.dataset['theme'] = t;
  root.style.colorScheme = t;
  for (const fn of [...listeners]) fn(t);
}

/** Sets and remembers a choice (`system` forgets it). */
export function setThemeChoice(choice: ThemeChoice): void {
  const s = storage();
  if (choice === 'system') s?.removeItem(KEY);
  else s?.setItem(KEY, choice);
  apply();
}

/** The next choice of the toggle: system → the opposite of what shows → back to system. */
export function nextChoice(choice: ThemeChoice, shown: Theme): ThemeChoice {
  if (choice === 'system') return shown === 'dark' ? 'light' : 'dark';
  return 'system';
}

/** Applies the theme now and follows the system's changes. */
export function initTheme(): void {
  apply();
  if (typeof matchMedia === 'function') {
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', apply);
  }
}

/** The toggle button for the top bar. */
export function themeToggle(): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'theme-toggle';
  button.dataset['testid'] = 'theme-toggle';
  const label = (): void => {
    const choice = themeChoice();
    const shown = currentTheme();
    const next = nextChoice(choice, shown);
    button.textContent = shown === 'dark' ? '☾ Dark' : '☀ Light';
    button.title = `Theme: ${shown}${choice === 'system' ? ' (following the system)' : ''}. Click for ${next === 'system' ? 'the system theme' : next}.`;
    button.setAttribute('aria-label', button.title);
  };
  button.addEventListener('click', () => {
    setThemeChoice(nextChoice(themeChoice(), currentTheme()));
    label();
  });
  onThemeChange(label);
  label();
  return button;
}
