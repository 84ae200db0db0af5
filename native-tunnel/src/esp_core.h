// ESP (RFC 4303) with an AEAD (AES-GCM-16 per RFC 4106, ChaCha20-Poly1305
// per RFC 7634), tunnel mode over IPv4, for the native data plane. No Node
// API in here: dataplane.cc wraps it for JS and runs it on its threads.
//
//   SPI (4) ‖ Seq (4) ‖ IV (8) ‖ [inner ‖ pad 1,2,3… ‖ PadLen ‖ NextHeader]enc ‖ ICV (16)
//
// Per SA one OpenSSL EVP_CIPHER_CTX, keyed once; a packet only sets the
// nonce (salt ‖ IV) — no key schedule and no allocation per packet. The
// explicit IV is the 64-bit sequence number (unique per key, RFC 4106 §3),
// exactly what app/esp/esp-sa.ts does, so both produce the same bytes.
//
// Inbound order (RFC 4303 §3.4): length, SPI (the caller's lookup), replay
// check without state change, ICV, only then the window update, then the
// trailer. An SA is used by one thread at a time (the caller's contract).
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace homeward {

constexpr size_t kEspHeader = 8;
constexpr size_t kIv = 8;
constexpr size_t kIcv = 16;
constexpr size_t kSalt = 4;
constexpr size_t kTrailer = 2;
constexpr size_t kEspOverhead = kEspHeader + kIv + kTrailer + 3 + kIcv;  // + pad ≤ 3
constexpr uint8_t kNextIpv4 = 4;
constexpr uint8_t kNextNone = 59;
constexpr uint32_t kMaxSeq = 0xffffffffu;

enum class Alg { Aes128Gcm, Aes192Gcm, Aes256Gcm, Chacha20Poly1305 };

inline bool AlgFromName(const char* name, Alg* alg, size_t* key_len) {
  struct { const char* n; Alg a; size_t k; } table[] = {
      {"aes128gcm16", Alg::Aes128Gcm, 16},
      {"aes192gcm16", Alg::Aes192Gcm, 24},
      {"aes256gcm16", Alg::Aes256Gcm, 32},
      {"chacha20poly1305", Alg::Chacha20Poly1305, 32},
  };
  for (auto& t : table) {
    if (std::strcmp(t.n, name) == 0) {
      *alg = t.a;
      *key_len = t.k;
      return true;
    }
  }
  return false;
}

inline const EVP_CIPHER* CipherOf(Alg a) {
  switch (a) {
    case Alg::Aes128Gcm: return EVP_aes_128_gcm();
    case Alg::Aes192Gcm: return EVP_aes_192_gcm();
    case Alg::Aes256Gcm: return EVP_aes_256_gcm();
    case Alg::Chacha20Poly1305: return EVP_chacha20_poly1305();
  }
  return nullptr;
}

inline void PutU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

inline uint32_t GetU32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}

// One direction of an AEAD keyed with KEYMAT = key ‖ salt(4).
class AeadCtx {
 public:
  AeadCtx() = default;
  AeadCtx(const AeadCtx&) = delete;
  AeadCtx& operator=(const AeadCtx&) = delete;
  ~AeadCtx() {
    if (ctx_ != nullptr) EVP_CIPHER_CTX_free(ctx_);
  }

  // false when OpenSSL refused the cipher or key (the error names it).
  bool Init(Alg alg, const uint8_t* keymat, size_t key_len, bool encrypt, const char** error) {
    const EVP_CIPHER* c = CipherOf(alg);
    ctx_ = EVP_CIPHER_CTX_new();
    if (c == nullptr || ctx_ == nullptr) {
      *error = "OpenSSL has no such AEAD";
      return false;
    }
    encrypt_ = encrypt;
    std::memcpy(nonce_, keymat + key_len, kSalt);
    int ok = encrypt ? EVP_EncryptInit_ex(ctx_, c, nullptr, nullptr, nullptr)
                     : EVP_DecryptInit_ex(ctx_, c, nullptr, nullptr, nullptr);
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr);
    ok = ok && (encrypt ? EVP_EncryptInit_ex(ctx_, nullptr, nullptr, keymat, nullptr)
                        : EVP_DecryptInit_ex(ctx_, nullptr, nullptr, keymat, nullptr));
    if (!ok) *error = "OpenSSL refused the AEAD key";
    return ok;
  }

  // buf[0, len) encrypted in place, ICV to buf[len, len + 16).
  bool Seal(uint8_t* buf, size_t len, const uint8_t* iv, const uint8_t* aad, size_t aad_len) {
    std::memcpy(nonce_ + kSalt, iv, kIv);
    int n = 0, m = 0;
    if (!EVP_EncryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce_)) return false;
    if (!EVP_EncryptUpdate(ctx_, nullptr, &n, aad, static_cast<int>(aad_len))) return false;
    if (!EVP_EncryptUpdate(ctx_, buf, &n, buf, static_cast<int>(len))) return false;
    if (!EVP_EncryptFinal_ex(ctx_, buf + n, &m)) return false;
    return EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, kIcv, buf + len) == 1;
  }

  // Verifies the ICV at buf[len, len + 16) and decrypts buf[0, len) in place;
  // false (a forgery) leaves buf[0, len) undefined: the caller drops the packet.
  bool Open(uint8_t* buf, size_t len, const uint8_t* iv, const uint8_t* aad, size_t aad_len) {
    std::memcpy(nonce_ + kSalt, iv, kIv);
    int n = 0, m = 0;
    if (!EVP_DecryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce_)) return false;
    if (!EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, kIcv, buf + len)) return false;
    if (!EVP_DecryptUpdate(ctx_, nullptr, &n, aad, static_cast<int>(aad_len))) return false;
    if (!EVP_DecryptUpdate(ctx_, buf, &n, buf, static_cast<int>(len))) return false;
    return EVP_DecryptFinal_ex(ctx_, buf + n, &m) > 0;
  }

 private:
  EVP_CIPHER_CTX* ctx_ = nullptr;
  bool encrypt_ = true;
  uint8_t nonce_[12] = {0};
};

// An IPv4 address range [start, end] of a traffic selector (RFC 7296 §3.13.1).
struct Range {
  uint32_t start;
  uint32_t end;
};

inline bool InRanges(const std::vector<Range>& rs, uint32_t a) {
  for (const Range& r : rs)
    if (a >= r.start && a <= r.end) return true;
  return false;
}

// Outbound SA: sequence numbers and the seal.
class EspOut {
 public:
  uint32_t spi = 0;
  uint64_t next_seq = 1;
  uint64_t rekey_seq = 0xffffff00u;
  AeadCtx aead;
  std::vector<Range> local_ts, remote_ts;  // src must be in local, dst in remote

  // Bytes an ESP packet of an inner packet of `len` bytes takes.
  static size_t SealedSize(size_t len) {
    size_t pt = (len + kTrailer + 3) & ~static_cast<size_t>(3);
    return kEspHeader + kIv + pt + kIcv;
  }

  // Writes the ESP packet for inner[0, len) to out (room: SealedSize(len)).
  // Returns its length; 0 when the sequence numbers are exhausted (refuse to
  // wrap, RFC 4303 §3.3.3) or the AEAD failed. `inner` and `out` may not overlap
  // unless inner == out + 16 (the caller laid the packet out in place).
  size_t Seal(const uint8_t* inner, size_t len, uint8_t next_header, uint8_t* out, uint32_t* seq_out) {
    if (next_seq > kMaxSeq) return 0;
    uint32_t seq = static_cast<uint32_t>(next_seq);
    size_t pt = (len + kTrailer + 3) & ~static_cast<size_t>(3);
    uint8_t* p = out + kEspHeader + kIv;
    if (p != inner) std::memmove(p, inner, len);
    size_t pad = pt - len - kTrailer;
    for (size_t i = 1; i <= pad; i++) p[len + i - 1] = static_cast<uint8_t>(i);
    p[pt - 2] = static_cast<uint8_t>(pad);
    p[pt - 1] = next_header;
    PutU32(out, spi);
    PutU32(out + 4, seq);
    PutU32(out + 8, 0);  // IV = the 64-bit sequence number (no ESN: high half 0)
    PutU32(out + 12, seq);
    if (!aead.Seal(p, pt, out + 8, out, kEspHeader)) return 0;
    next_seq++;
    *seq_out = seq;
    return kEspHeader + kIv + pt + kIcv;
  }
};

// RFC 4303 §3.4.3 anti-replay window as a ring of 64-bit words (RFC 6479).
class ReplayWindow {
 public:
  explicit ReplayWindow(uint32_t size = 128) : size_(size) {
    size_t n = 1;
    while (n < (size + 63) / 64 + 1) n *= 2;
    words_.assign(n, 0);
    mask_ = n - 1;
  }
  uint32_t top() const { return top_; }
  bool Check(uint32_t seq) const {
    if (seq == 0) return false;
    if (seq > top_) return true;
    if (top_ - seq >= size_) return false;
    return (words_[(seq >> 6) & mask_] & (1ull << (seq & 63))) == 0;
  }
  void Update(uint32_t seq) {
    if (seq > top_) {
      uint64_t from = (top_ >> 6) + 1, to = seq >> 6;
      uint64_t clear = to >= from ? to - from + 1 : 0;
      if (clear > words_.size()) clear = words_.size();
      for (uint64_t i = 0; i < clear; i++) words_[(from + i) & mask_] = 0;
      top_ = seq;
    }
    words_[(seq >> 6) & mask_] |= 1ull << (seq & 63);
  }

 private:
  uint32_t size_;
  uint32_t top_ = 0;
  std::vector<uint64_t> words_;
  size_t mask_ = 0;
};

enum class Drop : int {
  kShort = 0, kSpi, kReplay, kIcv, kLength, kPadding, kNextHeader, kDummy, kSelector, kCount
};
inline const char* DropName(Drop d) {
  static const char* names[] = {"short", "spi", "replay", "icv", "length", "padding", "next-header", "dummy", "selector"};
  return names[static_cast<int>(d)];
}

// Inbound SA: replay window, open, trailer and selector checks.
class EspIn {
 public:
  uint32_t spi = 0;
  AeadCtx aead;
  ReplayWindow window;
  std::vector<Range> local_ts, remote_ts;  // inner src must be in remote, dst in local
  bool check_selectors = false;

  explicit EspIn(uint32_t replay = 128) : window(replay) {}

  // Opens pkt[0, len) (SPI onwards) in place. On success *inner/*inner_len
  // point into pkt and the result is -1; otherwise the Drop reason.
  int Open(uint8_t* pkt, size_t len, uint8_t** inner, size_t* inner_len, uint32_t* seq_out, uint8_t* nh_out) {
    if (len < kEspHeader + kIv + kTrailer + kIcv) return static_cast<int>(Drop::kShort);
    if (GetU32(pkt) != spi) return static_cast<int>(Drop::kSpi);
    uint32_t seq = GetU32(pkt + 4);
    if (!window.Check(seq)) return static_cast<int>(Drop::kReplay);
    size_t ct = len - kEspHeader - kIv - kIcv;
    uint8_t* p = pkt + kEspHeader + kIv;
    if (!aead.Open(p, ct, pkt + kEspHeader, pkt, kEspHeader)) return static_cast<int>(Drop::kIcv);
    window.Update(seq);  // only now: the packet is authentic
    uint8_t nh = p[ct - 1];
    uint8_t pad = p[ct - 2];
    if (static_cast<size_t>(pad) + kTrailer > ct) return static_cast<int>(Drop::kPadding);
    size_t n = ct - kTrailer - pad;
    for (size_t i = 1; i <= pad; i++)
      if (p[n + i - 1] != i) return static_cast<int>(Drop::kPadding);
    if (nh == kNextNone) return static_cast<int>(Drop::kDummy);
    if (nh != kNextIpv4) return static_cast<int>(Drop::kNextHeader);
    *seq_out = seq;
    *nh_out = nh;
    *inner = p;
    *inner_len = n;
    if (check_selectors) {
      // RFC 4301 §5.2: the decapsulated packet must match the SA's selectors
      if (n < 20 || (p[0] >> 4) != 4) return static_cast<int>(Drop::kSelector);
      if (!InRanges(remote_ts, GetU32(p + 12)) || !InRanges(local_ts, GetU32(p + 16)))
        return static_cast<int>(Drop::kSelector);
    }
    return -1;
  }
};

}  // namespace homeward
