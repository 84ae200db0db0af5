/** The profile editor's draft: path edits and validation with the engine's own parser (field-level errors). */
import { parseProfile, ProfileError } from '../../app/config/profile.ts';

export type Json = Record<string, unknown>;

export function getPath(o: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (typeof v === 'object' && v !== null ? (v as Json)[k] : undefined), o);
}

/** Returns a copy with `path` set (or removed when value is ''), creating objects on the way. */
export function setPath(o: Json, path: string, value: unknown): Json {
  const [head, ...rest] = path.split('.') as [string, ...string[]];
  const copy: Json = { ...o };
  if (rest.length === 0) {
    if (value === '' || value === undefined) delete copy[head];
    else copy[head] = value;
    return copy;
  }
  const child = typeof copy[head] === 'object' && copy[head] !== null ? (copy[head] as Json) : {};
  const next = setPath(child, rest.join('.'), value);
  if (Object.keys(next).length === 0) delete copy[head];
  else copy[head] = next;
  return copy;
}

/** Validates like the engine will; the error names the field. "<redacted>" secrets count as present. */
export function validateDraft(draft: Json): { field: string; message: string } | null {
  const probe = JSON.parse(JSON.stringify(draft).replace(/"<redacted>"/g, '"hex:00000000000000000000000000000000"')) as unknown;
  try {
    parseProfile(probe);
    return null;
  } catch (e) {
    if (e instanceof ProfileError) return { field: e.field, message: e.message.replace(/^profile field "[^"]*": /, '') };
    return { field: '(profile)', message: String(e) };
  }
}
