/**
 * Every input the fuzzers found crashing something, replayed: the hex
 * vectors in test/vectors/fuzz/*.json, each file naming its target.
 *   decoder:<name>        the decoder returns a value or throws a DecodeError
 *                         (with expect 'reject': throws a DecodeError)
 *   ike-sa-awaiting-init  a fresh initiator waiting for the IKE_SA_INIT
 *                         response drops and counts it, stays in connecting,
 *                         and the genuine response is accepted afterwards
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DecodeError, hexToBytes } from '../../../app/base/bytes.ts';
import { decodeMessage, decodePayloadChain } from '../../../app/wire/ikev2/message.ts';
import { decodeAgentAdvertisement } from '../../../app/wire/mip4/agent-advertisement.ts';
import { decodeRegistrationReply } from '../../../app/wire/mip4/registration-reply.ts';
import { decodeRegistrationRequest } from '../../../app/wire/mip4/registration-request.ts';
import { drain, droppedTotal, genuineInitResponse, NOW, path500, pendingInitiator } from './rigs.ts';

interface VectorFile {
  about: string;
  target: string;
  /** expect 'reject': the decoder must throw a DecodeError (default: a value or a DecodeError) */
  vectors: { name: string; hex: string; expect?: 'reject' }[];
}

const DIR = join(import.meta.dirname, '../../vectors/fuzz');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

const DECODERS: Record<string, (b: Uint8Array) => unknown> = {
  'ikev2 message': decodeMessage,
  'ikev2 payload chain': (b) => decodePayloadChain(b[0] ?? 0, b.subarray(1)),
  'mip4 registration request': decodeRegistrationRequest,
  'mip4 registration reply': decodeRegistrationReply,
  'mip4 agent advertisement': decodeAgentAdvertisement,
};

function replay(target: string, bytes: Uint8Array, want?: 'reject'): void {
  if (target.startsWith('decoder:')) {
    const decode = DECODERS[target.slice('decoder:'.length)];
    if (!decode) throw new Error(`no replayer for ${target}`);
    if (want === 'reject') {
      expect(() => decode(bytes)).toThrow(DecodeError);
      return;
    }
    try {
      decode(bytes);
    } catch (e) {
      expect(e).toBeInstanceOf(DecodeError);
    }
    return;
  }
  if (target === 'ike-sa-awaiting-init') {
    const sa = pendingInitiator();
    const before = droppedTotal(sa);
    expect(() => sa.handleDatagram({ ...path500, bytes }, NOW + 1)).not.toThrow();
    expect(droppedTotal(sa)).toBe(before + 1);
    expect(sa.state).toBe('connecting');
    drain(sa);
    sa.handleDatagram({ ...path500, bytes: genuineInitResponse() }, NOW + 2);
    expect(sa.state).toBe('connecting');
    expect(drain(sa)).toBe(true); // IKE_AUTH went out
    return;
  }
  throw new Error(`unknown fuzz target ${target}`);
}

describe('fuzz regressions (test/vectors/fuzz)', () => {
  it('has vector files', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  for (const f of files) {
    const vf = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as VectorFile;
    for (const v of vf.vectors) {
      it(`${f}: ${v.name}`, () => replay(vf.target, hexToBytes(v.hex), v.expect));
    }
  }
});
