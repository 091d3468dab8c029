// How a certificate is named to a person: by its common name, and its dates as days.

/** "CN=dc1.corp.example.org", or the whole subject on one line when it has no CN. */
export function certName(dn: string | undefined): string {
  if (!dn) return '(no name)';
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(dn)?.[1];
  return cn ? `CN=${cn}` : dn.split('\n').join(', ');
}

/** 2026-12-03 (UTC), or "an unknown date". */
export function day(date: Date): string {
  return Number.isNaN(date.getTime()) ? 'an unknown date' : date.toISOString().slice(0, 10);
}
