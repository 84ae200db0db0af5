/**
 * What `homeward profile check` (and every command that loads a profile)
 * checks beyond the schema in app/config/profile.ts: the proposal strings
 * parse (app/ikev2/proposal-string.ts), and the files the profile names exist
 * and hold PEM of the right kind. Each failure is a ProfileError naming the
 * field, like the schema's own.
 */
import { readFile } from 'node:fs/promises';
import { ProfileError, parseProfile, type Profile } from '../config/profile.ts';
import { ProposalStringError, parseProposals } from '../ikev2/proposal-string.ts';

export function validateProposal(proposal: string, field: string): void {
  try {
    parseProposals(field.endsWith('esp') ? 'esp' : 'ike', proposal);
  } catch (e) {
    if (e instanceof ProposalStringError) throw new ProfileError(field, e.message);
    throw e;
  }
}

/** Reads a file's text, or null when it cannot be read (with the reason). */
export type ReadText = (path: string) => Promise<{ text: string } | { error: string }>;

const readText: ReadText = (path) => readFile(path, 'utf8').then((text) => ({ text }), (e: NodeJS.ErrnoException) => ({ error: e.code === 'ENOENT' ? 'no such file' : e.message }));

const PEM_KINDS = {
  cert: { re: /-----BEGIN CERTIFICATE-----/, what: 'a PEM certificate (-----BEGIN CERTIFICATE-----)' },
  key: { re: /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/, what: 'a PEM private key (-----BEGIN … PRIVATE KEY-----)' },
} as const;

async function checkPem(read: ReadText, path: string, field: string, kind: keyof typeof PEM_KINDS): Promise<void> {
  const r = await read(path);
  if ('error' in r) throw new ProfileError(field, `names ${JSON.stringify(path)}, which cannot be read: ${r.error}`);
  if (!PEM_KINDS[kind].re.test(r.text)) throw new ProfileError(field, `names ${JSON.stringify(path)}, which does not hold ${PEM_KINDS[kind].what}`);
}

/** The files a parsed profile names: certificate, private key, CA. Paths are taken as the engine takes them (relative to the working directory). */
export async function checkProfileFiles(profile: Profile, read: ReadText = readText): Promise<void> {
  const vpn = profile.vpn;
  if (!vpn) return;
  if (vpn.auth.kind === 'cert') {
    await checkPem(read, vpn.auth.cert, 'vpn.auth.cert', 'cert');
    await checkPem(read, vpn.auth.key, 'vpn.auth.key', 'key');
  }
  if (vpn.ca !== undefined) await checkPem(read, vpn.ca, 'vpn.ca', 'cert');
}

/** Schema, proposals and files: the whole check, on parsed JSON. */
export async function checkProfile(json: unknown, read: ReadText = readText): Promise<Profile> {
  const profile = parseProfile(json, { validateProposal });
  await checkProfileFiles(profile, read);
  return profile;
}
