// Directory servers (Active Directory over LDAP): each server in
// directory.servers must answer and, unless the lab setting allows plain LDAP,
// present a certificate that chains to directory.caFile (or the default trust
// store) and names the host. ldaps:// is checked with a TLS handshake, ldap://
// with StartTLS through ldapts, exactly the upgrade sign-in uses. No bind is
// attempted: the doctor holds no credentials.
import type tls from 'node:tls';
import { connect as tlsConnect } from 'node:tls';
import { isIP } from 'node:net';
import { Client } from 'ldapts';
import type { Policy } from '../../policy/index.js';
import { MIN_TLS_VERSION } from '../../tls/index.js';
import { fail, messageOf, ok, seconds, skip, TimeoutError, warn, withTimeout, type CheckResult } from './check.js';
import { describeNetworkError, describeServerCertificate, endpointOf, loadTlsMaterial, peerCertificate, probeTcp, probeTls, verifyPeer, type Endpoint, type TlsMaterial } from './tls-probe.js';

type Probe = { ok: true; detail: string; notes: string[] } | { ok: false; reason: string };

async function startTls(endpoint: Endpoint, material: TlsMaterial, timeoutMs: number): Promise<Probe> {
  let secure: tls.TLSSocket | undefined;
  const client = new Client({
    url: `ldap://${isIP(endpoint.host) === 6 ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`,
    connectTimeout: timeoutMs,
    timeout: timeoutMs,
    // Keep the upgraded socket, to read the certificate it was given.
    createSecureConnection: ((options: tls.ConnectionOptions) => {
      secure = tlsConnect(options);
      return secure;
    }) as typeof tlsConnect,
  });
  try {
    await withTimeout(
      client.startTLS({
        ca: material.ca,
        host: endpoint.host,
        ...(isIP(endpoint.host) ? {} : { servername: endpoint.host }),
        minVersion: MIN_TLS_VERSION,
        // Checked below with verifyPeer, so the message names the certificate.
        rejectUnauthorized: false,
      }),
      timeoutMs,
    );
    if (!secure) return { ok: false, reason: 'StartTLS did not open a TLS connection' };
    const refused = verifyPeer(secure, endpoint, material);
    if (refused) return { ok: false, reason: `StartTLS: ${refused}` };
    const server = describeServerCertificate(peerCertificate(secure));
    return { ok: true, detail: `StartTLS OK (${secure.getProtocol() ?? 'TLS'}); ${server.text}`, notes: server.expiresSoon ? [server.expiresSoon] : [] };
  } catch (error) {
    if (error instanceof TimeoutError || messageOf(error) === 'Connection timeout') {
      return { ok: false, reason: `timed out after ${seconds(timeoutMs)} (directory.timeoutSeconds): no answer from ${endpoint.host}:${endpoint.port}` };
    }
    // ldapts result codes are numbers (the server answered the StartTLS request with an error); socket errors are strings.
    if (typeof (error as { code?: unknown }).code === 'number') {
      return { ok: false, reason: `the server refused StartTLS (${messageOf(error)}); use ldaps:// or enable StartTLS on the domain controller (it needs a certificate)` };
    }
    return { ok: false, reason: describeNetworkError(error, endpoint, material, false) };
  } finally {
    await withTimeout(client.unbind(), 1000).catch(() => undefined);
    secure?.destroy();
  }
}

async function checkServer(server: string, policy: Policy, material: TlsMaterial, timeoutMs: number): Promise<Probe & { plain?: boolean }> {
  const url = new URL(server);
  if (url.protocol === 'ldaps:') {
    const endpoint = endpointOf(url, 636);
    const probe = await probeTls(endpoint, material, timeoutMs);
    if (!probe.ok) return probe;
    const cert = describeServerCertificate(probe.server);
    return { ok: true, detail: `TLS OK (${probe.protocol}); ${cert.text}`, notes: cert.expiresSoon ? [cert.expiresSoon] : [] };
  }
  const endpoint = endpointOf(url, 389);
  if (policy.directory.startTls) return startTls(endpoint, material, timeoutMs);
  const tcp = await probeTcp(endpoint, timeoutMs);
  if (!tcp.ok) return tcp;
  return { ok: true, plain: true, detail: 'reachable, but unencrypted: passwords cross the network in the clear (directory.allowUnencryptedLab); use ldaps:// or StartTLS outside a lab', notes: [] };
}

export async function checkDirectory(policy: Policy): Promise<CheckResult[]> {
  const directory = policy.directory;
  if (directory.servers.length === 0) {
    return [skip('directory', policy.mode === 'evaluation' ? 'evaluation mode / no directory configured (directory.servers)' : 'no directory configured (directory.servers is empty)')];
  }
  const loaded = loadTlsMaterial({ caFile: directory.caFile }, 'directory');
  if (!loaded.ok) return [fail('directory', loaded.problems.join('; '))];
  const timeoutMs = directory.timeoutSeconds * 1000;
  const probes = await Promise.all(directory.servers.map((server) => checkServer(server, policy, loaded.material, timeoutMs)));
  const anyOk = probes.some((p) => p.ok);
  return probes.map((probe, i) => {
    const name = `directory ${directory.servers[i]}`;
    if (!probe.ok) {
      // Servers are tried in order: one that fails while another answers slows sign-in but does not stop it.
      return anyOk ? warn(name, `${probe.reason} (another directory server answers, so sign-in still works)`) : fail(name, probe.reason);
    }
    const notes = [...loaded.material.warnings, ...probe.notes];
    if (probe.plain) return warn(name, [probe.detail, ...notes].join('; '));
    return notes.length > 0 ? warn(name, `${probe.detail}; but ${notes.join('; ')}`) : ok(name, probe.detail);
  });
}
