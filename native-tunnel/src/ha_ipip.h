// The reference home agent's IP-in-IP (RFC 2003) decisions, pure: no I/O, no
// allocation, no lock. ha_forward.cc's threads run them per packet, and its
// test entry points (classifyToMn, classifyFromMn) run exactly these functions
// for the differential unit test against test/lab/home-agent/forwarding.ts.
//
// Each mirrors a path of the JS Forwarder and gives one verdict:
//   kForward        the fast path sends it (to the MN) or writes it (to the intranet)
//   kToJs           not the fast path's to decide (no IP-in-IP binding, a packet
//                   that must be answered "fragmentation needed", another protocol):
//                   handed to the JS forwarder unchanged
//   kMalformed      a counted drop, where the JS forwarder counts `malformed`
//   kWrongEndpoint  a counted drop, where the JS forwarder counts `wrongEndpoint`
#ifndef HOMEWARD_HA_IPIP_H_
#define HOMEWARD_HA_IPIP_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ha {

enum Verdict : int { kForward = 0, kToJs = 1, kMalformed = 2, kWrongEndpoint = 3 };

// One IP-in-IP binding: the care-of address (host order) and the tunnel MTU
// learnt from ICMP "fragmentation needed" for it (0: none learnt).
struct Entry {
  uint32_t coa;
  uint32_t mtu;
};

constexpr uint8_t kProtoIpInIp = 4;
constexpr uint8_t kOuterTtl = 64;  // as encodeIpv4's default, which the JS forwarder uses
constexpr size_t kOuterLength = 20;

inline uint32_t U32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) | (static_cast<uint32_t>(p[2]) << 8) | p[3];
}
inline uint16_t U16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline void PutU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// The one's-complement sum of p[0..n), folded (n even for a header).
inline uint16_t FoldedSum(const uint8_t* p, size_t n) {
  uint32_t s = 0;
  for (size_t i = 0; i + 1 < n; i += 2) s += (static_cast<uint32_t>(p[i]) << 8) | p[i + 1];
  if (n & 1) s += static_cast<uint32_t>(p[n - 1]) << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

// forwarding.ts ipv4HeaderLength: the header length of a well-formed IPv4
// packet (version 4, IHL ≥ 5 and within the bytes, Total Length between the
// header and the bytes, header checksum valid), −1 otherwise.
inline int HeaderLength(const uint8_t* p, size_t len) {
  if (len < 20 || (p[0] >> 4) != 4) return -1;
  size_t ihl = static_cast<size_t>(p[0] & 0x0f) * 4;
  size_t total = U16(p + 2);
  if (ihl < 20 || ihl > len || total < ihl || total > len || FoldedSum(p, ihl) != 0xffff) return -1;
  return static_cast<int>(ihl);
}

// Intranet → MN (Forwarder.handleFromIntranet, IP-in-IP binding). `lookup(hoa)`
// gives the binding of a home address or nullptr. On kForward `hdr` holds the
// 20-byte outer header (RFC 2003 §3.1: source = the HA, destination = the CoA,
// protocol 4, TOS and DF copied from the inner header, TTL 64, identification
// 0, no options) and the packet to send is hdr + pkt[0..*inner_len) (the inner
// packet up to its Total Length).
template <class Lookup>
Verdict ClassifyToMn(const uint8_t* pkt, size_t len, uint32_t ha, Lookup&& lookup, uint8_t* hdr, size_t* inner_len) {
  if (HeaderLength(pkt, len) < 0) return kMalformed;
  const Entry* e = lookup(U32(pkt + 16));
  if (e == nullptr) return kToJs;  // no binding, or one in another format: the JS forwarder's
  bool df = (pkt[6] & 0x40) != 0;
  // RFC 2003 §5.1: too big for the tunnel with DF: JS answers "fragmentation needed"
  if (e->mtu != 0 && df && len + kOuterLength > e->mtu) return kToJs;
  size_t total = U16(pkt + 2);
  size_t outer = total + kOuterLength;
  if (outer > 0xffff) return kToJs;
  hdr[0] = 0x45;
  hdr[1] = pkt[1];
  hdr[2] = static_cast<uint8_t>(outer >> 8);
  hdr[3] = static_cast<uint8_t>(outer);
  hdr[4] = hdr[5] = 0;  // identification: the kernel fills one in for IP_HDRINCL
  hdr[6] = df ? 0x40 : 0;
  hdr[7] = 0;
  hdr[8] = kOuterTtl;
  hdr[9] = kProtoIpInIp;
  hdr[10] = hdr[11] = 0;
  PutU32(hdr + 12, ha);
  PutU32(hdr + 16, e->coa);
  uint16_t c = static_cast<uint16_t>(~FoldedSum(hdr, kOuterLength));
  hdr[10] = static_cast<uint8_t>(c >> 8);
  hdr[11] = static_cast<uint8_t>(c);
  *inner_len = total;
  return kForward;
}

// MN → intranet (Forwarder.handleRaw + acceptFromMn for protocol 4, RFC 3024
// reverse tunnelling): a well-formed outer header, not a fragment; a
// well-formed inner packet whose source has an IP-in-IP binding, sent from that
// binding's care-of address. On kForward the packet to write to the TUN is
// pkt[*inner_off .. *inner_off + *inner_len) (the outer Total Length's payload).
template <class Lookup>
Verdict ClassifyFromMn(const uint8_t* pkt, size_t len, Lookup&& lookup, size_t* inner_off, size_t* inner_len) {
  int ihl = HeaderLength(pkt, len);
  if (ihl < 0) return kMalformed;
  if (pkt[9] != kProtoIpInIp) return kToJs;
  if ((pkt[6] & 0x3f) + pkt[7] != 0) return kMalformed;  // an outer fragment (MF or an offset)
  size_t total = U16(pkt + 2);
  const uint8_t* inner = pkt + ihl;
  size_t n = total - static_cast<size_t>(ihl);
  if (HeaderLength(inner, n) < 0) return kMalformed;
  const Entry* e = lookup(U32(inner + 12));
  if (e == nullptr) return kToJs;  // no binding, or one in another mode: the JS forwarder's (noBinding / wrongEndpoint)
  if (e->coa != U32(pkt + 12)) return kWrongEndpoint;
  *inner_off = static_cast<size_t>(ihl);
  *inner_len = n;
  return kForward;
}

}  // namespace ha

#endif  // HOMEWARD_HA_IPIP_H_
