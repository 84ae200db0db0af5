/**
 * strongSwan proposal strings (swanctl.conf `proposals` / `esp_proposals`)
 * to SA proposals, and back for logs.
 *
 *   "aes256gcm16-prfsha256-x25519,aes128-sha256-modp2048"  (IKE, 2 proposals)
 *   "aes256gcm16-aes128gcm16-prfsha256-x25519-ecp256"        (several per kind)
 *   "aes128-sha256-modp2048-esn"                            (ESP with PFS, ESN)
 *
 * Rules (as strongSwan's proposal checks):
 * - IKE: ENCR, PRF and DH are required. Without a prf* token each
 *   integrity algorithm implies the PRF of the same hash (sha256 -> prfsha256).
 * - ESP: ENCR required, DH optional (PFS), no PRF; ESN defaults to noesn.
 * - AEAD ciphers (GCM, ChaCha20-Poly1305) take no integrity algorithm and do
 *   not mix with non-AEAD ones; non-AEAD ciphers need one.
 * Proposals are numbered from 1 in the order given; transforms are emitted
 * ENCR, INTEG, PRF, DH, ESN, each list in the order written, duplicates dropped.
 */
import { DhId, EncrId, EsnId, IntegId, PrfId, ProtocolId, TransformType } from '../wire/ikev2/constants.ts';
import type { Proposal, Transform } from '../wire/ikev2/payloads/sa.ts';

export type ProposalKind = 'ike' | 'esp';

export class ProposalStringError extends Error {
  constructor(message: string, readonly proposal: string, readonly token?: string) {
    super(message);
    this.name = 'ProposalStringError';
  }
}

interface Algorithm {
  transform: Transform;
  aead?: boolean;
  /** The PRF an integrity algorithm implies in IKE proposals. */
  prf?: PrfId;
}

const ALGORITHMS: ReadonlyMap<string, Algorithm> = buildTable();

function buildTable(): Map<string, Algorithm> {
  const t = new Map<string, Algorithm>();
  const add = (name: string, type: TransformType, id: number, extra: Omit<Algorithm, 'transform'> = {}, keyLength?: number): void => {
    t.set(name, { transform: keyLength === undefined ? { type, id } : { type, id, keyLength }, ...extra });
  };
  for (const bits of [128, 192, 256]) {
    add(`aes${bits}`, TransformType.ENCR, EncrId.AesCbc, {}, bits);
    add(`aes${bits}ctr`, TransformType.ENCR, EncrId.AesCtr, {}, bits);
    for (const [icv, id] of [[8, EncrId.AesGcm8], [12, EncrId.AesGcm12], [16, EncrId.AesGcm16]] as const) {
      add(`aes${bits}gcm${icv}`, TransformType.ENCR, id, { aead: true }, bits);
      add(`aes${bits}gcm${icv * 8}`, TransformType.ENCR, id, { aead: true }, bits);
    }
  }
  add('aes', TransformType.ENCR, EncrId.AesCbc, {}, 128);
  add('chacha20poly1305', TransformType.ENCR, EncrId.ChaCha20Poly1305, { aead: true });
  add('sha1', TransformType.INTEG, IntegId.HmacSha1_96, { prf: PrfId.HmacSha1 });
  add('sha', TransformType.INTEG, IntegId.HmacSha1_96, { prf: PrfId.HmacSha1 });
  add('sha256', TransformType.INTEG, IntegId.HmacSha2_256_128, { prf: PrfId.HmacSha2_256 });
  add('sha384', TransformType.INTEG, IntegId.HmacSha2_384_192, { prf: PrfId.HmacSha2_384 });
  add('sha512', TransformType.INTEG, IntegId.HmacSha2_512_256, { prf: PrfId.HmacSha2_512 });
  add('prfsha1', TransformType.PRF, PrfId.HmacSha1);
  add('prfsha256', TransformType.PRF, PrfId.HmacSha2_256);
  add('prfsha384', TransformType.PRF, PrfId.HmacSha2_384);
  add('prfsha512', TransformType.PRF, PrfId.HmacSha2_512);
  add('modp1024', TransformType.DH, DhId.Modp1024);
  add('modp2048', TransformType.DH, DhId.Modp2048);
  add('modp3072', TransformType.DH, DhId.Modp3072);
  add('modp4096', TransformType.DH, DhId.Modp4096);
  add('ecp256', TransformType.DH, DhId.Ecp256);
  add('ecp384', TransformType.DH, DhId.Ecp384);
  add('ecp521', TransformType.DH, DhId.Ecp521);
  add('x25519', TransformType.DH, DhId.Curve25519);
  add('curve25519', TransformType.DH, DhId.Curve25519);
  add('x448', TransformType.DH, DhId.Curve448);
  add('curve448', TransformType.DH, DhId.Curve448);
  add('esn', TransformType.ESN, EsnId.Esn);
  add('noesn', TransformType.ESN, EsnId.NoEsn);
  return t;
}

const ORDER = [TransformType.ENCR, TransformType.INTEG, TransformType.PRF, TransformType.DH, TransformType.ESN];

/** Parses a comma-separated list of proposals; SPIs are left empty for the caller to fill. */
export function parseProposals(kind: ProposalKind, text: string): Proposal[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) {
    throw new ProposalStringError(`empty proposal in "${text}"`, text);
  }
  return parts.map((p, i) => ({
    number: i + 1,
    protocol: kind === 'ike' ? ProtocolId.IKE : ProtocolId.ESP,
    spi: new Uint8Array(0),
    transforms: parseOne(kind, p),
  }));
}

function parseOne(kind: ProposalKind, proposal: string): Transform[] {
  const byType = new Map<TransformType, Algorithm[]>(ORDER.map((t) => [t, []]));
  for (const token of proposal.split('-')) {
    const alg = ALGORITHMS.get(token);
    if (!alg) throw new ProposalStringError(`unknown algorithm "${token}" in proposal "${proposal}"`, proposal, token);
    const list = byType.get(alg.transform.type)!;
    if (!list.some((a) => sameTransform(a.transform, alg.transform))) list.push(alg);
  }
  const fail = (why: string): never => {
    throw new ProposalStringError(`${kind.toUpperCase()} proposal "${proposal}": ${why}`, proposal);
  };
  const encr = byType.get(TransformType.ENCR)!;
  const integ = byType.get(TransformType.INTEG)!;
  const prf = byType.get(TransformType.PRF)!;
  const aead = encr.filter((a) => a.aead).length;
  if (encr.length === 0) fail('an encryption algorithm is required');
  if (aead > 0 && aead < encr.length) fail('AEAD and non-AEAD ciphers cannot be combined');
  if (aead > 0 && integ.length > 0) fail('AEAD ciphers take no integrity algorithm');
  if (aead === 0 && integ.length === 0) fail('a non-AEAD cipher needs an integrity algorithm');
  if (kind === 'ike') {
    if (byType.get(TransformType.ESN)!.length > 0) fail('esn/noesn apply to ESP only');
    if (prf.length === 0) {
      for (const i of integ) prf.push(ALGORITHMS.get(`prf${tokenOf(i.transform)}`)!);
    }
    if (prf.length === 0) fail('a PRF is required (e.g. prfsha256)');
    if (byType.get(TransformType.DH)!.length === 0) fail('a DH group is required');
  } else {
    if (prf.length > 0) fail('PRFs apply to IKE only');
    const esn = byType.get(TransformType.ESN)!;
    if (esn.length === 0) esn.push(ALGORITHMS.get('noesn')!);
  }
  return ORDER.flatMap((t) => byType.get(t)!.map((a) => ({ ...a.transform })));
}

function sameTransform(a: Transform, b: Transform): boolean {
  return a.type === b.type && a.id === b.id && a.keyLength === b.keyLength;
}

/** The canonical token of a transform (first name in the table), or e.g. "encr99" if unknown. */
function tokenOf(t: Transform): string {
  for (const [name, alg] of ALGORITHMS) if (sameTransform(alg.transform, t)) return name;
  const kind = TransformType[t.type]?.toLowerCase() ?? `type${t.type}-`;
  return t.keyLength === undefined ? `${kind}${t.id}` : `${kind}${t.id}_${t.keyLength}`;
}

/** "aes256gcm16-prfsha256-x25519": the transforms in their given order, for events and logs. */
export function formatProposal(transforms: readonly Transform[]): string {
  return transforms.map(tokenOf).join('-');
}
