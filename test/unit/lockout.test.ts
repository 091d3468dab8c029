// The lockout rules that need no database: how a typed name is normalised, and how long each lockout lasts.
import { describe, expect, it } from 'vitest';
import { lockoutSeconds, normaliseLoginName } from '../../src/main/identity/lockout.js';

describe('normaliseLoginName', () => {
  it('folds every way of typing one name to one form', () => {
    const forms = [
      'jdoe',
      'JDoe',
      ' jdoe ',
      'EXAMPLE\\jdoe',
      'example\\JDOE',
      'jdoe@example.org',
      'JDOE@EXAMPLE.ORG',
      'jdoe@other.example',
      'ｊｄｏｅ',
      'j\u200bdoe',
      'jdoe\u00ad',
      'OTHER\\jdoe@example.org',
    ];
    expect(new Set(forms.map(normaliseLoginName))).toEqual(new Set(['jdoe']));
  });

  it('keeps different names apart', () => {
    expect(normaliseLoginName('jdoe')).not.toBe(normaliseLoginName('jdoe2'));
    expect(normaliseLoginName('j doe')).toBe(normaliseLoginName('j   doe'));
    expect(normaliseLoginName('j doe')).not.toBe(normaliseLoginName('jdoe'));
  });
});

describe('lockoutSeconds', () => {
  it('doubles with each lockout in a row, up to the cap, never below the base', () => {
    const policy = { maxFailures: 5, baseSeconds: 60, maxSeconds: 3600 };
    expect([0, 1, 2, 3, 4, 5, 6, 7, 100].map((n) => lockoutSeconds(policy, n))).toEqual([60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    // A cap below the base (policy set only the base, high): the base.
    expect(lockoutSeconds({ maxFailures: 5, baseSeconds: 7200, maxSeconds: 3600 }, 3)).toBe(7200);
  });
});
