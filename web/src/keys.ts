// Keyboard shortcuts of the lists: j/k or the arrows move, Enter opens,
// / goes to the search box, Escape leaves it. Pure, so the mapping is tested.

export type ListAction = 'next' | 'prev' | 'first' | 'last' | 'open' | 'search' | 'leave';

export interface KeyInfo {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
}

/** What a key does on a list; `inField` when the focus is in a text field (where letters type). */
export function listKeyAction(e: KeyInfo, inField: boolean): ListAction | null {
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  if (inField) {
    if (e.key === 'Escape') return 'leave';
    if (e.key === 'ArrowDown') return 'next';
    return null;
  }
  switch (e.key) {
    case 'j':
    case 'ArrowDown':
      return 'next';
    case 'k':
    case 'ArrowUp':
      return 'prev';
    case 'Home':
      return 'first';
    case 'End':
      return 'last';
    case 'Enter':
    case 'o':
      return 'open';
    case '/':
      return 'search';
    default:
      return null;
  }
}

/** The selected row after `action`, for a list of `length` rows (-1: none selected). */
export function moveSelection(index: number, action: ListAction, length: number): number {
  if (length === 0) return -1;
  switch (action) {
    case 'next':
      return index < 0 ? 0 : Math.min(length - 1, index + 1);
    case 'prev':
      return index < 0 ? 0 : Math.max(0, index - 1);
    case 'first':
      return 0;
    case 'last':
      return length - 1;
    default:
      return Math.min(index, length - 1);
  }
}
