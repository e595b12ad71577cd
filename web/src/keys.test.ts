import { describe, expect, it } from 'vitest';
import { listKeyAction, moveSelection } from './keys';

describe('list keys', () => {
  it('map j/k, the arrows, Enter and /', () => {
    expect(['j', 'ArrowDown', 'k', 'ArrowUp', 'Enter', '/', 'x'].map((key) => listKeyAction({ key }, false))).toEqual([
      'next',
      'next',
      'prev',
      'prev',
      'open',
      'search',
      null,
    ]);
    expect(listKeyAction({ key: 'j', ctrlKey: true }, false)).toBeNull();
  });

  it('let letters type in a field, but Escape and ↓ leave it', () => {
    expect(listKeyAction({ key: 'j' }, true)).toBeNull();
    expect(listKeyAction({ key: '/' }, true)).toBeNull();
    expect(listKeyAction({ key: 'Escape' }, true)).toBe('leave');
    expect(listKeyAction({ key: 'ArrowDown' }, true)).toBe('next');
  });

  it('move the selection within the list', () => {
    expect(moveSelection(-1, 'next', 3)).toBe(0);
    expect(moveSelection(2, 'next', 3)).toBe(2);
    expect(moveSelection(0, 'prev', 3)).toBe(0);
    expect(moveSelection(1, 'last', 3)).toBe(2);
    expect(moveSelection(1, 'next', 0)).toBe(-1);
  });
});
