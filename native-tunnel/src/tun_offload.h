// tun_offload.h: TUN offloads (IFF_VNET_HDR) for the native data path, pure
// functions over byte buffers (no I/O, no allocation):
//   - the 10-byte virtio_net_hdr a TUN opened with IFF_VNET_HDR puts before
//     every packet (linux/virtio_net.h; native byte order: tun's default);
//   - CompleteCsum: a NEEDS_CSUM packet's transport checksum finished in software;
//   - Segment: a TCPv4 GSO super-packet (TSO: the kernel handed us up to 64 KB)
//     cut into gso_size segments as the kernel's own software GSO would
//     (IP total length, incrementing IP ID, IP checksum; TCP seq, FIN/PSH only on
//     the last segment, CWR only on the first, TCP checksum);
//   - Coalescer: consecutive in-order TCPv4 segments of one flow (GRO-style)
//     joined into one super-packet written with a GSO header, so the kernel's
//     TCP receiver handles (and ACKs) one skb instead of dozens.
// The coalescing rules follow Linux's tcp_gro_receive and wireguard-go's
// tcp_offload_linux.go: plain IPv4 (no options, no fragment), TCP with only
// ACK (and PSH on the last), same addresses, ports, TOS, TTL, DF, ACK number,
// window and options; contiguous sequence numbers; incrementing IP ID; every
// segment gso_size long except a shorter last one; a PSH ends the run; valid
// IP and TCP checksums (a packet whose checksum is wrong is written as it is,
// so the kernel drops it as it would have). Everything else passes alone.

#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace homeward {
namespace offload {

constexpr size_t kVnetHdr = 10;
constexpr uint8_t kNeedsCsum = 1;    // VIRTIO_NET_HDR_F_NEEDS_CSUM
constexpr uint8_t kDataValid = 2;    // VIRTIO_NET_HDR_F_DATA_VALID
constexpr uint8_t kGsoNone = 0;      // VIRTIO_NET_HDR_GSO_NONE
constexpr uint8_t kGsoTcpv4 = 1;     // VIRTIO_NET_HDR_GSO_TCPV4
constexpr uint8_t kGsoEcn = 0x80;    // VIRTIO_NET_HDR_GSO_ECN
constexpr size_t kMaxIp = 65535;

struct VnetHdr {
  uint8_t flags = 0;
  uint8_t gso_type = kGsoNone;
  uint16_t hdr_len = 0;
  uint16_t gso_size = 0;
  uint16_t csum_start = 0;
  uint16_t csum_offset = 0;
};

inline VnetHdr ReadVnetHdr(const uint8_t* p) {
  VnetHdr h;
  h.flags = p[0];
  h.gso_type = p[1];
  std::memcpy(&h.hdr_len, p + 2, 2);
  std::memcpy(&h.gso_size, p + 4, 2);
  std::memcpy(&h.csum_start, p + 6, 2);
  std::memcpy(&h.csum_offset, p + 8, 2);
  return h;
}

inline void WriteVnetHdr(const VnetHdr& h, uint8_t* p) {
  p[0] = h.flags;
  p[1] = h.gso_type;
  std::memcpy(p + 2, &h.hdr_len, 2);
  std::memcpy(p + 4, &h.gso_size, 2);
  std::memcpy(p + 6, &h.csum_start, 2);
  std::memcpy(p + 8, &h.csum_offset, 2);
}

inline uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t Get32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) | (static_cast<uint32_t>(p[2]) << 8) | p[3];
}
inline void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void Put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// One's-complement sum of the big-endian 16-bit words of p[0, n) added to acc
// (unfolded, 64-bit accumulator). Summed 8 bytes at a time in host order with
// end-around carry and swapped once at the end (RFC 1071 §2: the sum does not
// depend on byte order) — a byte-wise loop was as costly as the AES-GCM.
inline uint64_t SumBytes(const uint8_t* p, size_t n, uint64_t acc = 0) {
  uint64_t s = 0;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    s += v;
    s += (s < v);  // end-around carry
    p += 8;
    n -= 8;
  }
  uint64_t t = (s & 0xffffffffu) + (s >> 32);
  while (n >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    t += w;
    p += 2;
    n -= 2;
  }
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (n) t += p[0];  // the first byte of a host-order word is its low byte here
  while (t >> 16) t = (t & 0xffff) + (t >> 16);
  t = ((t & 0xff) << 8) | (t >> 8);
#else
  if (n) t += static_cast<uint64_t>(p[0]) << 8;
#endif
  return acc + t;
}

inline uint16_t Fold(uint64_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(acc);
}

// The IPv4 pseudo-header (RFC 793) of a transport segment of `len` bytes.
inline uint64_t PseudoSum(const uint8_t* ip, uint8_t proto, size_t len) {
  return SumBytes(ip + 12, 8) + proto + len;
}

inline uint16_t IpHeaderCsum(const uint8_t* ip, size_t ihl) {
  uint64_t s = SumBytes(ip, 10) + SumBytes(ip + 12, ihl - 12);
  return static_cast<uint16_t>(~Fold(s));
}

// NEEDS_CSUM: the checksum field at csum_start+csum_offset holds the pseudo-header
// sum; the sum of [csum_start, len) completes it. False (packet untouched) if the
// offsets lie outside the packet.
inline bool CompleteCsum(uint8_t* pkt, size_t len, uint16_t csum_start, uint16_t csum_offset) {
  if (static_cast<size_t>(csum_start) + csum_offset + 2 > len) return false;
  uint8_t* field = pkt + csum_start + csum_offset;
  uint16_t c = static_cast<uint16_t>(~Fold(SumBytes(pkt + csum_start, len - csum_start)));
  if (c == 0 && len >= 20 && pkt[9] == 17 && (pkt[0] >> 4) == 4) c = 0xffff;  // UDP: 0 means "no checksum"
  Put16(field, c);
  return true;
}

enum class SegError { kOk = 0, kNotTcpv4, kBadHeader, kBadLength, kGsoSize, kTooMany, kCount };

inline const char* SegErrorName(SegError e) {
  switch (e) {
    case SegError::kOk: return "ok";
    case SegError::kNotTcpv4: return "gso-not-tcpv4";
    case SegError::kBadHeader: return "gso-bad-header";
    case SegError::kBadLength: return "gso-bad-length";
    case SegError::kGsoSize: return "gso-bad-size";
    case SegError::kTooMany: return "gso-too-many";
    default: return "?";
  }
}

// Number of segments a TCPv4 GSO packet gives, 0 with *err set if it is malformed.
inline int SegmentCount(const VnetHdr& h, const uint8_t* pkt, size_t len, size_t* hdr_out, SegError* err) {
  *err = SegError::kOk;
  if ((h.gso_type & ~kGsoEcn) != kGsoTcpv4) return (*err = SegError::kNotTcpv4), 0;
  if (len < 40 || (pkt[0] >> 4) != 4 || pkt[9] != 6) return (*err = SegError::kNotTcpv4), 0;
  size_t ihl = static_cast<size_t>(pkt[0] & 15) * 4;
  if (ihl < 20 || ihl + 20 > len) return (*err = SegError::kBadHeader), 0;
  size_t doff = static_cast<size_t>(pkt[ihl + 12] >> 4) * 4;
  size_t hl = ihl + doff;
  if (doff < 20 || hl > len) return (*err = SegError::kBadHeader), 0;
  if (Get16(pkt + 2) != len || (Get16(pkt + 6) & 0x3fff) != 0) return (*err = SegError::kBadLength), 0;
  if (h.gso_size == 0) return (*err = SegError::kGsoSize), 0;
  size_t payload = len - hl;
  if (payload == 0) return (*err = SegError::kBadLength), 0;
  *hdr_out = hl;
  return static_cast<int>((payload + h.gso_size - 1) / h.gso_size);
}

// Cuts a TCPv4 GSO packet into segments: segment i is written at
// out + i*stride, its length into lens[i]. Returns the count (≤ max), or 0 with
// *err set (nothing usable written).
inline int Segment(const VnetHdr& h, const uint8_t* pkt, size_t len, uint8_t* out, size_t stride, size_t* lens, int max,
                   SegError* err) {
  size_t hl = 0;
  int n = SegmentCount(h, pkt, len, &hl, err);
  if (n == 0) return 0;
  if (n > max) return (*err = SegError::kTooMany), 0;
  if (hl + h.gso_size > stride) return (*err = SegError::kGsoSize), 0;
  size_t ihl = static_cast<size_t>(pkt[0] & 15) * 4;
  uint16_t id = Get16(pkt + 4);
  uint32_t seq = Get32(pkt + ihl + 4);
  uint8_t flags = pkt[ihl + 13];
  size_t off = hl;
  for (int i = 0; i < n; i++) {
    size_t seg = len - off < h.gso_size ? len - off : h.gso_size;
    uint8_t* o = out + static_cast<size_t>(i) * stride;
    std::memcpy(o, pkt, hl);
    std::memcpy(o + hl, pkt + off, seg);
    size_t total = hl + seg;
    Put16(o + 2, static_cast<uint16_t>(total));
    Put16(o + 4, static_cast<uint16_t>(id + i));
    Put16(o + 10, 0);
    Put16(o + 10, IpHeaderCsum(o, ihl));
    uint8_t* tcp = o + ihl;
    Put32(tcp + 4, seq + static_cast<uint32_t>(off - hl));
    uint8_t f = flags;
    if (i != n - 1) f &= static_cast<uint8_t>(~0x09);  // FIN, PSH only on the last
    if (i != 0) f &= static_cast<uint8_t>(~0x80);      // CWR only on the first
    tcp[13] = f;
    Put16(tcp + 16, 0);
    uint64_t s = PseudoSum(o, 6, total - ihl);
    Put16(tcp + 16, static_cast<uint16_t>(~Fold(SumBytes(tcp, total - ihl, s))));
    lens[i] = total;
    off += seg;
  }
  return n;
}

// ── coalescing (rx) ──

// Why a packet was written alone (counted by the caller).
enum class Alone { kCoalesced = 0, kNotTcpv4, kIpOptions, kFragment, kFlags, kNoPayload, kBadCsum, kBadLength, kCount };

inline const char* AloneName(Alone a) {
  switch (a) {
    case Alone::kCoalesced: return "coalesced";
    case Alone::kNotTcpv4: return "not-tcpv4";
    case Alone::kIpOptions: return "ip-options";
    case Alone::kFragment: return "fragment";
    case Alone::kFlags: return "tcp-flags";
    case Alone::kNoPayload: return "no-payload";
    case Alone::kBadCsum: return "bad-checksum";
    case Alone::kBadLength: return "bad-length";
    default: return "?";
  }
}

// A packet that may take part in a run: plain IPv4/TCP, ACK (+PSH) only, payload,
// valid checksums. kCoalesced means "eligible".
inline Alone Eligible(const uint8_t* p, size_t len) {
  if (len < 40 || (p[0] >> 4) != 4 || p[9] != 6) return Alone::kNotTcpv4;
  if ((p[0] & 15) != 5) return Alone::kIpOptions;
  if (Get16(p + 2) != len) return Alone::kBadLength;
  if ((Get16(p + 6) & 0x3fff) != 0) return Alone::kFragment;
  size_t doff = static_cast<size_t>(p[32] >> 4) * 4;
  if (doff < 20 || 20 + doff > len) return Alone::kBadLength;
  uint8_t f = p[33];
  if ((f & 0x10) == 0 || (f & ~0x18) != 0) return Alone::kFlags;  // only ACK, PSH
  if (20 + doff == len) return Alone::kNoPayload;
  if (Fold(SumBytes(p, 20)) != 0xffff) return Alone::kBadCsum;
  if (Fold(SumBytes(p + 20, len - 20, PseudoSum(p, 6, len - 20))) != 0xffff) return Alone::kBadCsum;
  return Alone::kCoalesced;
}

// Whether eligible packet q continues the run that starts with eligible packet
// `first` and ends (so far) with `last`, the run having `count` packets and
// `bytes` of payload. gso = the first packet's payload length.
inline bool Continues(const uint8_t* first, size_t first_len, const uint8_t* last, size_t last_len, int count, size_t bytes,
                      const uint8_t* q, size_t q_len) {
  size_t doff = static_cast<size_t>(first[32] >> 4) * 4;
  size_t hl = 20 + doff;
  size_t gso = first_len - hl;
  if (static_cast<size_t>(q[32] >> 4) * 4 != doff) return false;
  if (last[33] & 0x08) return false;                          // a PSH ended the run
  if (last_len != first_len) return false;                    // a shorter one ended it
  if (q_len - hl > gso) return false;                         // every segment ≤ gso_size
  if (hl + bytes + (q_len - hl) > kMaxIp) return false;
  if (std::memcmp(first + 12, q + 12, 8) != 0) return false;  // addresses
  if (std::memcmp(first + 20, q + 20, 4) != 0) return false;  // ports
  if (first[1] != q[1] || first[8] != q[8]) return false;     // TOS, TTL
  if ((first[6] & 0x40) != (q[6] & 0x40)) return false;       // DF
  if (Get16(q + 4) != static_cast<uint16_t>(Get16(first + 4) + count)) return false;  // IP ID
  if (Get32(q + 24) != Get32(first + 24) + static_cast<uint32_t>(bytes)) return false;  // seq contiguous
  if (std::memcmp(first + 28, q + 28, 4) != 0) return false;  // ACK number
  if (std::memcmp(first + 34, q + 34, 2) != 0) return false;  // window
  if (doff > 20 && std::memcmp(first + 40, q + 40, doff - 20) != 0) return false;  // options
  return true;
}

// Turns the first packet of a run of `count` packets with `bytes` of payload in
// all into the head of a super-packet (written with `hdr` and then the other
// packets' payloads): IP total length and checksum, PSH if the last had it,
// the TCP checksum field the pseudo-header sum (NEEDS_CSUM) — or, for a run of
// one, nothing changes and hdr says "no offload".
inline void MakeHead(uint8_t* first, size_t first_len, int count, size_t bytes, bool psh, VnetHdr* hdr) {
  *hdr = VnetHdr{};
  if (count < 2) return;
  size_t hl = 20 + static_cast<size_t>(first[32] >> 4) * 4;
  size_t total = hl + bytes;
  Put16(first + 2, static_cast<uint16_t>(total));
  Put16(first + 10, 0);
  Put16(first + 10, IpHeaderCsum(first, 20));
  if (psh) first[33] |= 0x08;
  Put16(first + 36, Fold(PseudoSum(first, 6, total - 20)));
  hdr->flags = kNeedsCsum;
  hdr->gso_type = kGsoTcpv4;
  hdr->hdr_len = static_cast<uint16_t>(hl);
  hdr->gso_size = static_cast<uint16_t>(first_len - hl);
  hdr->csum_start = 20;
  hdr->csum_offset = 16;
}

struct Run {
  int start = 0;
  int count = 0;
  size_t bytes = 0;  // payload of the whole run
  bool psh = false;
};

// Splits packets [0, n) (in order) into runs of consecutive packets to write
// as one each; returns the number of runs. alone[Alone] counts the packets that
// could not join any run, by reason (a run of one eligible packet counts nothing).
// Each packet is in exactly one run, and the runs keep the packets' order.
inline int PlanRuns(uint8_t* const* pkts, const size_t* lens, int n, Run* runs, uint64_t* alone) {
  int nr = 0;
  int i = 0;
  while (i < n) {
    Run r;
    r.start = i;
    r.count = 1;
    Alone a = Eligible(pkts[i], lens[i]);
    if (a != Alone::kCoalesced) {
      alone[static_cast<int>(a)]++;
      runs[nr++] = r;
      i++;
      continue;
    }
    size_t hl = 20 + static_cast<size_t>(pkts[i][32] >> 4) * 4;
    r.bytes = lens[i] - hl;
    r.psh = (pkts[i][33] & 0x08) != 0;
    int j = i + 1;
    while (j < n) {
      const uint8_t* last = pkts[j - 1];
      if (Eligible(pkts[j], lens[j]) != Alone::kCoalesced) break;  // judged again as the start of the next run
      if (!Continues(pkts[i], lens[i], last, lens[j - 1], r.count, r.bytes, pkts[j], lens[j])) break;
      r.bytes += lens[j] - hl;
      r.psh = (pkts[j][33] & 0x08) != 0;
      r.count++;
      j++;
    }
    runs[nr++] = r;
    i = j;
  }
  return nr;
}

}  // namespace offload
}  // namespace homeward
