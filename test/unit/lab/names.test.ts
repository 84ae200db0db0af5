import { describe, expect, it } from 'vitest';
import {
  MAX_IFNAME, assignIfNames, checkHostName, checkIfName, isRunId, makeRunId, nsName, runIdOfNamespace, stateFile, workDir,
} from '../../lab/harness/names.ts';

describe('lab names', () => {
  it('makes run ids hw + 4 hex from two random bytes', () => {
    expect(makeRunId(Uint8Array.of(0x0a, 0xff))).toBe('hw0aff');
    expect(makeRunId(Uint8Array.of(0, 0, 9))).toBe('hw0000');
    expect(() => makeRunId(Uint8Array.of(1))).toThrow(/2 random bytes/);
    expect(isRunId('hw0aff')).toBe(true);
    expect(isRunId('hw0AFF')).toBe(false);
    expect(isRunId('hx0aff')).toBe(false);
    expect(isRunId('hw0aff0')).toBe(false);
  });

  it('names namespaces <run>-<host> and recognises only its own', () => {
    const ns = nsName('hw12ab', 'client');
    expect(ns).toBe('hw12ab-client');
    expect(runIdOfNamespace(ns)).toBe('hw12ab');
    expect(runIdOfNamespace('hw12ab-')).toBeUndefined();
    expect(runIdOfNamespace('nmtest')).toBeUndefined();
    expect(runIdOfNamespace('xhw12ab-client')).toBeUndefined();
    expect(runIdOfNamespace('hw12ab-Client')).toBeUndefined();
    expect(stateFile('hw12ab', '/r')).toBe('/r/hw12ab.json');
    expect(workDir('hw12ab', '/r')).toBe('/r/hw12ab');
  });

  it('rejects host and interface names the kernel or the sweeper would not take', () => {
    expect(() => checkHostName('gw')).not.toThrow();
    for (const bad of ['', 'GW', '1gw', 'g-w', 'g w', 'a'.repeat(17)]) expect(() => checkHostName(bad)).toThrow(/lab host name/);
    expect(() => checkIfName('x'.repeat(MAX_IFNAME))).not.toThrow();
    for (const bad of ['', 'x'.repeat(MAX_IFNAME + 1), 'a/b', 'a b']) expect(() => checkIfName(bad)).toThrow(/interface name/);
  });

  it('numbers interfaces per host in link order, around the names the caller chose', () => {
    const names = assignIfNames([
      { a: 'client', b: 'gw' },
      { a: 'gw', b: 'lan', aIf: 'eth0' },
      { a: 'client', b: 'lan', aIf: 'wlan0' },
      { a: 'client', b: 'gw' },
    ]);
    expect(names).toEqual([
      { aIf: 'eth0', bIf: 'eth1' }, // gw's eth0 is taken by the explicit name
      { aIf: 'eth0', bIf: 'eth0' },
      { aIf: 'wlan0', bIf: 'eth1' },
      { aIf: 'eth1', bIf: 'eth2' },
    ]);
    expect(() => assignIfNames([{ a: 'x', b: 'y', aIf: 'e' }, { a: 'x', b: 'y', aIf: 'e' }])).toThrow(/used twice/);
    expect(() => assignIfNames([{ a: 'x', b: 'y', aIf: 'much-too-long-name' }])).toThrow(/interface name/);
  });
});
