// Mode mc in one native pass (issue 17): the Mobile IPv4 reverse tunnel of
// the home address (IP-in-IP, RFC 2003) done on the data plane's threads,
// next to the ESP seal and open. No Node API in here: dataplane.cc owns the
// threads and the descriptors and calls these functions; the JS side
// (app/io/mip-tunnel.ts through app/io/native-pipeline.ts) installs and
// removes the tunnel.
//
//   outbound (tx thread): home-address TUN (hwmip0) → MipEncap: an outer IPv4
//     header in front (src = care-of address, dst = HA, protocol 4, TOS and DF
//     copied from the inner header, TTL 64; RFC 2003 §3.1) → the ESP seal of
//     the VPN's outbound SA, as a packet read from the VPN TUN would be.
//     A DF packet that does not fit the VPN TUN's MTU is answered with ICMP
//     "fragmentation needed" (RFC 2003 §5.1, next-hop MTU = MTU − 20) written
//     back into hwmip0, as app/io/mip-tunnel.ts does.
//   inbound (rx thread): after the ESP open, MipClaims: an unfragmented
//     protocol-4 packet from the HA to our care-of address is ours; MipDecap
//     checks it exactly as app/mip4/tunnel-format.ts decapsulateIp and
//     MipTunnel.deliver do (outer and inner header well formed with valid
//     checksums, inner destination = the home address) and the inner packet
//     goes to hwmip0. Everything else goes to the VPN TUN as before (an outer
//     fragment too: the kernel reassembles it for the JavaScript raw socket).
//
// The checks mirror the JavaScript codecs byte for byte
// (test/unit/io/native-mip-pass.test.ts compares both); malformed input is a
// counted MipDrop, never a crash.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace homeward {

constexpr size_t kMipOuter = 20;  // the outer IPv4 header of IP-in-IP, no options
constexpr uint8_t kProtoIpInIp = 4;
constexpr uint8_t kProtoIcmp = 1;

// One installed tunnel: addresses as host-order 32-bit numbers.
struct MipTunnelConfig {
  uint32_t hoa = 0;
  uint32_t coa = 0;
  uint32_t ha = 0;
  // The VPN TUN's MTU: a DF packet whose encapsulation does not fit is
  // answered with "fragmentation needed"; 0: no check.
  size_t mtu = 0;
};

enum class MipDrop : int {
  kMalformed = 0,  // not a well-formed IPv4 packet (either side), bad checksum (inbound)
  kTooBig,         // encapsulation does not fit (DF: answered with ICMP; else dropped, as a raw send would be)
  kWrongDestination,  // inbound: inner destination is not the home address
  kTunWrite,       // writing to the home-address TUN failed
  kCount
};

inline const char* MipDropName(MipDrop d) {
  static const char* names[] = {"malformed", "too-big", "wrong-destination", "tun-write"};
  return names[static_cast<int>(d)];
}

// Counters of the pass, kept across install/remove (the Dataplane's lifetime).
struct MipCounters {
  std::atomic<uint64_t> tun_in{0};   // packets read from hwmip0
  std::atomic<uint64_t> out{0};      // encapsulated and handed to the ESP seal
  std::atomic<uint64_t> in{0};       // decapsulated and written to hwmip0
  std::atomic<uint64_t> too_big_icmp{0};  // "fragmentation needed" written back to hwmip0
  std::atomic<uint64_t> drops[static_cast<int>(MipDrop::kCount)] = {};
};

inline uint16_t MipChecksum(const uint8_t* p, size_t len) {
  uint32_t sum = 0;
  size_t i = 0;
  for (; i + 1 < len; i += 2) sum += (static_cast<uint32_t>(p[i]) << 8) | p[i + 1];
  if (i < len) sum += static_cast<uint32_t>(p[i]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

inline uint32_t MipU32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) | (static_cast<uint32_t>(p[2]) << 8) | p[3];
}

inline void MipPutU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// The header fields decodeIpv4Header (app/wire/ip/ipv4-header.ts) accepts:
// version 4, 20 ≤ IHL ≤ len, IHL ≤ Total Length ≤ len; checksum when asked.
// Returns the total length, 0 when malformed.
inline size_t MipHeaderOk(const uint8_t* p, size_t len, bool verify_checksum) {
  if (len < 20 || (p[0] >> 4) != 4) return 0;
  size_t ihl = static_cast<size_t>(p[0] & 0x0f) * 4;
  if (ihl < 20 || ihl > len) return 0;
  size_t total = (static_cast<size_t>(p[2]) << 8) | p[3];
  if (total < ihl || total > len) return 0;
  if (verify_checksum && MipChecksum(p, ihl) != 0) return 0;
  return total;
}

inline void MipWriteHeader(uint8_t* h, uint8_t tos, size_t total, uint16_t id, bool df, uint8_t ttl, uint8_t proto, uint32_t src,
                           uint32_t dst) {
  h[0] = 0x45;
  h[1] = tos;
  h[2] = static_cast<uint8_t>(total >> 8);
  h[3] = static_cast<uint8_t>(total);
  h[4] = static_cast<uint8_t>(id >> 8);
  h[5] = static_cast<uint8_t>(id);
  h[6] = df ? 0x40 : 0;
  h[7] = 0;
  h[8] = ttl;
  h[9] = proto;
  h[10] = 0;
  h[11] = 0;
  MipPutU32(h + 12, src);
  MipPutU32(h + 16, dst);
  uint16_t c = MipChecksum(h, 20);
  h[10] = static_cast<uint8_t>(c >> 8);
  h[11] = static_cast<uint8_t>(c);
}

// Outbound. The inner packet (len bytes as read from hwmip0) lies at
// buf + kMipOuter; the outer header is written at buf. Returns the outer
// packet's length (> 0), or −1 − MipDrop. For kTooBig with DF set, *icmp_len
// is the length of the ICMP "fragmentation needed" packet written to icmp
// (room: 20 + 8 + 60 + 8 bytes) for the caller to write back into hwmip0;
// 0 otherwise. `id`: the outer Identification (0 when DF is set, as the
// JavaScript codec writes it).
inline int MipEncap(const MipTunnelConfig& c, uint8_t* buf, size_t len, uint16_t id, uint8_t* icmp, size_t* icmp_len) {
  *icmp_len = 0;
  const uint8_t* inner = buf + kMipOuter;
  size_t total = MipHeaderOk(inner, len, false);
  if (total == 0) return -1 - static_cast<int>(MipDrop::kMalformed);
  bool df = (inner[6] & 0x40) != 0;
  if (c.mtu != 0 && len + kMipOuter > c.mtu) {
    if (df && c.mtu >= kMipOuter + 68 && icmp != nullptr) {
      // RFC 2003 §5.1 / RFC 792: type 3 code 4, next-hop MTU, the IP header + 8 bytes quoted;
      // from the care-of address to the inner source (app/io/mip-tunnel.ts send())
      size_t ihl = static_cast<size_t>(inner[0] & 0x0f) * 4;
      size_t quote = len < ihl + 8 ? len : ihl + 8;
      uint8_t* m = icmp + 20;
      size_t mtu = c.mtu - kMipOuter;
      m[0] = 3;
      m[1] = 4;
      m[2] = m[3] = m[4] = m[5] = 0;
      m[6] = static_cast<uint8_t>(mtu >> 8);
      m[7] = static_cast<uint8_t>(mtu);
      std::memcpy(m + 8, inner, quote);
      uint16_t ck = MipChecksum(m, 8 + quote);
      m[2] = static_cast<uint8_t>(ck >> 8);
      m[3] = static_cast<uint8_t>(ck);
      MipWriteHeader(icmp, 0xc0, 20 + 8 + quote, 0, false, 64, kProtoIcmp, c.coa, MipU32(inner + 12));
      *icmp_len = 20 + 8 + quote;
    }
    return -1 - static_cast<int>(MipDrop::kTooBig);
  }
  size_t out = kMipOuter + total;
  if (out > 0xffff) return -1 - static_cast<int>(MipDrop::kTooBig);
  MipWriteHeader(buf, inner[1], out, df ? 0 : id, df, 64, kProtoIpInIp, c.coa, c.ha);
  return static_cast<int>(out);
}

// Inbound: is this opened ESP inner packet the Mobile IP tunnel from the HA
// to our care-of address (and not a fragment)? Only the fields the decision
// needs; MipDecap checks the rest.
inline bool MipClaims(const MipTunnelConfig& c, const uint8_t* p, size_t len) {
  if (len < 20 || (p[0] >> 4) != 4 || p[9] != kProtoIpInIp) return false;
  if (MipU32(p + 12) != c.ha || MipU32(p + 16) != c.coa) return false;
  uint16_t ff = static_cast<uint16_t>((p[6] << 8) | p[7]);
  return (ff & 0x3fff) == 0;  // MF clear, offset 0: fragments go to the kernel for reassembly
}

// A claimed packet: the inner packet at *inner_off, *inner_len bytes; or the drop.
inline int MipDecap(const MipTunnelConfig& c, const uint8_t* p, size_t len, size_t* inner_off, size_t* inner_len) {
  size_t total = MipHeaderOk(p, len, true);
  if (total == 0) return static_cast<int>(MipDrop::kMalformed);
  size_t ihl = static_cast<size_t>(p[0] & 0x0f) * 4;
  const uint8_t* inner = p + ihl;
  size_t itotal = MipHeaderOk(inner, total - ihl, true);
  if (itotal == 0) return static_cast<int>(MipDrop::kMalformed);
  if (MipU32(inner + 16) != c.hoa) return static_cast<int>(MipDrop::kWrongDestination);
  *inner_off = ihl;
  *inner_len = itotal;
  return -1;
}

}  // namespace homeward
