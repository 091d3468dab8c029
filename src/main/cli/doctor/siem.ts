// SIEM destinations: for each, the files it names, then a TLS handshake with
// its CA and client certificate. Nothing is sent: no events, no test message.
// For Splunk HEC, the unauthenticated health endpoint is asked how it is.
import type { Policy, SiemDestination } from '../../policy/index.js';
import { DeliveryError, readHecToken } from '../../siem/index.js';
import { broadReaders, readSddl } from './windows-acl.js';
import { fail, ok, skip, warn, type CheckResult } from './check.js';
import { describeClosedAfterHandshake, describeServerCertificate, endpointOf, httpsGet, loadTlsMaterial, probeTls, type Endpoint } from './tls-probe.js';

export const SIEM_TIMEOUT_MS = 5_000;

function where(destination: SiemDestination): { label: string; endpoint: Endpoint } | { label: string; problem: string } {
  if (destination.type === 'syslog-tls') {
    const match = /^(.+):(\d+)$/.exec(destination.address);
    const port = Number(match?.[2]);
    if (!match || !(port >= 1 && port <= 65535)) return { label: destination.address, problem: `address ${destination.address} is not host:port` };
    return { label: destination.address, endpoint: { host: match[1]!, port } };
  }
  const url = new URL(destination.url);
  return { label: url.origin, endpoint: endpointOf(url, 443) };
}

async function checkDestination(destination: SiemDestination, index: number, timeoutMs: number): Promise<CheckResult> {
  const prefix = `siem.destinations[${index}]`;
  const target = where(destination);
  const name = `siem ${destination.id} (${destination.type} ${target.label})`;
  if ('problem' in target) return fail(name, target.problem);

  // The HEC token: a tokenFile that cannot be used blocks delivery, as it would at send time; an inline one works but is readable by every local account.
  const tokenNotes: string[] = [];
  if (destination.type === 'splunk-hec') {
    if (destination.tokenFile !== undefined) {
      try {
        await readHecToken(destination);
      } catch (error) {
        if (error instanceof DeliveryError) return fail(name, error.message);
        throw error;
      }
      // Windows: no mode bits for the transport to check; the ACL says who can read it.
      if (process.platform === 'win32') {
        const sddl = await readSddl(destination.tokenFile);
        const readers = sddl === null ? null : broadReaders(sddl);
        if (readers === null)
          tokenNotes.push(`the access list of ${prefix}.tokenFile ${destination.tokenFile} could not be read; make sure only the account Enclave runs as and Administrators can read it`);
        else if (readers.length > 0)
          tokenNotes.push(`${prefix}.tokenFile ${destination.tokenFile} can be read by ${readers.join(', ')} (its access list): restrict it to the account Enclave runs as and Administrators`);
      }
    } else {
      tokenNotes.push(
        `the HEC token is inline in the policy (${prefix}.token), where every local account can read it: move it to a file only Enclave can read and set ${prefix}.tokenFile, or use mutual TLS where the collector supports it`,
      );
    }
  }

  const loaded = loadTlsMaterial(destination, prefix);
  if (!loaded.ok) return fail(name, loaded.problems.join('; '));
  const { material } = loaded;
  const notes = [...material.warnings, ...tokenNotes];

  const probe = await probeTls(target.endpoint, material, timeoutMs);
  if (!probe.ok) return fail(name, probe.reason);
  if (probe.closedEarly) {
    // A receiver that hangs up before a byte was sent will not take events either; most often it refused the client certificate without a TLS alert.
    return fail(name, describeClosedAfterHandshake(target.endpoint, material));
  }
  const server = describeServerCertificate(probe.server);
  if (server.expiresSoon) notes.push(server.expiresSoon);
  const client = material.clientCert ? (probe.confirmed ? 'mutual TLS, client certificate accepted' : 'mutual TLS, client certificate sent') : 'no client certificate';
  if (destination.type === 'syslog-tls' && !material.clientCert) notes.push(`no client certificate is configured (${prefix}.clientCertFile); the receiver cannot tell this workstation from any other`);
  let detail = `TLS handshake OK (${probe.protocol}, ${client}); ${server.text}`;

  if (destination.type === 'splunk-hec') {
    const health = await httpsGet(new URL('/services/collector/health', destination.url), material, timeoutMs);
    if (!health.ok) notes.push(`the HEC health check failed: ${health.reason}`);
    else {
      const text = hecText(health.body);
      if (health.status === 200) detail += `; HEC health: ${text || 'healthy'}`;
      else if (health.status === 404) notes.push(`no HEC health endpoint at ${new URL('/services/collector/health', destination.url).href} (HTTP 404): is this a Splunk HTTP Event Collector?`);
      else notes.push(`HEC health answered HTTP ${health.status}${text ? `: ${text}` : ''}`);
    }
  }
  if (notes.length > 0) return warn(name, `${detail}; but ${notes.join('; ')}`);
  return ok(name, detail);
}

/** Splunk answers {"text":"HEC is healthy","code":17}. */
function hecText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { text?: unknown };
    if (typeof parsed.text === 'string') return parsed.text;
  } catch {
    // not JSON
  }
  return body.trim().slice(0, 200);
}

export async function checkSiem(policy: Policy, timeoutMs = SIEM_TIMEOUT_MS): Promise<CheckResult[]> {
  const destinations = policy.siem.destinations;
  if (destinations.length === 0) {
    return [
      skip(
        'siem',
        policy.mode === 'evaluation'
          ? 'evaluation mode: no SIEM destination configured; audit batches stay on this workstation'
          : 'no SIEM destination configured (siem.destinations); audit batches stay on this workstation',
      ),
    ];
  }
  return Promise.all(destinations.map((d, i) => checkDestination(d, i, timeoutMs)));
}
