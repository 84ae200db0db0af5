import { describe, expect, it } from 'vitest';
import { DEFAULT_PLUGINS, roadWarriorResponder, strongswanConf } from '../../lab/harness/strongswan.ts';
import { splitRule } from '../../lab/harness/lab.ts';
import { TailBuffer } from '../../lab/harness/exec.ts';

/** every non-brace line holds exactly one "key = value" (strongSwan rejects two on a line) */
function settingsPerLine(conf: string): string[] {
  return conf.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^[\w-]+ \{$|^\}$/.test(l));
}

describe('strongswan.conf template', () => {
  it('loads kernel-libipsec (not XFRM), points vici at the given socket, one setting per line', () => {
    const conf = strongswanConf({ viciSocket: '/tmp/x/charon.vici' });
    expect(conf).toContain(`load = ${DEFAULT_PLUGINS.join(' ')}`);
    expect(DEFAULT_PLUGINS).toContain('kernel-libipsec');
    expect(conf).toContain('socket = unix:///tmp/x/charon.vici');
    expect(conf).not.toContain('cookie_threshold');
    for (const l of settingsPerLine(conf)) expect(l.match(/ = /g), l).toHaveLength(1);
    expect(conf.split('{').length).toBe(conf.split('}').length);
  });

  it('sets cookie threshold and log levels when asked', () => {
    const conf = strongswanConf({ viciSocket: '/v', cookieThreshold: 0, logLevels: { ike: 4, chd: 4 } });
    expect(conf).toMatch(/^ {2}cookie_threshold = 0$/m);
    expect(conf).toMatch(/^ +ike = 4$/m);
    expect(conf).toMatch(/^ +chd = 4$/m);
    expect(conf).toMatch(/^ +default = 1$/m);
  });

  it('writes the LAB.md road-warrior responder with the given address and an escaped secret', () => {
    const c = roadWarriorResponder({ localAddr: '192.0.2.1', psk: 'a"b\\c' });
    expect(c).toMatch(/^ {4}local_addrs = 192\.0\.2\.1$/m);
    expect(c).toContain('secret = "a\\"b\\\\c"');
    expect(c).toContain('proposals = aes256gcm16-prfsha256-x25519, chacha20poly1305-prfsha256-x25519');
    for (const l of settingsPerLine(c)) expect(l.match(/ = /g), l).toHaveLength(1);
  });
});

describe('harness helpers', () => {
  it('splits iptables -S lines, keeping quoted comments whole', () => {
    expect(splitRule('POSTROUTING -o eth0 -m comment --comment "two words" -j DROP'))
      .toEqual(['POSTROUTING', '-o', 'eth0', '-m', 'comment', '--comment', 'two words', '-j', 'DROP']);
  });

  it('keeps only the tail of a long output and says how much it dropped', () => {
    const b = new TailBuffer(10);
    b.push('aaaaaa');
    b.push('bbbbbb');
    b.push('cc');
    expect(b.text()).toBe('[… 6 earlier characters dropped]\nbbbbbbcc');
    const big = new TailBuffer(4);
    big.push('0123456789');
    expect(big.text()).toBe('6789');
  });
});
