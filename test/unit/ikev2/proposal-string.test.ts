import { describe, expect, it } from 'vitest';
import { ProposalStringError, formatProposal, parseProposals } from '../../../app/ikev2/proposal-string.ts';
import {
  DhId, EncrId, EsnId, IntegId, PrfId, ProtocolId, TransformType as T,
} from '../../../app/wire/ikev2/constants.ts';

function only(kind: 'ike' | 'esp', s: string) {
  const [p, ...rest] = parseProposals(kind, s);
  expect(rest).toEqual([]);
  return p!;
}

function errorOf(f: () => unknown): ProposalStringError {
  try {
    f();
  } catch (e) {
    if (e instanceof ProposalStringError) return e;
    throw e;
  }
  throw new Error('expected a ProposalStringError');
}

describe('IKE proposals', () => {
  it('aes256gcm16-prfsha256-x25519', () => {
    const p = only('ike', 'aes256gcm16-prfsha256-x25519');
    expect(p).toMatchObject({ number: 1, protocol: ProtocolId.IKE, spi: new Uint8Array(0) });
    expect(p.transforms).toEqual([
      { type: T.ENCR, id: EncrId.AesGcm16, keyLength: 256 },
      { type: T.PRF, id: PrfId.HmacSha2_256 },
      { type: T.DH, id: DhId.Curve25519 },
    ]);
  });

  it('chacha20poly1305-prfsha512-ecp256 has no Key Length', () => {
    expect(only('ike', 'chacha20poly1305-prfsha512-ecp256').transforms).toEqual([
      { type: T.ENCR, id: EncrId.ChaCha20Poly1305 },
      { type: T.PRF, id: PrfId.HmacSha2_512 },
      { type: T.DH, id: DhId.Ecp256 },
    ]);
  });

  it('aes128-sha256-modp2048: integrity sha256 implies prfsha256', () => {
    expect(only('ike', 'aes128-sha256-modp2048').transforms).toEqual([
      { type: T.ENCR, id: EncrId.AesCbc, keyLength: 128 },
      { type: T.INTEG, id: IntegId.HmacSha2_256_128 },
      { type: T.PRF, id: PrfId.HmacSha2_256 },
      { type: T.DH, id: DhId.Modp2048 },
    ]);
  });

  it('an explicit PRF wins over the implied one', () => {
    const p = only('ike', 'aes256-sha384-prfsha1-ecp384');
    expect(p.transforms.filter((t) => t.type === T.PRF)).toEqual([{ type: T.PRF, id: PrfId.HmacSha1 }]);
    expect(p.transforms.find((t) => t.type === T.INTEG)).toEqual({ type: T.INTEG, id: IntegId.HmacSha2_384_192 });
  });

  it('several algorithms of a kind, in order, without duplicates; aliases', () => {
    const p = only('ike', 'aes256gcm16-aes128gcm128-prfsha256-x25519-ecp256-curve25519');
    expect(p.transforms).toEqual([
      { type: T.ENCR, id: EncrId.AesGcm16, keyLength: 256 },
      { type: T.ENCR, id: EncrId.AesGcm16, keyLength: 128 },
      { type: T.PRF, id: PrfId.HmacSha2_256 },
      { type: T.DH, id: DhId.Curve25519 },
      { type: T.DH, id: DhId.Ecp256 },
    ]);
  });

  it('a comma-separated list gives proposals numbered from 1', () => {
    const ps = parseProposals('ike', 'aes256gcm16-prfsha256-x25519, aes128-sha1-modp2048,aes192-sha512-ecp384');
    expect(ps.map((p) => p.number)).toEqual([1, 2, 3]);
    expect(ps[1]!.transforms.map((t) => [t.type, t.id])).toEqual([
      [T.ENCR, EncrId.AesCbc], [T.INTEG, IntegId.HmacSha1_96], [T.PRF, PrfId.HmacSha1], [T.DH, DhId.Modp2048],
    ]);
    expect(ps[2]!.transforms[0]).toEqual({ type: T.ENCR, id: EncrId.AesCbc, keyLength: 192 });
  });

  it('rejects incomplete or inconsistent IKE proposals', () => {
    expect(errorOf(() => parseProposals('ike', 'aes256gcm16-x25519')).message).toMatch(/PRF is required/);
    expect(errorOf(() => parseProposals('ike', 'aes256gcm16-prfsha256')).message).toMatch(/DH group is required/);
    expect(errorOf(() => parseProposals('ike', 'prfsha256-x25519')).message).toMatch(/encryption algorithm/);
    expect(errorOf(() => parseProposals('ike', 'aes128-prfsha256-x25519')).message).toMatch(/needs an integrity/);
    expect(errorOf(() => parseProposals('ike', 'aes128gcm16-sha256-x25519')).message).toMatch(/no integrity/);
    expect(errorOf(() => parseProposals('ike', 'aes128gcm16-aes128-sha256-x25519')).message).toMatch(/combined/);
    expect(errorOf(() => parseProposals('ike', 'aes256gcm16-prfsha256-x25519-esn')).message).toMatch(/ESP only/);
  });
});

describe('ESP proposals', () => {
  it('aes256gcm16 defaults to noesn', () => {
    const p = only('esp', 'aes256gcm16');
    expect(p.protocol).toBe(ProtocolId.ESP);
    expect(p.transforms).toEqual([
      { type: T.ENCR, id: EncrId.AesGcm16, keyLength: 256 },
      { type: T.ESN, id: EsnId.NoEsn },
    ]);
  });

  it('chacha20poly1305 and aes128-sha256', () => {
    expect(only('esp', 'chacha20poly1305').transforms.map((t) => t.id)).toEqual([EncrId.ChaCha20Poly1305, EsnId.NoEsn]);
    expect(only('esp', 'aes128-sha256').transforms).toEqual([
      { type: T.ENCR, id: EncrId.AesCbc, keyLength: 128 },
      { type: T.INTEG, id: IntegId.HmacSha2_256_128 },
      { type: T.ESN, id: EsnId.NoEsn },
    ]);
  });

  it('takes a DH group for PFS and esn/noesn', () => {
    expect(only('esp', 'aes128-sha256-modp2048-esn-noesn').transforms.slice(2)).toEqual([
      { type: T.DH, id: DhId.Modp2048 },
      { type: T.ESN, id: EsnId.Esn },
      { type: T.ESN, id: EsnId.NoEsn },
    ]);
  });

  it('rejects a PRF in ESP', () => {
    expect(errorOf(() => parseProposals('esp', 'aes256gcm16-prfsha256')).message).toMatch(/IKE only/);
  });
});

describe('errors name the token and the proposal', () => {
  it('unknown token', () => {
    const e = errorOf(() => parseProposals('ike', 'aes256gcm16-prfsha256-x25519,aes128-md7-modp2048'));
    expect(e.token).toBe('md7');
    expect(e.proposal).toBe('aes128-md7-modp2048');
    expect(e.message).toBe('unknown algorithm "md7" in proposal "aes128-md7-modp2048"');
  });

  it('empty pieces', () => {
    expect(errorOf(() => parseProposals('esp', '')).message).toMatch(/empty proposal/);
    expect(errorOf(() => parseProposals('esp', 'aes256gcm16,')).message).toMatch(/empty proposal/);
    expect(errorOf(() => parseProposals('esp', 'aes128--sha256')).token).toBe('');
    expect(errorOf(() => parseProposals('esp', 'AES128-sha256')).token).toBe('AES128');
  });
});

describe('formatProposal', () => {
  it('gives the canonical strongSwan names', () => {
    for (const [kind, s] of [
      ['ike', 'aes256gcm16-prfsha256-x25519'],
      ['ike', 'chacha20poly1305-prfsha512-ecp256'],
      ['ike', 'aes128-sha256-prfsha256-modp2048'],
      ['esp', 'aes256gcm16-noesn'],
      ['esp', 'aes128-sha1-ecp384-esn'],
    ] as const) {
      expect(formatProposal(only(kind, s).transforms)).toBe(s);
    }
  });

  it('maps aliases to canonical names and shows unknown ids', () => {
    expect(formatProposal(only('ike', 'aes128gcm128-prfsha256-curve25519').transforms)).toBe('aes128gcm16-prfsha256-x25519');
    expect(formatProposal([{ type: T.ENCR, id: 99, keyLength: 128 }, { type: T.DH, id: 77 }])).toBe('encr99_128-dh77');
  });
});
