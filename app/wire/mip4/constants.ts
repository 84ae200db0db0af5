/**
 * Mobile IPv4 registry values: message types, extension types, flags and
 * reply codes (RFC 5944 with RFC 2794, 3024, 3519, 3543, 4857, 5265), plus
 * the agent-discovery (ICMP router discovery, RFC 1256) values we use.
 * Values are numbers on the wire; decoders keep unknown numbers as they are,
 * so fields typed with these enums may hold values not listed here.
 */

// Specification (RFC 5944 §1.8, §3.3, §3.4; RFC 3519 §3.3)

/** UDP port of the mobility agents. */
export const MIP_PORT = 434;

export enum MipMessageType {
  RegistrationRequest = 1,
  RegistrationReply = 3,
  /** RFC 3519 §3.3 */
  TunnelData = 4,
}

export const REGISTRATION_REQUEST_FIXED_LENGTH = 24;
export const REGISTRATION_REPLY_FIXED_LENGTH = 20;

/** Registration Request flags octet (RFC 5944 §3.3). */
export enum RrqFlag {
  SimultaneousBindings = 0x80,
  Broadcast = 0x40,
  Decapsulation = 0x20,
  MinimalEncapsulation = 0x10,
  GreEncapsulation = 0x08,
  /** r: sent as zero (was V, Van Jacobson compression) */
  Reserved = 0x04,
  ReverseTunnel = 0x02,
  /** x: sent as zero */
  ReservedX = 0x01,
}

/** Lifetime 0xffff = infinity (RFC 5944 §3.3). */
export const LIFETIME_INFINITE = 0xffff;

/** Extensions of registration messages (RFC 5944 §1.8; IANA "Mobile IPv4 numbers"). */
export enum ExtensionType {
  /** One byte, no Length. */
  Pad = 0,
  MnHaAuth = 32,
  MnFaAuth = 33,
  FaHaAuth = 34,
  /** RFC 3519 §3.2: non-skippable, short format */
  UdpTunnelReply = 44,
  /** RFC 3024 §3.3: Length 0, FA only */
  EncapsulatingDeliveryStyle = 130,
  /** RFC 2794 */
  Nai = 131,
  /** RFC 3519 §3.1: skippable, short format */
  UdpTunnelRequest = 144,
  /** RFC 5265 §3.4: skippable, short format */
  TrustedNetworksConfigured = 149,
}

/** Types 0–127 must be understood, else the whole message is dropped; 128–255 may be skipped (RFC 5944 §1.8). */
export const SKIPPABLE_EXTENSION_MIN = 128;

/** Extensions of ICMP router discovery messages (a separate numbering space, RFC 5944 §1.8). */
export enum AdvExtensionType {
  Pad = 0,
  MobilityAgentAdvertisement = 16,
  PrefixLengths = 19,
  /** RFC 3012 §3: kept as raw bytes */
  Challenge = 24,
}

/** Flags16 of the Mobility Agent Advertisement Extension (RFC 5944 §2.1.1). */
export enum AdvFlag {
  RegistrationRequired = 0x8000,
  Busy = 0x4000,
  HomeAgent = 0x2000,
  ForeignAgent = 0x1000,
  MinimalEncapsulation = 0x0800,
  GreEncapsulation = 0x0400,
  /** r: sent as zero */
  Reserved = 0x0200,
  ReverseTunnel = 0x0100,
  /** RFC 3519 §3.4 */
  UdpTunnelling = 0x0080,
  /** RFC 3543 registration revocation */
  Revocation = 0x0040,
  /** RFC 4857 regional registration */
  RegionalRegistration = 0x0020,
}

export enum IcmpRouterType {
  Advertisement = 9,
  Solicitation = 10,
}

/** ICMP code of an Agent Advertisement (RFC 5944 §2.1). */
export enum AdvCode {
  RoutesCommonTraffic = 0,
  MobilityOnly = 16,
}

/** Encapsulations by IP protocol number (RFC 3519 §3.1.4, §3.3). */
export enum Encapsulation {
  FollowFlags = 0,
  IpInIp = 4,
  Gre = 47,
  Minimal = 55,
}

/** UDP Tunnel Request flags (RFC 3519 §3.1). */
export enum UdpTunnelRequestFlag {
  Force = 0x80,
  RegistrationThroughFa = 0x40,
}

/** UDP Tunnel Reply Flags16 (RFC 3519 §3.2). */
export const UDP_TUNNEL_REPLY_FORCED = 0x8000;
/** UDP Tunnel Reply codes 0–63 assent, 64–255 decline (RFC 3519 §3.2.1). */
export const UDP_TUNNEL_REPLY_DECLINE_MIN = 64;

/** RFC 3519 §4.9, §4.10 */
export const KEEPALIVE_DEFAULT_SECONDS = 110;
export const KEEPALIVE_MIN_SECONDS = 10;

/** Seconds between the NTP epoch (1900) and the Unix epoch (RFC 5905 §6). */
export const NTP_UNIX_OFFSET = 2_208_988_800;

/** Registration Reply codes (RFC 5944 §3.4, RFC 3024 §4, RFC 2794 §3, RFC 3519 §3.5). */
export enum ReplyCode {
  Accepted = 0,
  AcceptedNoSimultaneousBindings = 1,
  FaUnspecified = 64,
  FaProhibited = 65,
  FaInsufficientResources = 66,
  FaMnFailedAuth = 67,
  FaHaFailedAuth = 68,
  FaLifetimeTooLong = 69,
  FaPoorlyFormedRequest = 70,
  FaPoorlyFormedReply = 71,
  FaEncapsulationUnavailable = 72,
  FaReservedUnavailable = 73,
  FaReverseTunnelUnavailable = 74,
  FaReverseTunnelMandatory = 75,
  FaMnTooDistant = 76,
  FaInvalidCareOf = 77,
  FaRegistrationTimeout = 78,
  FaDeliveryStyleUnsupported = 79,
  FaHomeNetworkUnreachable = 80,
  FaHaHostUnreachable = 81,
  FaHaPortUnreachable = 82,
  FaHaUnreachable = 88,
  FaNonZeroHoaRequired = 96,
  FaMissingNai = 97,
  FaMissingHomeAgent = 98,
  FaMissingHomeAddress = 99,
  HaUnspecified = 128,
  HaProhibited = 129,
  HaInsufficientResources = 130,
  HaMnFailedAuth = 131,
  HaFaFailedAuth = 132,
  HaIdentificationMismatch = 133,
  HaPoorlyFormedRequest = 134,
  HaTooManyBindings = 135,
  HaUnknownHomeAgent = 136,
  HaReverseTunnelUnavailable = 137,
  HaReverseTunnelMandatory = 138,
  HaEncapsulationUnavailable = 139,
  HaUdpEncapsulationUnavailable = 142,
  FaInvalidHomeAgentAddress = 194,
}

const CODE_NAMES: Readonly<Record<number, string>> = {
  0: 'registration accepted',
  1: 'registration accepted, but simultaneous mobility bindings unsupported',
  64: 'reason unspecified (FA)', 65: 'administratively prohibited (FA)', 66: 'insufficient resources (FA)',
  67: 'mobile node failed authentication (FA)', 68: 'home agent failed authentication (FA)',
  69: 'requested Lifetime too long', 70: 'poorly formed Request (FA)', 71: 'poorly formed Reply (FA)',
  72: 'requested encapsulation unavailable (FA)', 73: 'reserved and unavailable',
  74: 'requested reverse tunnel unavailable (FA)', 75: "reverse tunnel is mandatory and 'T' bit not set (FA)",
  76: 'mobile node too distant', 77: 'invalid care-of address', 78: 'registration timeout',
  79: 'delivery style not supported', 80: 'home network unreachable', 81: 'home agent host unreachable',
  82: 'home agent port unreachable', 88: 'home agent unreachable',
  96: 'non-zero home address required', 97: 'missing NAI', 98: 'missing home agent', 99: 'missing home address',
  128: 'reason unspecified', 129: 'administratively prohibited', 130: 'insufficient resources',
  131: 'mobile node failed authentication', 132: 'foreign agent failed authentication',
  133: 'registration Identification mismatch', 134: 'poorly formed Request',
  135: 'too many simultaneous mobility bindings', 136: 'unknown home agent address',
  137: 'requested reverse tunnel unavailable', 138: "reverse tunnel is mandatory and 'T' bit not set",
  139: 'requested encapsulation unavailable', 142: 'requested UDP tunnel encapsulation unavailable',
  194: 'invalid home agent address',
};

export type ReplyCodeSource = 'success' | 'foreign-agent' | 'home-agent' | 'gateway-foreign-agent' | 'unassigned';

/** Which party a code comes from: 0–8 success, 64–127 FA, 128–192 HA, 193–200 GFA (IANA ranges). */
export function replyCodeSource(code: number): ReplyCodeSource {
  if (code >= 0 && code <= 8) return 'success';
  if (code >= 64 && code <= 127) return 'foreign-agent';
  if (code >= 128 && code <= 192) return 'home-agent';
  if (code >= 193 && code <= 200) return 'gateway-foreign-agent';
  return 'unassigned';
}

/** The RFC's wording for a reply code; unknown codes are named by their range. */
export function replyCodeName(code: number): string {
  const name = CODE_NAMES[code];
  if (name !== undefined) return name;
  const src = replyCodeSource(code);
  if (src === 'success') return `accepted (code ${code})`;
  return src === 'unassigned' ? `unassigned code ${code}` : `denied by ${src.replace(/-/g, ' ')} (code ${code})`;
}

export function isAccepted(code: number): boolean {
  return replyCodeSource(code) === 'success';
}

// Implementation

/** HMAC-MD5 authenticator (RFC 5944 §3.5.1 default algorithm). */
export const HMAC_MD5_LENGTH = 16;
/** SPI (4) + HMAC-MD5 (16). */
export const MN_HA_AUTH_DATA_LENGTH = 4 + HMAC_MD5_LENGTH;
/** SPIs 0–255 are reserved (RFC 5944 §1.6). */
export const SPI_MIN = 256;
