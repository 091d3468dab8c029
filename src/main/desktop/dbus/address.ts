// D-Bus addresses: which sockets a client may connect to.
import { DbusError } from './types.js';

/**
 * Where to connect, from a D-Bus address ("unix:path=/run/user/1000/bus",
 * "unix:abstract=/tmp/dbus-x,guid=...", several separated by ";"): every unix
 * path or abstract socket, in order (a client tries them one after another).
 * Node names an abstract socket with a leading NUL.
 */
export function socketPathsFromAddress(address: string): string[] {
  const paths: string[] = [];
  for (const entry of address.split(';')) {
    const colon = entry.indexOf(':');
    if (colon < 0 || entry.slice(0, colon) !== 'unix') continue;
    const params = new Map<string, string>();
    for (const pair of entry.slice(colon + 1).split(',')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      let value: string;
      try {
        value = decodeURIComponent(pair.slice(eq + 1));
      } catch {
        continue;
      }
      params.set(pair.slice(0, eq), value);
    }
    const path = params.get('path');
    const abstract = params.get('abstract');
    if (path) paths.push(path);
    else if (abstract) paths.push(`\0${abstract}`);
  }
  if (paths.length === 0) throw new DbusError(`no unix socket in the D-Bus address "${address.slice(0, 200)}" (only unix:path= and unix:abstract= are supported)`);
  return paths;
}
