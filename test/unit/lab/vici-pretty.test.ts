import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ViciParseError, parseListSas, parseViciPretty } from '../../lab/harness/vici-pretty.ts';

// captured from strongSwan 5.9.8 (swanctl --list-sas --pretty) on both ends of one lab tunnel
const fixture = (name: string): string => readFileSync(new URL(`../../lab/fixtures/${name}`, import.meta.url), 'utf8');

describe('swanctl --list-sas --pretty parser', () => {
  it('reads the responder side: SPIs, state, endpoints, virtual IP handed out, CHILD_SA', () => {
    const [sa, ...rest] = parseListSas(fixture('list-sas-pretty-gw.txt'));
    expect(rest).toEqual([]);
    expect(sa).toMatchObject({
      name: 'rw', uniqueId: '1', version: '2', state: 'ESTABLISHED',
      localHost: '192.0.2.1', localPort: 4500, remoteHost: '192.0.2.2', remotePort: 4500,
      localId: 'gw.example', remoteId: 'mn@example', initiator: false,
      spiI: '4ddc5b467fa0196d', spiR: '1234fb9b943b199c', natRemote: true,
      localVips: [], remoteVips: ['10.10.100.1'],
    });
    expect(sa?.children).toEqual([{
      name: 'net', uniqueId: '1', state: 'INSTALLED', protocol: 'ESP', encap: true,
      spiIn: 'f2939453', spiOut: '18ea0993', localTs: ['10.10.0.0/24'], remoteTs: ['10.10.100.1/32'],
    }]);
  });

  it('reads the initiator side: same SPIs, mirrored CHILD_SA SPIs, virtual IP received', () => {
    const gw = parseListSas(fixture('list-sas-pretty-gw.txt'))[0];
    const mn = parseListSas(fixture('list-sas-pretty-client.txt'))[0];
    expect(mn?.initiator).toBe(true);
    expect(mn?.localVips).toEqual(gw?.remoteVips);
    expect([mn?.spiI, mn?.spiR]).toEqual([gw?.spiI, gw?.spiR]);
    expect(mn?.children[0]?.spiIn).toBe(gw?.children[0]?.spiOut);
    expect(mn?.children[0]?.spiOut).toBe(gw?.children[0]?.spiIn);
  });

  it('keeps values with spaces and ignores other messages', () => {
    const text = 'list-sa event {\n  c {\n    remote-id = C=CH, O=Lab, CN=mn\n  }\n}\nlist-sas reply {\n}\n';
    expect(parseViciPretty(text).map((m) => m.name)).toEqual(['list-sa event', 'list-sas reply']);
    expect(parseListSas(text)[0]?.remoteId).toBe('C=CH, O=Lab, CN=mn');
    expect(parseListSas('list-sas reply {\n}\n')).toEqual([]);
    expect(parseListSas('')).toEqual([]);
  });

  it('rejects truncated or garbled output with the line number', () => {
    expect(() => parseViciPretty('list-sa event {\n  rw {\n')).toThrow(ViciParseError);
    expect(() => parseViciPretty('list-sa event {\n  rw {\n    bogus line\n  }\n}\n')).toThrow(/line 3/);
    expect(() => parseViciPretty('connecting to socket failed\n')).toThrow(/line 1/);
    expect(() => parseViciPretty('m {\n  l = [\n    a\n')).toThrow(/unterminated/);
  });
});
