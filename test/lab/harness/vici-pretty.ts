/**
 * Parser for `swanctl --list-sas --pretty` (pure: no I/O).
 *
 * swanctl prints each vici message as an indented tree, one item per line:
 *
 *   list-sa event {
 *     rw {
 *       uniqueid = 1
 *       local-host = 192.0.2.1
 *       child-sas {
 *         net-2 {
 *           local-ts = [
 *             10.10.0.0/24
 *           ]
 *         }
 *       }
 *     }
 *   }
 *
 * Line-based parsing keeps values with spaces (X.500 ids) intact, which the
 * one-line `--raw` form does not.
 */

export type ViciValue = string | string[] | ViciSection;
export interface ViciSection {
  [key: string]: ViciValue;
}

export interface ViciMessage {
  /** the message name swanctl prints before the tree, e.g. "list-sa event" */
  name: string;
  body: ViciSection;
}

export class ViciParseError extends Error {
  constructor(message: string, readonly line: number) {
    super(`vici --pretty line ${line}: ${message}`);
    this.name = 'ViciParseError';
  }
}

/** Parses every message in swanctl's --pretty output. */
export function parseViciPretty(text: string): ViciMessage[] {
  const messages: ViciMessage[] = [];
  const stack: ViciSection[] = [];
  let list: string[] | undefined;
  let current: ViciMessage | undefined;
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    const n = i + 1;
    if (line === '') continue;
    if (list !== undefined) {
      if (line === ']') list = undefined;
      else list.push(line);
      continue;
    }
    const top = stack[stack.length - 1];
    if (top === undefined) {
      if (!line.endsWith(' {')) throw new ViciParseError(`expected "<message> {", got ${JSON.stringify(line)}`, n);
      current = { name: line.slice(0, -2), body: {} };
      messages.push(current);
      stack.push(current.body);
      continue;
    }
    if (line === '}') {
      stack.pop();
      continue;
    }
    if (line.endsWith(' {')) {
      const section: ViciSection = {};
      top[line.slice(0, -2)] = section;
      stack.push(section);
    } else if (line.endsWith(' = [') || line.endsWith(' [')) {
      list = [];
      top[line.slice(0, line.endsWith(' = [') ? -4 : -2)] = list;
    } else {
      const eq = line.indexOf(' = ');
      if (eq < 0) throw new ViciParseError(`expected "key = value", got ${JSON.stringify(line)}`, n);
      top[line.slice(0, eq)] = line.slice(eq + 3);
    }
  }
  if (stack.length > 0 || list !== undefined) throw new ViciParseError('unterminated section or list', lines.length);
  return messages;
}

export interface ChildSaInfo {
  name: string;
  uniqueId: string;
  state: string;
  protocol: string;
  encap: boolean;
  spiIn: string;
  spiOut: string;
  localTs: string[];
  remoteTs: string[];
}

export interface IkeSaInfo {
  /** connection name */
  name: string;
  uniqueId: string;
  version: string;
  state: string;
  localHost: string;
  localPort: number;
  remoteHost: string;
  remotePort: number;
  localId: string;
  remoteId: string;
  /** true when this daemon initiated the IKE SA */
  initiator: boolean;
  /** 16 hex digits, as swanctl prints them */
  spiI: string;
  spiR: string;
  natRemote: boolean;
  /** virtual IPs this daemon received (initiator) / handed out (responder) */
  localVips: string[];
  remoteVips: string[];
  children: ChildSaInfo[];
}

const str = (s: ViciSection, k: string): string => {
  const v = s[k];
  return typeof v === 'string' ? v : '';
};
const strs = (s: ViciSection, k: string): string[] => {
  const v = s[k];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
};

/** The IKE SAs in `swanctl --list-sas --pretty` output. */
export function parseListSas(text: string): IkeSaInfo[] {
  const out: IkeSaInfo[] = [];
  for (const msg of parseViciPretty(text)) {
    if (msg.name !== 'list-sa event') continue;
    for (const [name, v] of Object.entries(msg.body)) {
      if (typeof v !== 'object' || Array.isArray(v)) continue;
      const kids = v['child-sas'];
      const children = typeof kids === 'object' && !Array.isArray(kids)
        ? Object.entries(kids).flatMap(([, c]) => (typeof c === 'object' && !Array.isArray(c) ? [childOf(c)] : []))
        : [];
      out.push({
        name,
        uniqueId: str(v, 'uniqueid'),
        version: str(v, 'version'),
        state: str(v, 'state'),
        localHost: str(v, 'local-host'),
        localPort: Number(str(v, 'local-port')),
        remoteHost: str(v, 'remote-host'),
        remotePort: Number(str(v, 'remote-port')),
        localId: str(v, 'local-id'),
        remoteId: str(v, 'remote-id'),
        initiator: str(v, 'initiator') === 'yes',
        spiI: str(v, 'initiator-spi'),
        spiR: str(v, 'responder-spi'),
        natRemote: str(v, 'nat-remote') === 'yes',
        localVips: strs(v, 'local-vips'),
        remoteVips: strs(v, 'remote-vips'),
        children,
      });
    }
  }
  return out;
}

function childOf(c: ViciSection): ChildSaInfo {
  return {
    name: str(c, 'name'),
    uniqueId: str(c, 'uniqueid'),
    state: str(c, 'state'),
    protocol: str(c, 'protocol'),
    encap: str(c, 'encap') === 'yes',
    spiIn: str(c, 'spi-in'),
    spiOut: str(c, 'spi-out'),
    localTs: strs(c, 'local-ts'),
    remoteTs: strs(c, 'remote-ts'),
  };
}
