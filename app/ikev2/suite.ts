/**
 * Proposal negotiation (RFC 7296 §2.7, §3.3.6) and the negotiated suites.
 *
 *   checkChosen(ours, chosen)   initiator: the responder's single proposal
 *                               must be one of ours with one transform per type
 *   selectProposal(ours, offered) responder (gateway-initiated rekeys):
 *                               the first offered proposal we can satisfy
 *   ikeSuiteOf / espSuiteOf     transforms → the algorithms the crypto uses
 */
import { DhId, EsnId, ProtocolId, TransformType } from '../wire/ikev2/constants.ts';
import type { EncrId, IntegId, PrfId } from '../wire/ikev2/constants.ts';
import type { Proposal, Transform } from '../wire/ikev2/payloads/sa.ts';
import { formatProposal } from './proposal-string.ts';
import { isSupportedCipher, isSupportedDh, prfKeyBytes } from './crypto-adapter.ts';
import type { CipherSuite } from './crypto-adapter.ts';

export interface IkeSuite {
  cipher: CipherSuite;
  prf: PrfId;
  dh: DhId;
  name: string;
}

export interface EspSuite {
  cipher: CipherSuite;
  dh?: DhId;
  name: string;
}

function one(ts: readonly Transform[], type: TransformType): Transform | undefined {
  const found = ts.filter((t) => t.type === type);
  return found.length === 1 ? found[0] : undefined;
}

function sameTransform(a: Transform, b: Transform): boolean {
  return a.type === b.type && a.id === b.id && a.keyLength === b.keyLength && !a.otherAttributes && !b.otherAttributes;
}

function cipherOf(ts: readonly Transform[]): CipherSuite | undefined {
  const encr = one(ts, TransformType.ENCR);
  if (!encr) return undefined;
  const integ = ts.filter((t) => t.type === TransformType.INTEG && t.id !== 0);
  if (integ.length > 1) return undefined;
  const c: CipherSuite = { encr: encr.id as EncrId };
  if (encr.keyLength !== undefined) c.keyLength = encr.keyLength;
  if (integ[0]) c.integ = integ[0].id as IntegId;
  return isSupportedCipher(c) ? c : undefined;
}

export function ikeSuiteOf(ts: readonly Transform[]): IkeSuite | undefined {
  const cipher = cipherOf(ts);
  const prf = one(ts, TransformType.PRF);
  const dh = one(ts, TransformType.DH);
  if (!cipher || !prf || !dh || !isSupportedDh(dh.id)) return undefined;
  try {
    prfKeyBytes(prf.id as PrfId);
  } catch {
    return undefined;
  }
  // "aes128-sha256-prfsha256-modp2048" is written "aes128-sha256-modp2048" (the PRF is implied)
  const name = formatProposal(ts).replace(/-(sha\d*)-prf\1(?=-|$)/, '-$1');
  return { cipher, prf: prf.id as PrfId, dh: dh.id as DhId, name };
}

export function espSuiteOf(ts: readonly Transform[]): EspSuite | undefined {
  const cipher = cipherOf(ts);
  if (!cipher) return undefined;
  const esn = ts.filter((t) => t.type === TransformType.ESN);
  if (esn.length > 1 || (esn[0] && esn[0].id !== EsnId.NoEsn)) return undefined;
  const dh = ts.filter((t) => t.type === TransformType.DH && t.id !== DhId.None);
  if (dh.length > 1 || (dh[0] && !isSupportedDh(dh[0].id))) return undefined;
  const name = formatProposal(ts.filter((t) => t.type !== TransformType.ESN));
  return dh[0] ? { cipher, dh: dh[0].id as DhId, name } : { cipher, name };
}

/** The responder's answer is valid if it is a sub-choice of the proposal it names. */
export function checkChosen(ours: readonly Proposal[], chosen: readonly Proposal[]): Proposal | undefined {
  if (chosen.length !== 1) return undefined;
  const c = chosen[0]!;
  const mine = ours.find((p) => p.number === c.number && p.protocol === c.protocol);
  if (!mine) return undefined;
  const types = new Set(c.transforms.map((t) => t.type));
  if (types.size !== c.transforms.length) return undefined;
  for (const t of c.transforms) if (!mine.transforms.some((m) => sameTransform(m, t))) return undefined;
  for (const type of new Set(mine.transforms.map((t) => t.type))) {
    // a type we offered must be answered, except DH NONE/ESN variants the responder may narrow
    if (!types.has(type) && type !== TransformType.DH) return undefined;
  }
  return c;
}

/** Picks the first offered proposal (peer's preference) that we can build from our own list. */
export function selectProposal(ours: readonly Proposal[], offered: readonly Proposal[], protocol: ProtocolId): Proposal | undefined {
  for (const o of offered) {
    if (o.protocol !== protocol) continue;
    for (const m of ours) {
      const pick: Transform[] = [];
      let ok = true;
      for (const type of new Set(m.transforms.map((t) => t.type))) {
        const t = o.transforms.find((x) => x.type === type && m.transforms.some((y) => sameTransform(x, y)));
        if (!t) {
          ok = false;
          break;
        }
        pick.push({ type: t.type, id: t.id, ...(t.keyLength !== undefined ? { keyLength: t.keyLength } : {}) });
      }
      const suiteOk = protocol === ProtocolId.IKE ? ikeSuiteOf(pick) : espSuiteOf(pick);
      if (ok && suiteOk && o.transforms.every((t) => pick.some((p) => p.type === t.type))) {
        return { number: o.number, protocol, spi: o.spi, transforms: pick };
      }
    }
  }
  return undefined;
}

/** Our ESP proposals for a CREATE_CHILD_SA that rekeys: PFS as configured. */
export function withSpi(proposals: readonly Proposal[], spi: Uint8Array): Proposal[] {
  return proposals.map((p) => ({ ...p, spi }));
}
