/**
 * Shared test messages: a realistic IKE_SA_INIT request and an IKE_AUTH
 * inner payload chain, built from deterministic bytes.
 */
import { parseProposals } from '../../../../app/ikev2/proposal-string.ts';
import {
  AuthMethod, CfgAttr, CfgType, DhId, ExchangeType, IdType, NotifyType, PayloadType,
} from '../../../../app/wire/ikev2/constants.ts';
import type { IkeHeader } from '../../../../app/wire/ikev2/header.ts';
import type { Payload } from '../../../../app/wire/ikev2/payload.ts';
import { makeNotify } from '../../../../app/wire/ikev2/payloads/notify.ts';
import { natDetectionNotify } from '../../../../app/wire/ikev2/payloads/notify-data.ts';
import { ipv4Selector } from '../../../../app/wire/ikev2/payloads/ts.ts';
import { utf8 } from '../../../../app/base/bytes.ts';

/** n bytes counting up from `start` (mod 256). */
export function seq(n: number, start = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);
}

export const SPI_I = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
export const SPI_R = new Uint8Array(8);

export const initHeader: IkeHeader = {
  spiI: SPI_I, spiR: SPI_R, exchangeType: ExchangeType.IkeSaInit, initiator: true, response: false, messageId: 0,
};

/** IKE_SA_INIT request: SA (2 proposals), KE (x25519), Ni, N(NAT_D_SRC), N(NAT_D_DST). */
export function initPayloads(): Payload[] {
  return [
    { type: PayloadType.SA, proposals: parseProposals('ike', 'aes256gcm16-prfsha256-x25519,aes128-sha256-modp2048') },
    { type: PayloadType.KE, group: DhId.Curve25519, data: seq(32, 0xa0) },
    { type: PayloadType.Nonce, data: seq(32, 0x40) },
    natDetectionNotify(NotifyType.NatDetectionSourceIp, seq(20, 0x10)),
    natDetectionNotify(NotifyType.NatDetectionDestinationIp, seq(20, 0x30)),
  ];
}

/** The inner chain of an IKE_AUTH request with config and MOBIKE. */
export function authInnerPayloads(): Payload[] {
  return [
    { type: PayloadType.IDi, idType: IdType.Rfc822Addr, data: utf8('mn@example') },
    { type: PayloadType.IDr, idType: IdType.Fqdn, data: utf8('gw.example') },
    { type: PayloadType.AUTH, method: AuthMethod.SharedKeyMic, data: seq(32, 0x77) },
    {
      type: PayloadType.CP, cfgType: CfgType.Request,
      attributes: [{ kind: 'ip4', type: CfgAttr.InternalIp4Address }, { kind: 'ip4', type: CfgAttr.InternalIp4Dns }],
    },
    { type: PayloadType.SA, proposals: parseProposals('esp', 'aes256gcm16').map((p) => ({ ...p, spi: seq(4, 0xc0) })) },
    { type: PayloadType.TSi, selectors: [ipv4Selector('0.0.0.0', '255.255.255.255')] },
    { type: PayloadType.TSr, selectors: [ipv4Selector('10.10.0.0', '10.10.255.255')] },
    makeNotify(NotifyType.MobikeSupported),
  ];
}
