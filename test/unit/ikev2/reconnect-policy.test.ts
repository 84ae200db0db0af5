import { describe, expect, it } from 'vitest';
import { ReconnectPolicy } from '../../../app/ikev2/reconnect-policy.ts';

describe('VPN reconnect policy', () => {
  it('never before the first setup, nor when disabled, nor while stopping', () => {
    const p = new ReconnectPolicy(true);
    expect(p.recovers({ code: 'DEAD_PEER' }, false)).toBe(false);
    p.established();
    expect(p.recovers({ code: 'DEAD_PEER' }, true)).toBe(false);
    const off = new ReconnectPolicy(false);
    off.established();
    expect(off.recovers(undefined, false)).toBe(false);
  });

  it('silence and the gateway deleting the SA are recovered; a refusal is final', () => {
    const p = new ReconnectPolicy(true);
    p.established();
    expect(p.recovers({ code: 'DEAD_PEER' }, false)).toBe(true);
    expect(p.recovers({ code: 'TIMEOUT' }, false)).toBe(true);
    expect(p.recovers(undefined, false)).toBe(true);
    expect(p.recovers({ code: 'AUTHENTICATION_FAILED' }, false)).toBe(false);
  });

  it('waits 1 s, doubling to 30 s; a new setup starts the count again', () => {
    const p = new ReconnectPolicy(true);
    expect([1, 2, 3, 4, 5, 6, 7].map(() => p.nextDelay())).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    p.established();
    expect(p.nextDelay()).toBe(1000);
  });
});
