/**
 * A throw-away PKI for certificate-based IKEv2 tests, made with the openssl
 * CLI: one CA, a gateway certificate (SAN dNSName = its IKE identity) and
 * client certificates (SAN rfc822Name = their identities).
 *
 *   const pki = await makePki(lab.tempDir('pki'), { gatewayId: 'gw.example',
 *     clients: [{ id: 'mn@example', keyType: 'ecdsa' }] });
 *   await startStrongSwan(lab, 'gw', { swanctlConf, extraFiles: swanctlFiles(pki, 'gateway') });
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOk } from './exec.ts';

export type KeyType = 'ecdsa' | 'rsa';

export interface PkiEntity {
  id: string;
  keyType: KeyType;
  /** PEM certificate path */
  cert: string;
  /** PEM PKCS#8 private key path */
  key: string;
}

export interface Pki {
  dir: string;
  ca: { cert: string; key: string };
  gateway: PkiEntity;
  clients: Map<string, PkiEntity>;
}

export interface PkiOptions {
  gatewayId: string;
  gatewayKeyType?: KeyType;
  clients?: Array<{ id: string; keyType: KeyType }>;
  days?: number;
}

const ID_RE = /^[A-Za-z0-9.@_-]{1,64}$/;

function keyArgs(t: KeyType): string[] {
  return t === 'ecdsa'
    ? ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']
    : ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'];
}

/** A safe file stem for an identity. */
const stem = (id: string): string => id.replace(/[^A-Za-z0-9._-]/g, '_');

export async function makePki(dir: string, opts: PkiOptions): Promise<Pki> {
  for (const id of [opts.gatewayId, ...(opts.clients ?? []).map((c) => c.id)]) {
    if (!ID_RE.test(id)) throw new Error(`makePki: identity ${JSON.stringify(id)} must match ${ID_RE}`);
  }
  mkdirSync(dir, { recursive: true });
  const days = String(opts.days ?? 30);
  const ca = { cert: join(dir, 'ca.pem'), key: join(dir, 'ca.key') };
  await runOk('openssl', ['genpkey', ...keyArgs('ecdsa'), '-out', ca.key]);
  await runOk('openssl', ['req', '-x509', '-new', '-key', ca.key, '-out', ca.cert, '-days', days, '-sha256',
    '-subj', '/O=Homeward Lab/CN=Homeward Lab CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-addext', 'subjectKeyIdentifier=hash']);

  const issue = async (id: string, keyType: KeyType, san: string, eku: string): Promise<PkiEntity> => {
    const base = join(dir, stem(id));
    const ent: PkiEntity = { id, keyType, cert: `${base}.pem`, key: `${base}.key` };
    await runOk('openssl', ['genpkey', ...keyArgs(keyType), '-out', ent.key]);
    await runOk('openssl', ['req', '-new', '-key', ent.key, '-out', `${base}.csr`, '-subj', `/O=Homeward Lab/CN=${id}`]);
    writeFileSync(`${base}.ext`, [
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature',
      `extendedKeyUsage = ${eku}`,
      `subjectAltName = ${san}`,
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'));
    await runOk('openssl', ['x509', '-req', '-in', `${base}.csr`, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial',
      `0x${randomBytes(8).toString('hex')}`, '-days', days, '-sha256',
      '-extfile', `${base}.ext`, '-out', ent.cert]);
    return ent;
  };

  // 1.3.6.1.5.5.7.3.17 = id-kp-ipsecIKE (RFC 4945)
  const gateway = await issue(opts.gatewayId, opts.gatewayKeyType ?? 'ecdsa', `DNS:${opts.gatewayId}`, 'serverAuth,1.3.6.1.5.5.7.3.17');
  const clients = new Map<string, PkiEntity>();
  for (const c of opts.clients ?? []) {
    const san = c.id.includes('@') ? `email:${c.id}` : `DNS:${c.id}`;
    clients.set(c.id, await issue(c.id, c.keyType, san, 'clientAuth,1.3.6.1.5.5.7.3.17'));
  }
  return { dir, ca, gateway, clients };
}

/**
 * The files one strongSwan instance needs, laid out for swanctl beside its
 * swanctl.conf (x509ca/, x509/, private/): pass as StrongSwanOptions.extraFiles.
 */
export function swanctlFiles(pki: Pki, who: 'gateway' | string): Record<string, string> {
  const ent = who === 'gateway' ? pki.gateway : pki.clients.get(who);
  if (ent === undefined) throw new Error(`swanctlFiles: no client ${who} in this PKI`);
  return {
    'x509ca/ca.pem': readFileSync(pki.ca.cert, 'utf8'),
    [`x509/${stem(ent.id)}.pem`]: readFileSync(ent.cert, 'utf8'),
    [`private/${stem(ent.id)}.key`]: readFileSync(ent.key, 'utf8'),
  };
}

/** The swanctl.conf `certs = ` value for an entity loaded with swanctlFiles. */
export function certFileName(ent: PkiEntity): string {
  return `${stem(ent.id)}.pem`;
}
