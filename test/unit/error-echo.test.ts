// What an error may repeat of someone's input: capped, and control characters shown, not sent.
import { describe, expect, it } from 'vitest';
import { capText, echoInput, EnclaveError, ERROR_MESSAGE_MAX_CHARS } from '../../src/shared/errors.js';

describe('error messages quote input within bounds', () => {
  it('capText keeps short text and cuts long text with an ellipsis, never inside a surrogate pair', () => {
    expect(capText('short', 10)).toBe('short');
    expect(capText('x'.repeat(11), 10)).toBe(`${'x'.repeat(9)}…`);
    const emoji = '😀'.repeat(10); // two UTF-16 units each
    const cut = capText(emoji, 6);
    expect(cut).toBe('😀😀…');
    expect(encodeURIComponent(cut)).toBe(encodeURIComponent('😀😀…')); // throws on a lone surrogate
  });

  it('echoInput shows control characters as escapes and caps the result at 64 characters', () => {
    expect(echoInput('a\u0000b\nc')).toBe('a\\u0000b\\u000ac');
    expect(echoInput('k'.repeat(1_000_000))).toBe(`${'k'.repeat(63)}…`);
  });

  it('an EnclaveError built from a huge input crosses the boundary capped', () => {
    const error = new EnclaveError('not_found', `There is no file ${'/a'.repeat(100_000)}`);
    const info = error.toInfo();
    expect(info.code).toBe('not_found');
    expect(info.message).toHaveLength(ERROR_MESSAGE_MAX_CHARS);
    expect(info.message.endsWith('…')).toBe(true);
  });
});
