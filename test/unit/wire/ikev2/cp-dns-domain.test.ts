/** INTERNAL_DNS_DOMAIN (RFC 8598 §4): bytes on the wire, what is accepted and what is left out. */
import { describe, expect, it } from 'vitest';
import { hexToBytes, utf8 } from '../../../../app/base/bytes.ts';
import { CfgAttr } from '../../../../app/wire/ikev2/constants.ts';
import { cpDnsDomains, decodeCpBody, decodeDnsDomain, encodeCpBody } from '../../../../app/wire/ikev2/payloads/cp.ts';
import { CfgType, PayloadType } from '../../../../app/wire/ikev2/constants.ts';

describe('CP: INTERNAL_DNS_DOMAIN', () => {
  it('a request carries the attribute empty: type 25, length 0', () => {
    const body = encodeCpBody({ type: PayloadType.CP, cfgType: CfgType.Request, attributes: [{ kind: 'raw', type: CfgAttr.InternalDnsDomain, value: new Uint8Array(0) }] });
    expect(Buffer.from(body).toString('hex')).toBe('01000000' + '0019' + '0000');
  });

  it('a reply: ASCII labels, no trailing dot, lower-cased, duplicates once', () => {
    // CFG_REPLY, 25 len 12 "corp.example", 25 len 12 "CORP.EXAMPLE"
    const hex = '02000000' + '0019000c' + Buffer.from('corp.example').toString('hex') + '0019000c' + Buffer.from('CORP.EXAMPLE').toString('hex');
    expect(cpDnsDomains(decodeCpBody(hexToBytes(hex)))).toEqual(['corp.example']);
  });

  it.each([
    ['empty', ''],
    ['trailing dot', 'corp.example.'],
    ['empty label', 'corp..example'],
    ['NUL-terminated', 'corp.example\u0000'],
    ['space', 'corp example'],
    ['label starting with a hyphen', '-corp.example'],
    ['label of 64 characters', `${'a'.repeat(64)}.example`],
    ['non-ASCII', 'köln.example'],
  ])('rejects %s', (_what, name) => {
    expect(decodeDnsDomain(utf8(name))).toBeUndefined();
  });

  it('accepts an IDNA A-label and a single label', () => {
    expect(decodeDnsDomain(utf8('xn--kln-sna.example'))).toBe('xn--kln-sna.example');
    expect(decodeDnsDomain(utf8('intranet'))).toBe('intranet');
  });
});
