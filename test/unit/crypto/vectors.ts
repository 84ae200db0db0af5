/** Reads a JSON vector file from test/vectors (RFC appendices, published test cases). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function loadVectors<T>(name: string): T {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`../../vectors/${name}`, import.meta.url)), 'utf8')) as T;
}
