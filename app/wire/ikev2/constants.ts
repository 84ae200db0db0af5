/**
 * IKEv2 registry values (RFC 7296 §3 and the IANA "IKEv2 Parameters"
 * registry), plus the MOBIKE (RFC 4555), NAT-T and RFC 7427 additions we use.
 * Values are numbers on the wire; decoders keep unknown numbers as they are,
 * so fields typed with these enums may hold values not listed here.
 */

// Specification (RFC 7296 §3.1: IKE header)

export const IKE_HEADER_LENGTH = 28;
export const IKE_MAJOR_VERSION = 2;
export const IKE_MINOR_VERSION = 0;
export const IKE_SPI_LENGTH = 8;

export enum ExchangeType {
  IkeSaInit = 34,
  IkeAuth = 35,
  CreateChildSa = 36,
  Informational = 37,
}

/** Flags octet: bits 3 (I), 4 (V), 5 (R) counted from the least significant. */
export enum HeaderFlag {
  Initiator = 0x08,
  Version = 0x10,
  Response = 0x20,
}

// Specification (RFC 7296 §3.2: generic payload header; §3.3 payload types)

export const GENERIC_PAYLOAD_HEADER_LENGTH = 4;
export const CRITICAL_BIT = 0x80;

export enum PayloadType {
  NoNextPayload = 0,
  SA = 33,
  KE = 34,
  IDi = 35,
  IDr = 36,
  CERT = 37,
  CERTREQ = 38,
  AUTH = 39,
  Nonce = 40,
  Notify = 41,
  Delete = 42,
  VendorId = 43,
  TSi = 44,
  TSr = 45,
  SK = 46,
  CP = 47,
  EAP = 48,
}

// Specification (RFC 7296 §3.3.1: proposal protocol ids)

export enum ProtocolId {
  None = 0,
  IKE = 1,
  AH = 2,
  ESP = 3,
}

// Specification (RFC 7296 §3.3.2: transform types and ids)

export enum TransformType {
  ENCR = 1,
  PRF = 2,
  INTEG = 3,
  DH = 4,
  ESN = 5,
}

export enum EncrId {
  DesIv64 = 1,
  Des = 2,
  TripleDes = 3,
  Null = 11,
  AesCbc = 12,
  AesCtr = 13,
  AesCcm8 = 14,
  AesCcm12 = 15,
  AesCcm16 = 16,
  AesGcm8 = 18,
  AesGcm12 = 19,
  AesGcm16 = 20,
  NullAuthAesGmac = 21,
  ChaCha20Poly1305 = 28,
}

export enum PrfId {
  HmacMd5 = 1,
  HmacSha1 = 2,
  AesXcbc128 = 4,
  HmacSha2_256 = 5,
  HmacSha2_384 = 6,
  HmacSha2_512 = 7,
  AesCmac128 = 8,
}

export enum IntegId {
  None = 0,
  HmacMd5_96 = 1,
  HmacSha1_96 = 2,
  AesXcbc96 = 5,
  HmacSha2_256_128 = 12,
  HmacSha2_384_192 = 13,
  HmacSha2_512_256 = 14,
}

export enum DhId {
  None = 0,
  Modp1024 = 2,
  Modp2048 = 14,
  Modp3072 = 15,
  Modp4096 = 16,
  Ecp256 = 19,
  Ecp384 = 20,
  Ecp521 = 21,
  Curve25519 = 31,
  Curve448 = 32,
}

export enum EsnId {
  NoEsn = 0,
  Esn = 1,
}

// Specification (RFC 7296 §3.3.5: transform attributes)

export enum TransformAttr {
  KeyLength = 14,
}

/** Attribute Format bit: set = TV (2-byte value in the header), clear = TLV. */
export const ATTRIBUTE_TV_BIT = 0x8000;

// Specification (RFC 7296 §3.5: identification payload)

export enum IdType {
  Ipv4Addr = 1,
  Fqdn = 2,
  Rfc822Addr = 3,
  Ipv6Addr = 5,
  DerAsn1Dn = 9,
  DerAsn1Gn = 10,
  KeyId = 11,
}

// Specification (RFC 7296 §3.6: certificate encodings)

export enum CertEncoding {
  Pkcs7WrappedX509 = 1,
  Pgp = 2,
  DnsSignedKey = 3,
  X509Signature = 4,
  Kerberos = 6,
  Crl = 7,
  Arl = 8,
  Spki = 9,
  X509Attribute = 10,
  HashAndUrlX509 = 12,
  HashAndUrlX509Bundle = 13,
}

// Specification (RFC 7296 §3.8; RFC 4754; RFC 7427 §7: authentication methods)

export enum AuthMethod {
  RsaDigitalSignature = 1,
  SharedKeyMic = 2,
  DssDigitalSignature = 3,
  EcdsaSha256P256 = 9,
  EcdsaSha384P384 = 10,
  EcdsaSha512P521 = 11,
  DigitalSignature = 14,
}

/** Hash algorithm ids carried in N(SIGNATURE_HASH_ALGORITHMS) (RFC 7427 §7, RFC 8420). */
export enum HashAlgorithm {
  Sha1 = 1,
  Sha2_256 = 2,
  Sha2_384 = 3,
  Sha2_512 = 4,
  Identity = 5,
}

// Specification (RFC 7296 §3.10.1; RFC 4555 §4; RFC 7427 §4: notify types)

export enum NotifyType {
  // Errors (0-16383)
  UnsupportedCriticalPayload = 1,
  InvalidIkeSpi = 4,
  InvalidMajorVersion = 5,
  InvalidSyntax = 7,
  InvalidMessageId = 9,
  InvalidSpi = 11,
  NoProposalChosen = 14,
  InvalidKePayload = 17,
  AuthenticationFailed = 24,
  SinglePairRequired = 34,
  NoAdditionalSas = 35,
  InternalAddressFailure = 36,
  FailedCpRequired = 37,
  TsUnacceptable = 38,
  InvalidSelectors = 39,
  UnacceptableAddresses = 40,
  UnexpectedNatDetected = 41,
  TemporaryFailure = 43,
  ChildSaNotFound = 44,
  // Status (16384-65535)
  InitialContact = 16384,
  SetWindowSize = 16385,
  AdditionalTsPossible = 16386,
  IpcompSupported = 16387,
  NatDetectionSourceIp = 16388,
  NatDetectionDestinationIp = 16389,
  Cookie = 16390,
  UseTransportMode = 16391,
  HttpCertLookupSupported = 16392,
  RekeySa = 16393,
  EspTfcPaddingNotSupported = 16394,
  NonFirstFragmentsAlso = 16395,
  MobikeSupported = 16396,
  AdditionalIp4Address = 16397,
  AdditionalIp6Address = 16398,
  NoAdditionalAddresses = 16399,
  UpdateSaAddresses = 16400,
  Cookie2 = 16401,
  NoNatsAllowed = 16402,
  EapOnlyAuthentication = 16417,
  SignatureHashAlgorithms = 16431,
}

/** Notify types below this value are errors (RFC 7296 §3.10.1). */
export const NOTIFY_STATUS_MIN = 16384;

// Specification (RFC 7296 §3.13.1: traffic selector types)

export enum TsType {
  Ipv4AddrRange = 7,
  Ipv6AddrRange = 8,
}

export const TS_IPV4_SELECTOR_LENGTH = 16;
export const TS_IPV6_SELECTOR_LENGTH = 40;

// Specification (RFC 7296 §3.15: configuration payload)

export enum CfgType {
  Request = 1,
  Reply = 2,
  Set = 3,
  Ack = 4,
}

export enum CfgAttr {
  InternalIp4Address = 1,
  InternalIp4Netmask = 2,
  InternalIp4Dns = 3,
  InternalIp4Nbns = 4,
  InternalIp4Dhcp = 6,
  ApplicationVersion = 7,
  InternalIp6Address = 8,
  InternalIp6Dns = 10,
  InternalIp6Dhcp = 12,
  InternalIp4Subnet = 13,
  SupportedAttributes = 14,
  InternalIp6Subnet = 15,
  /** RFC 8598 §4: a domain (ASCII, no trailing dot) whose names the DNS servers of this CP answer */
  InternalDnsDomain = 25,
}

// Specification (RFC 7296 §3.9, §3.10: sizes)

export const NONCE_MIN_LENGTH = 16;
export const NONCE_MAX_LENGTH = 256;
export const COOKIE_MAX_LENGTH = 64;

// Implementation

/** Largest IKE message we build: one UDP datagram (no IKE fragmentation support). */
export const MAX_MESSAGE_LENGTH = 65535;
