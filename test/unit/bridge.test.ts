import { describe, expect, it, vi } from 'vitest';
import { createBridge, type BridgeTransport } from '../../src/shared/bridge.js';
import type { EventMessage } from '../../src/shared/rpc.js';

function transport() {
  let sink: (m: EventMessage) => void = () => undefined;
  const invoke = vi.fn<BridgeTransport['invoke']>(async () => ({ id: 1, ok: true as const, output: { ok: true } }));
  const t: BridgeTransport = { invoke, onEvent: (s) => void (sink = s) };
  return { t, invoke, push: (m: EventMessage) => sink(m) };
}

describe('window.enclave bridge', () => {
  it('passes contract calls through and unwraps the envelope', async () => {
    const { t, invoke } = transport();
    const bridge = createBridge(t);
    await expect(bridge.call('app.activity', {})).resolves.toEqual({ ok: true, output: { ok: true } });
    expect(invoke).toHaveBeenCalledWith('app.activity', {});
  });

  it('never sends a call that is not in the contract', async () => {
    const { t, invoke } = transport();
    const bridge = createBridge(t);
    const result = await bridge.call('fs.readFile' as never, {} as never);
    expect(result).toEqual({ ok: false, error: { code: 'unknown_call', message: 'There is no call named "fs.readFile".' } });
    expect(invoke).not.toHaveBeenCalled();
  });

  it('delivers events to their listeners until unsubscribed, and drops unknown events', () => {
    const { t, push } = transport();
    const bridge = createBridge(t);
    const seen: unknown[] = [];
    const off = bridge.on('session.changed', (p) => seen.push(p));
    push({ event: 'session.changed', payload: { state: 'signed-out' } });
    push({ event: 'not.an.event', payload: 1 });
    off();
    push({ event: 'session.changed', payload: { state: 'signed-out' } });
    expect(seen).toEqual([{ state: 'signed-out' }]);
    expect(() => bridge.on('bogus' as never, () => undefined)).toThrow(/no event named/);
  });
});
