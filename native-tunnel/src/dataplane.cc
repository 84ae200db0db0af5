// homeward_dataplane: the ESP data path of a VPN TUN in native code.
//
// Contract (JS side: app/io/native-dataplane.ts)
//   new EspSa({dir, spi, alg, keymat, firstSeq?, replayWindow?, localTs?, remoteTs?})
//       one ESP SA direction, for tests and the micro-benchmark:
//       sa.seal(inner, nextHeader?) -> Uint8Array | string (refusal reason)
//       sa.sealInto(inner, out) -> bytes written (0: refused)
//       sa.open(pkt) -> {offset, length, seq} | string (drop reason); opens pkt IN PLACE
//   new Dataplane({tunFd, udpFd, remoteAddr, remotePort, onDatagram, onEvent})
//       two worker threads:
//         tx: poll(TUN) → read up to 64 packets → ESP seal (outbound SA) →
//             sendmmsg to the gateway on the UDP socket (ESP in UDP, RFC 3948); runs
//             of equal-size packets as one UDP GSO message each (UDP_SEGMENT)
//         rx: poll(UDP) → recvmmsg up to 64 datagrams → classify (RFC 3948 §2.2):
//             keepalive 0xFF: counted; non-ESP marker (IKE): onDatagram(bytes,
//             addr, port) on the JS thread; ESP: SA by SPI → open (replay window,
//             ICV, trailer, selectors) → write(2) to the TUN. Drops are counted.
//       dp.setPath(udpFd, remoteAddr, remotePort)   (MOBIKE moved the SA)
//       dp.setOutbound(spi, alg, keymat, localTs, remoteTs, rekeySeq) / dp.clearOutbound()
//       dp.addInbound(spi, alg, keymat, localTs, remoteTs) / dp.removeInbound(spi)
//       dp.inject(bytes)  ESP that JS received on another socket: opened on the rx thread
//       dp.stats() -> counters;  dp.close() joins the threads (idempotent)
//       dp.setMip({tunFd, hoa, coa, ha, mtu?}) / dp.clearMip(): mode mc in the same
//         pass — the tx thread also reads the home-address TUN and IP-in-IP
//         encapsulates before the seal, the rx thread hands the HA's tunnel to
//         it after the open (mip_pass.h, mip_pipeline.h)
//     onEvent({type: 'inbound', spi}) at the first authentic packet of an SA and
//     then at most every 500 ms while traffic flows (DPD liveness, rekey switch);
//     onEvent({type: 'rekey', spi}) once when the outbound Seq reaches rekeySeq.
//   Selectors are IPv4 ranges [[start, end], …] as 32-bit numbers.
//
// Threads: the JS thread only swaps SAs and paths under a mutex; each SA
// direction is used by exactly one worker thread (outbound: tx, inbound: rx),
// so cipher contexts and replay windows need no lock. Neither thread touches
// V8: JS is reached through thread-safe functions.
//
// The descriptors stay owned by their JS objects (Tun, the dgram socket);
// close() must run before those are closed.

#include <napi.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <openssl/crypto.h>

#include "esp_core.h"
#include "mip_pipeline.h"
#include "sock_util.h"
#include "tun_offload.h"

namespace {

using homeward::Alg;
using homeward::Drop;
using homeward::EspIn;
using homeward::EspOut;
using homeward::Range;

constexpr int kBatch = 64;
constexpr size_t kSlot = 65536;
constexpr size_t kHeadroom = homeward::kEspHeader + homeward::kIv;
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
// UDP GSO (Linux ≥ 4.18): one sendmmsg entry carries up to this many equal-size
// ESP packets, which the kernel segments after one trip through the stack.
constexpr int kMaxSegments = 64;
constexpr size_t kMaxGsoBytes = 65000;
// TUN offloads (IFF_VNET_HDR, tun_offload.h): a read slot holds a whole 64 KB
// TSO super-packet; its segments go to the segment slots; a round stops reading
// while fewer than kSegReserve segment slots are free (64 KB / 536 B < 128).
constexpr size_t kTxSlot = 65536 + 512;
constexpr size_t kSegStride = 4096;
// SO_RCVBUF / SO_SNDBUF asked for the ESP socket (the kernel doubles it for its bookkeeping)
constexpr int kSocketBuffer = 7 << 20;
constexpr int kSegSlots = 256;
constexpr int kSegReserve = 128;
constexpr int kMaxOut = kBatch + kSegSlots;
namespace off = homeward::offload;

bool ReadRanges(Napi::Env env, Napi::Value v, std::vector<Range>* out, const char* what) {
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsArray()) {
    Napi::TypeError::New(env, std::string(what) + " must be an array of [start, end]").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsArray() || e.As<Napi::Array>().Length() != 2) {
      Napi::TypeError::New(env, std::string(what) + "[" + std::to_string(i) + "] must be [start, end]").ThrowAsJavaScriptException();
      return false;
    }
    Napi::Array p = e.As<Napi::Array>();
    out->push_back({p.Get(0u).As<Napi::Number>().Uint32Value(), p.Get(1u).As<Napi::Number>().Uint32Value()});
  }
  return true;
}

// The OpenSSL the process exports (Node's own; Electron's Node has BoringSSL,
// which lacks some of these): checked once at load, because a missing function
// would only fail — fatally — at its first call under lazy binding.
bool g_chacha = false;
const char* MissingEvpSymbol() {
  static const char* needed[] = {"EVP_CIPHER_CTX_new", "EVP_CIPHER_CTX_free", "EVP_CIPHER_CTX_ctrl", "EVP_EncryptInit_ex",
                                 "EVP_EncryptUpdate", "EVP_EncryptFinal_ex", "EVP_DecryptInit_ex", "EVP_DecryptUpdate",
                                 "EVP_DecryptFinal_ex", "EVP_aes_128_gcm", "EVP_aes_192_gcm", "EVP_aes_256_gcm", "OpenSSL_version"};
  for (const char* n : needed)
    if (dlsym(RTLD_DEFAULT, n) == nullptr) return n;
  g_chacha = dlsym(RTLD_DEFAULT, "EVP_chacha20_poly1305") != nullptr;
  return nullptr;
}

bool Bytes(Napi::Value v, uint8_t** data, size_t* len) {
  if (!v.IsTypedArray()) return false;
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_uint8_array) return false;
  *data = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  *len = ta.ByteLength();
  return true;
}

// Keys an AEAD from (alg name, keymat); throws and returns false on bad input.
bool KeyAead(Napi::Env env, Napi::Value alg_v, Napi::Value key_v, bool encrypt, homeward::AeadCtx* aead) {
  if (!alg_v.IsString()) {
    Napi::TypeError::New(env, "alg must be a string").ThrowAsJavaScriptException();
    return false;
  }
  std::string name = alg_v.As<Napi::String>().Utf8Value();
  Alg alg;
  size_t key_len = 0;
  if (!homeward::AlgFromName(name.c_str(), &alg, &key_len) || (alg == Alg::Chacha20Poly1305 && !g_chacha)) {
    Napi::RangeError::New(env, "alg: unsupported AEAD " + name).ThrowAsJavaScriptException();
    return false;
  }
  uint8_t* key = nullptr;
  size_t len = 0;
  if (!Bytes(key_v, &key, &len) || len != key_len + homeward::kSalt) {
    Napi::RangeError::New(env, "keymat: want " + std::to_string(key_len + homeward::kSalt) + " bytes for " + name)
        .ThrowAsJavaScriptException();
    return false;
  }
  const char* err = nullptr;
  if (!aead->Init(alg, key, key_len, encrypt, &err)) {
    Napi::Error::New(env, err).ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

uint32_t SpiOf(Napi::Env env, Napi::Value v) {
  if (!v.IsNumber()) {
    Napi::TypeError::New(env, "spi must be a number").ThrowAsJavaScriptException();
    return 0;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 1 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint32_t>(d))) {
    Napi::RangeError::New(env, "spi must be 1..2^32-1").ThrowAsJavaScriptException();
    return 0;
  }
  return static_cast<uint32_t>(d);
}

// ───────────────────────────── EspSa (one direction, JS thread) ─────────────────────────────

class EspSa : public Napi::ObjectWrap<EspSa> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "EspSa", {
        InstanceMethod("seal", &EspSa::Seal),
        InstanceMethod("sealInto", &EspSa::SealInto),
        InstanceMethod("open", &EspSa::Open),
        InstanceMethod("stats", &EspSa::Stats),
    });
  }

  explicit EspSa(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EspSa>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) {
      Napi::TypeError::New(env, "EspSa(options)").ThrowAsJavaScriptException();
      return;
    }
    Napi::Object o = info[0].As<Napi::Object>();
    std::string dir = o.Get("dir").IsString() ? o.Get("dir").As<Napi::String>().Utf8Value() : "";
    if (dir != "in" && dir != "out") {
      Napi::TypeError::New(env, "dir must be 'in' or 'out'").ThrowAsJavaScriptException();
      return;
    }
    uint32_t spi = SpiOf(env, o.Get("spi"));
    if (spi == 0) return;
    if (dir == "out") {
      auto sa = std::make_unique<EspOut>();
      sa->spi = spi;
      if (o.Get("firstSeq").IsNumber()) sa->next_seq = static_cast<uint64_t>(o.Get("firstSeq").As<Napi::Number>().DoubleValue());
      if (!KeyAead(env, o.Get("alg"), o.Get("keymat"), true, &sa->aead)) return;
      out_ = std::move(sa);
    } else {
      uint32_t replay = o.Get("replayWindow").IsNumber() ? o.Get("replayWindow").As<Napi::Number>().Uint32Value() : 128;
      if (replay < 64 || replay > 4096) {
        Napi::RangeError::New(env, "replayWindow must be 64..4096").ThrowAsJavaScriptException();
        return;
      }
      auto sa = std::make_unique<EspIn>(replay);
      sa->spi = spi;
      if (!KeyAead(env, o.Get("alg"), o.Get("keymat"), false, &sa->aead)) return;
      if (!ReadRanges(env, o.Get("localTs"), &sa->local_ts, "localTs")) return;
      if (!ReadRanges(env, o.Get("remoteTs"), &sa->remote_ts, "remoteTs")) return;
      sa->check_selectors = !sa->local_ts.empty() || !sa->remote_ts.empty();
      in_ = std::move(sa);
    }
  }

 private:
  Napi::Value Seal(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint8_t* inner = nullptr;
    size_t len = 0;
    if (!out_ || info.Length() < 1 || !Bytes(info[0], &inner, &len)) {
      Napi::TypeError::New(env, "seal(inner: Uint8Array) on an outbound SA").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint8_t nh = info.Length() > 1 && info[1].IsNumber() ? static_cast<uint8_t>(info[1].As<Napi::Number>().Uint32Value()) : 4;
    if (EspOut::SealedSize(len) > 0xffff - 28) return Napi::String::New(env, "too-long");
    Napi::Uint8Array out = Napi::Uint8Array::New(env, EspOut::SealedSize(len));
    uint32_t seq = 0;
    size_t n = out_->Seal(inner, len, nh, out.Data(), &seq);
    if (n == 0) {
      refused_++;
      return Napi::String::New(env, "seq-exhausted");
    }
    packets_++;
    return out;
  }

  Napi::Value SealInto(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint8_t *inner = nullptr, *out = nullptr;
    size_t len = 0, room = 0;
    if (!out_ || info.Length() < 2 || !Bytes(info[0], &inner, &len) || !Bytes(info[1], &out, &room)) {
      Napi::TypeError::New(env, "sealInto(inner: Uint8Array, out: Uint8Array) on an outbound SA").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (EspOut::SealedSize(len) > room) return Napi::Number::New(env, 0);
    uint32_t seq = 0;
    size_t n = out_->Seal(inner, len, 4, out, &seq);
    if (n == 0) refused_++;
    else packets_++;
    return Napi::Number::New(env, static_cast<double>(n));
  }

  Napi::Value Open(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint8_t* pkt = nullptr;
    size_t len = 0;
    if (!in_ || info.Length() < 1 || !Bytes(info[0], &pkt, &len)) {
      Napi::TypeError::New(env, "open(pkt: Uint8Array) on an inbound SA").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint8_t* inner = nullptr;
    size_t n = 0;
    uint32_t seq = 0;
    uint8_t nh = 0;
    int r = in_->Open(pkt, len, &inner, &n, &seq, &nh);
    if (r >= 0) {
      drops_[r]++;
      return Napi::String::New(env, homeward::DropName(static_cast<Drop>(r)));
    }
    packets_++;
    Napi::Object o = Napi::Object::New(env);
    o.Set("offset", Napi::Number::New(env, static_cast<double>(inner - pkt)));
    o.Set("length", Napi::Number::New(env, static_cast<double>(n)));
    o.Set("seq", Napi::Number::New(env, seq));
    return o;
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("packets", Napi::Number::New(env, packets_));
    o.Set("refused", Napi::Number::New(env, refused_));
    Napi::Object d = Napi::Object::New(env);
    for (int i = 0; i < static_cast<int>(Drop::kCount); i++) d.Set(homeward::DropName(static_cast<Drop>(i)), Napi::Number::New(env, drops_[i]));
    o.Set("drops", d);
    return o;
  }

  std::unique_ptr<EspOut> out_;
  std::unique_ptr<EspIn> in_;
  double packets_ = 0, refused_ = 0;
  double drops_[static_cast<int>(Drop::kCount)] = {0};
};

// ───────────────────────────── Dataplane (two worker threads) ─────────────────────────────

struct Message {
  enum Kind { kDatagram, kInbound, kRekey } kind;
  std::vector<uint8_t> bytes;
  std::string addr;
  uint32_t port = 0;
  uint32_t spi = 0;
};

struct Counters {
  std::atomic<uint64_t> tun_in{0}, esp_out{0}, esp_out_bytes{0}, tx_no_sa{0}, tx_selector{0}, tx_refused{0},
      tx_send_errors{0}, udp_in{0}, esp_in{0}, esp_in_bytes{0}, tun_out{0}, tun_write_errors{0},
      keepalives{0}, ike_in{0}, gso_sends{0}, unknown_spi{0}, esp_short{0}, batches_rx{0}, batches_tx{0},
      tun_gso_in{0}, tun_segments{0}, tun_csum{0}, tun_gso_errors{0}, tun_super_out{0}, tun_super_pkts{0};
  std::atomic<uint64_t> alone[static_cast<int>(homeward::offload::Alone::kCount)] = {};
  std::atomic<uint64_t> drops[static_cast<int>(Drop::kCount)] = {};
};

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now().time_since_epoch()).count());
}

struct InboundEntry {
  std::shared_ptr<EspIn> sa;
  uint64_t last_event_ms = 0;
  bool announced = false;
};

class Dataplane : public Napi::ObjectWrap<Dataplane> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Dataplane", {
        InstanceMethod("setPath", &Dataplane::SetPath),
        InstanceMethod("setOutbound", &Dataplane::SetOutbound),
        InstanceMethod("clearOutbound", &Dataplane::ClearOutbound),
        InstanceMethod("addInbound", &Dataplane::AddInbound),
        InstanceMethod("removeInbound", &Dataplane::RemoveInbound),
        InstanceMethod("inject", &Dataplane::Inject),
        InstanceMethod("setMip", &Dataplane::SetMip),
        InstanceMethod("clearMip", &Dataplane::ClearMip),
        InstanceMethod("stats", &Dataplane::Stats),
        InstanceMethod("close", &Dataplane::Close),
    });
  }

  explicit Dataplane(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Dataplane>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) {
      Napi::TypeError::New(env, "Dataplane(options)").ThrowAsJavaScriptException();
      return;
    }
    Napi::Object o = info[0].As<Napi::Object>();
    if (!o.Get("tunFd").IsNumber() || !o.Get("udpFd").IsNumber() || !o.Get("onDatagram").IsFunction() || !o.Get("onEvent").IsFunction()) {
      Napi::TypeError::New(env, "Dataplane({tunFd, udpFd, remoteAddr, remotePort, onDatagram, onEvent})").ThrowAsJavaScriptException();
      return;
    }
    tun_fd_ = o.Get("tunFd").As<Napi::Number>().Int32Value();
    udp_fd_ = o.Get("udpFd").As<Napi::Number>().Int32Value();
    GrowSocketBuffers(udp_fd_);
    if (!ParsePeer(env, o.Get("remoteAddr"), o.Get("remotePort"), &peer_)) return;
    on_datagram_ = Napi::Persistent(o.Get("onDatagram").As<Napi::Function>());
    on_event_ = Napi::Persistent(o.Get("onEvent").As<Napi::Function>());
    // A TUN opened with IFF_VNET_HDR (tun.cc {offloads: true}): every packet has a
    // virtio_net_hdr; offer the kernel checksum and TSO offloads while we own it.
    ifreq ifr{};
    if (ioctl(tun_fd_, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_VNET_HDR)) {
      vnet_ = true;
      offloads_ = ioctl(tun_fd_, TUNSETOFFLOAD, static_cast<unsigned long>(TUN_F_CSUM | TUN_F_TSO4)) == 0;
    }
    wake_rx_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    wake_tx_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_rx_ < 0 || wake_tx_ < 0) {
      Napi::Error::New(env, "Dataplane: eventfd failed").ThrowAsJavaScriptException();
      return;
    }
    tsfn_ = Napi::ThreadSafeFunction::New(env, on_event_.Value(), "homeward_dataplane", 0, 1, this);
    running_ = true;
    rx_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "hw-esp-rx");  // named for perf and top
      RxLoop();
    });
    tx_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "hw-esp-tx");
      TxLoop();
    });
  }

  ~Dataplane() override { Shutdown(); }

 private:
  static bool ParsePeer(Napi::Env env, Napi::Value addr, Napi::Value port, sockaddr_in* out) {
    if (addr.IsUndefined() || addr.IsNull()) {
      *out = sockaddr_in{};
      return true;
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    if (!addr.IsString() || !port.IsNumber() || inet_pton(AF_INET, addr.As<Napi::String>().Utf8Value().c_str(), &sa.sin_addr) != 1) {
      Napi::TypeError::New(env, "remoteAddr must be an IPv4 address and remotePort a number").ThrowAsJavaScriptException();
      return false;
    }
    sa.sin_port = htons(static_cast<uint16_t>(port.As<Napi::Number>().Uint32Value()));
    *out = sa;
    return true;
  }

  // The UDP socket's buffers (sock_util.h says why); the sizes granted are in stats().
  void GrowSocketBuffers(int fd) {
    if (fd < 0) return;
    sockutil::Granted g = sockutil::GrowBuffers(fd, kSocketBuffer);
    rcvbuf_.store(g.rcvbuf, std::memory_order_relaxed);
    sndbuf_.store(g.sndbuf, std::memory_order_relaxed);
  }

  static void Wake(int fd) {
    uint64_t one = 1;
    ssize_t r = ::write(fd, &one, sizeof one);
    (void)r;
  }

  // ── JS thread ──
  Napi::Value SetPath(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsNumber()) {
      Napi::TypeError::New(env, "setPath(udpFd, remoteAddr, remotePort)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    sockaddr_in peer{};
    if (!ParsePeer(env, info[1], info[2], &peer)) return env.Undefined();
    const int fd = info[0].As<Napi::Number>().Int32Value();
    GrowSocketBuffers(fd);
    {
      std::lock_guard<std::mutex> g(mu_);
      udp_fd_ = fd;
      peer_ = peer;
    }
    Wake(wake_rx_);
    Wake(wake_tx_);
    return env.Undefined();
  }

  Napi::Value SetOutbound(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t spi = SpiOf(env, info[0]);
    if (spi == 0) return env.Undefined();
    auto sa = std::make_shared<EspOut>();
    sa->spi = spi;
    if (!KeyAead(env, info[1], info[2], true, &sa->aead)) return env.Undefined();
    if (!ReadRanges(env, info[3], &sa->local_ts, "localTs") || !ReadRanges(env, info[4], &sa->remote_ts, "remoteTs")) return env.Undefined();
    if (info.Length() > 5 && info[5].IsNumber()) sa->rekey_seq = static_cast<uint64_t>(info[5].As<Napi::Number>().DoubleValue());
    std::lock_guard<std::mutex> g(mu_);
    out_ = std::move(sa);
    rekey_asked_ = false;
    return env.Undefined();
  }

  Napi::Value ClearOutbound(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> g(mu_);
    out_.reset();
    return info.Env().Undefined();
  }

  Napi::Value AddInbound(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t spi = SpiOf(env, info[0]);
    if (spi == 0) return env.Undefined();
    auto sa = std::make_shared<EspIn>(128);
    sa->spi = spi;
    if (!KeyAead(env, info[1], info[2], false, &sa->aead)) return env.Undefined();
    if (!ReadRanges(env, info[3], &sa->local_ts, "localTs") || !ReadRanges(env, info[4], &sa->remote_ts, "remoteTs")) return env.Undefined();
    sa->check_selectors = !sa->local_ts.empty() || !sa->remote_ts.empty();
    std::lock_guard<std::mutex> g(mu_);
    in_[spi] = InboundEntry{std::move(sa), 0, false};
    return env.Undefined();
  }

  Napi::Value RemoveInbound(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) return env.Undefined();
    std::lock_guard<std::mutex> g(mu_);
    in_.erase(info[0].As<Napi::Number>().Uint32Value());
    return env.Undefined();
  }

  Napi::Value Inject(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint8_t* data = nullptr;
    size_t len = 0;
    if (info.Length() < 1 || !Bytes(info[0], &data, &len)) {
      Napi::TypeError::New(env, "inject(esp: Uint8Array)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    {
      std::lock_guard<std::mutex> g(mu_);
      if (injected_.size() >= 256) {
        counters_.drops[static_cast<int>(Drop::kShort)]++;  // never expected: JS injects only late old-path packets
        return env.Undefined();
      }
      injected_.emplace_back(data, data + len);
    }
    Wake(wake_rx_);
    return env.Undefined();
  }

  Napi::Value SetMip(const Napi::CallbackInfo& info) {
    auto m = homeward::MipInstallFromJs(info.Env(), info.Length() > 0 ? info[0] : info.Env().Undefined());
    if (!m) return info.Env().Undefined();
    {
      std::lock_guard<std::mutex> g(mu_);
      mip_ = std::move(m);
    }
    Wake(wake_tx_);
    return info.Env().Undefined();
  }

  // The threads let go of the old tunnel (and its descriptor) at their next
  // batch; the tx thread is woken for it now.
  Napi::Value ClearMip(const Napi::CallbackInfo& info) {
    {
      std::lock_guard<std::mutex> g(mu_);
      mip_.reset();
    }
    Wake(wake_tx_);
    return info.Env().Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    auto n = [&](const char* k, const std::atomic<uint64_t>& v) { o.Set(k, Napi::Number::New(env, static_cast<double>(v.load(std::memory_order_relaxed)))); };
    n("tunIn", counters_.tun_in);
    n("espOut", counters_.esp_out);
    n("espOutBytes", counters_.esp_out_bytes);
    n("txNoSa", counters_.tx_no_sa);
    n("txSelector", counters_.tx_selector);
    n("txRefused", counters_.tx_refused);
    n("txSendErrors", counters_.tx_send_errors);
    n("udpIn", counters_.udp_in);
    n("espIn", counters_.esp_in);
    n("espInBytes", counters_.esp_in_bytes);
    n("tunOut", counters_.tun_out);
    n("tunWriteErrors", counters_.tun_write_errors);
    n("keepalives", counters_.keepalives);
    n("ikeIn", counters_.ike_in);
    n("unknownSpi", counters_.unknown_spi);
    n("espShort", counters_.esp_short);
    n("rxBatches", counters_.batches_rx);
    n("txBatches", counters_.batches_tx);
    n("gsoSends", counters_.gso_sends);
    n("tunGsoIn", counters_.tun_gso_in);
    n("tunSegments", counters_.tun_segments);
    n("tunCsum", counters_.tun_csum);
    n("tunGsoErrors", counters_.tun_gso_errors);
    n("tunSuperOut", counters_.tun_super_out);
    n("tunSuperPackets", counters_.tun_super_pkts);
    n("udpRcvbuf", rcvbuf_);
    n("udpSndbuf", sndbuf_);
    o.Set("offloads", Napi::Boolean::New(env, offloads_));
    o.Set("vnetHdr", Napi::Boolean::New(env, vnet_));
    {
      Napi::Object a = Napi::Object::New(env);
      for (int i = 1; i < static_cast<int>(off::Alone::kCount); i++)
        a.Set(off::AloneName(static_cast<off::Alone>(i)), Napi::Number::New(env, static_cast<double>(counters_.alone[i].load())));
      o.Set("notCoalesced", a);
    }
    o.Set("gso", Napi::Boolean::New(env, gso_ok_.load()));
    Napi::Object d = Napi::Object::New(env);
    for (int i = 0; i < static_cast<int>(Drop::kCount); i++)
      d.Set(homeward::DropName(static_cast<Drop>(i)), Napi::Number::New(env, static_cast<double>(counters_.drops[i].load())));
    o.Set("drops", d);
    uint64_t seq = 0;
    {
      std::lock_guard<std::mutex> g(mu_);
      if (out_) seq = out_->next_seq;
    }
    o.Set("nextSeq", Napi::Number::New(env, static_cast<double>(seq)));
    bool mip_on;
    {
      std::lock_guard<std::mutex> g(mu_);
      mip_on = mip_ != nullptr;
    }
    o.Set("mip", homeward::MipStatsToJs(env, mip_counters_, mip_on));
    return o;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  void Shutdown() {
    if (!running_.exchange(false)) return;
    Wake(wake_rx_);
    Wake(wake_tx_);
    if (rx_.joinable()) rx_.join();
    if (tx_.joinable()) tx_.join();
    // the JS reader of the TUN (tun.cc) gets plain packets again
    if (offloads_) ioctl(tun_fd_, TUNSETOFFLOAD, 0UL);
    offloads_ = false;
    ::close(wake_rx_);
    ::close(wake_tx_);
    tsfn_.Release();
    {
      std::lock_guard<std::mutex> g(mu_);
      out_.reset();
      in_.clear();
      injected_.clear();
      mip_.reset();
    }
    on_datagram_.Reset();
    on_event_.Reset();
  }

  // Runs on the JS thread for every Message a worker posted.
  static void CallJs(Napi::Env env, Napi::Function on_event, Dataplane* self, Message* m) {
    std::unique_ptr<Message> msg(m);
    if (env == nullptr || !self->running_) return;
    if (msg->kind == Message::kDatagram) {
      if (self->on_datagram_.IsEmpty()) return;
      Napi::Uint8Array b = Napi::Uint8Array::New(env, msg->bytes.size());
      std::memcpy(b.Data(), msg->bytes.data(), msg->bytes.size());
      self->on_datagram_.Call({b, Napi::String::New(env, msg->addr), Napi::Number::New(env, msg->port)});
    } else {
      Napi::Object ev = Napi::Object::New(env);
      ev.Set("type", Napi::String::New(env, msg->kind == Message::kInbound ? "inbound" : "rekey"));
      ev.Set("spi", Napi::Number::New(env, msg->spi));
      on_event.Call({ev});
    }
  }

  void PostMessage(Message* m) {
    auto cb = [this](Napi::Env env, Napi::Function fn, Message* msg) { CallJs(env, fn, this, msg); };
    if (tsfn_.NonBlockingCall(m, cb) != napi_ok) delete m;
  }

  // kBatch slots of kSlot bytes per thread, left uninitialised on purpose: a
  // zero-filled std::vector touched all 4 MiB at once (8 MiB of RSS for the two
  // threads of an idle engine); fresh pages become resident only as packets
  // land in them (one or two pages per slot at a 1500-byte MTU). Nothing reads
  // a slot beyond what read()/recvmmsg() or the seal wrote into it.
  static std::unique_ptr<uint8_t[]> NewSlab() {
    return std::unique_ptr<uint8_t[]>(new uint8_t[static_cast<size_t>(kBatch) * kSlot]);
  }

  // The packets one tx pass has read: items[0..n) with their lengths; TSO
  // segments are cut into segs (kSegStride slots, seg_used of them taken).
  struct TxBatch {
    uint8_t** items;
    size_t* lens;
    uint8_t* segs;
    int n;
    int seg_used;
  };

  // Reads one packet from a TUN (fd) into pkt (room bytes) and appends it to b
  // — or, with the virtio_net_hdr (vnet), its checksum completed, or its TSO
  // segments cut into b's segment slots. `outer` bytes are kept free before
  // each item (mode mc's IP-in-IP header) and the item points at them. false:
  // nothing more to read. A super-packet that cannot be cut is counted and
  // dropped (true: the read happened).
  bool ReadTun(int fd, bool vnet, uint8_t* pkt, size_t room, size_t outer, TxBatch& b) {
    if (!vnet) {
      ssize_t got = ::read(fd, pkt, room);
      if (got <= 0) return false;
      b.items[b.n] = pkt - outer;
      b.lens[b.n++] = static_cast<size_t>(got);
      return true;
    }
    uint8_t vh[off::kVnetHdr];
    iovec rv[2] = {{vh, sizeof vh}, {pkt, room}};
    ssize_t got = ::readv(fd, rv, 2);
    if (got < static_cast<ssize_t>(off::kVnetHdr)) return false;
    size_t len = static_cast<size_t>(got) - off::kVnetHdr;
    off::VnetHdr h = off::ReadVnetHdr(vh);
    if (h.gso_type == off::kGsoNone) {
      if ((h.flags & off::kNeedsCsum) && off::CompleteCsum(pkt, len, h.csum_start, h.csum_offset)) counters_.tun_csum++;
      b.items[b.n] = pkt - outer;
      b.lens[b.n++] = len;
      return true;
    }
    counters_.tun_gso_in++;
    off::SegError err = off::SegError::kGsoSize;
    size_t seg_lens[kSegReserve];
    uint8_t* first = b.segs + static_cast<size_t>(b.seg_used) * kSegStride + kHeadroom + outer;
    // a segment (≤ 120 B of headers + gso_size) must leave the seal its headroom and trailer room
    int k = static_cast<size_t>(h.gso_size) + 120 + kHeadroom + outer + 64 > kSegStride
                ? 0
                : off::Segment(h, pkt, len, first, kSegStride, seg_lens, kSegReserve, &err);
    if (k == 0) {
      counters_.tun_gso_errors++;
      return true;
    }
    counters_.tun_segments += static_cast<uint64_t>(k);
    for (int i = 0; i < k && b.n < kMaxOut; i++) {
      b.items[b.n] = first + static_cast<size_t>(i) * kSegStride - outer;
      b.lens[b.n++] = seg_lens[i];
    }
    b.seg_used += k;
    return true;
  }

  // ── tx thread: TUN → [segment] → seal → sendmmsg ──
  // Items (packets to seal, in read order) point into read slots (kTxSlot bytes,
  // the packet at kHeadroom) or, for the segments of a TSO super-packet, into
  // segment slots (kSegStride); both keep kHeadroom before and room for the ESP
  // trailer after the packet.
  void TxLoop() {
    std::unique_ptr<uint8_t[]> slab(new uint8_t[static_cast<size_t>(kBatch) * kTxSlot]);  // untouched until used (see NewSlab)
    std::unique_ptr<uint8_t[]> segs(new uint8_t[static_cast<size_t>(kSegSlots) * kSegStride]);
    std::unique_ptr<mmsghdr[]> msgv(new mmsghdr[kMaxOut]);
    std::unique_ptr<iovec[]> iovs(new iovec[kMaxOut]);
    uint8_t* items[kMaxOut];
    size_t lens[kMaxOut];
    uint16_t mip_id = 0;
    while (running_) {
      std::shared_ptr<homeward::MipInstalled> mip;  // mode mc: the home-address TUN too
      {
        std::lock_guard<std::mutex> g(mu_);
        mip = mip_;
      }
      pollfd fds[3] = {{tun_fd_, POLLIN, 0}, {wake_tx_, POLLIN, 0}, {mip ? mip->fd : -1, POLLIN, 0}};
      int r = poll(fds, 3, -1);
      if (r < 0 && errno != EINTR) break;
      if (!running_) break;
      if (fds[1].revents & POLLIN) {
        uint64_t v;
        ssize_t rr = ::read(wake_tx_, &v, sizeof v);
        (void)rr;
      }
      if (fds[0].revents & (POLLERR | POLLNVAL)) break;
      if (mip && (fds[2].revents & (POLLERR | POLLHUP | POLLNVAL))) {
        // the home-address TUN went away under us: stop reading it (counted), JS is told by its own TUN
        mip_counters_.drops[static_cast<int>(homeward::MipDrop::kTunWrite)]++;
        std::lock_guard<std::mutex> g(mu_);
        if (mip_ == mip) mip_.reset();
        continue;
      }
      TxBatch b{items, lens, segs.get(), 0, 0};
      int reads = 0;
      while (reads < kBatch && b.n < kMaxOut && (fds[0].revents & POLLIN) && (!vnet_ || kSegSlots - b.seg_used >= kSegReserve)) {
        uint8_t* pkt = slab.get() + static_cast<size_t>(reads) * kTxSlot + kHeadroom;
        if (!ReadTun(tun_fd_, vnet_, pkt, kTxSlot - kHeadroom - 64, 0, b)) break;
        reads++;
      }
      counters_.tun_in += static_cast<uint64_t>(reads);
      const int first_mip = b.n;  // items [first_mip, n): home-address packets, room for the outer header kept
      int mip_reads = 0;
      while (mip && reads + mip_reads < kBatch && b.n < kMaxOut && (fds[2].revents & POLLIN) &&
             (!mip->vnet || kSegSlots - b.seg_used >= kSegReserve)) {
        // a TSO super-packet from the home address is cut first: each segment then
        // gets its own outer header (room kept before it) and seal
        uint8_t* pkt = slab.get() + static_cast<size_t>(reads + mip_reads) * kTxSlot + kHeadroom + homeward::kMipOuter;
        if (!ReadTun(mip->fd, mip->vnet, pkt, kTxSlot - kHeadroom - homeward::kMipOuter - 64, homeward::kMipOuter, b)) break;
        mip_reads++;
      }
      const int n = b.n;
      mip_counters_.tun_in += static_cast<uint64_t>(mip_reads);
      if (n == 0) continue;
      std::shared_ptr<EspOut> sa;
      sockaddr_in peer;
      int fd;
      {
        std::lock_guard<std::mutex> g(mu_);
        sa = out_;
        peer = peer_;
        fd = udp_fd_;
      }
      if (!sa || peer.sin_family != AF_INET) {
        counters_.tx_no_sa += static_cast<uint64_t>(n);
        continue;
      }
      int m = 0;
      bool rekey = false;
      for (int i = 0; i < n; i++) {
        uint8_t* inner = items[i];
        uint8_t* slot = inner - kHeadroom;
        size_t len = lens[i];
        if (i >= first_mip && (len = homeward::MipOutbound(*mip, mip_counters_, inner, len, &mip_id)) == 0) continue;
        if (len < 20 || (inner[0] >> 4) != 4) {
          counters_.tx_no_sa++;
          continue;
        }
        if (!sa->remote_ts.empty() &&
            (!homeward::InRanges(sa->remote_ts, homeward::GetU32(inner + 16)) ||
             (!sa->local_ts.empty() && !homeward::InRanges(sa->local_ts, homeward::GetU32(inner + 12))))) {
          counters_.tx_selector++;
          continue;
        }
        uint32_t seq = 0;
        size_t out_len = sa->Seal(inner, len, homeward::kNextIpv4, slot, &seq);
        if (out_len == 0) {
          counters_.tx_refused++;
          continue;
        }
        if (seq >= sa->rekey_seq) rekey = true;
        counters_.esp_out_bytes += len;
        iovs[m] = {slot, out_len};
        msgv[m].msg_hdr = msghdr{};
        msgv[m].msg_hdr.msg_name = &peer;
        msgv[m].msg_hdr.msg_namelen = sizeof peer;
        msgv[m].msg_hdr.msg_iov = &iovs[m];
        msgv[m].msg_hdr.msg_iovlen = 1;
        m++;
      }
      if (rekey && !rekey_asked_.exchange(true)) {
        auto* msg = new Message{Message::kRekey, {}, {}, 0, sa->spi};
        PostMessage(msg);
      }
      SendGso(fd, msgv.get(), iovs.get(), m);
      counters_.batches_tx++;
    }
  }

  // Runs of equal-size ESP packets (the last of a run may be shorter) go out as
  // one UDP GSO message each; the kernel cuts them into the same datagrams a
  // send per packet would give. A kernel or device without UDP GSO: per packet
  // from then on.
  void SendGso(int fd, mmsghdr* msgs, iovec* iovs, int m) {
    if (!gso_ok_ || m < 2) return SendAll(fd, msgs, m);
    mmsghdr g[kMaxOut];
    int first[kMaxOut + 1];
    alignas(cmsghdr) char ctrl[kMaxOut][CMSG_SPACE(sizeof(uint16_t))];
    int gn = 0;
    for (int i = 0; i < m;) {
      size_t seg = iovs[i].iov_len;
      size_t total = seg;
      int j = i + 1;
      while (j < m && j - i < kMaxSegments && iovs[j - 1].iov_len == seg && iovs[j].iov_len <= seg && total + iovs[j].iov_len <= kMaxGsoBytes) {
        total += iovs[j].iov_len;
        j++;
      }
      g[gn].msg_hdr = msgs[i].msg_hdr;
      g[gn].msg_hdr.msg_iovlen = static_cast<size_t>(j - i);
      if (j - i > 1) {
        g[gn].msg_hdr.msg_control = ctrl[gn];
        g[gn].msg_hdr.msg_controllen = sizeof ctrl[gn];
        cmsghdr* c = CMSG_FIRSTHDR(&g[gn].msg_hdr);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t v = static_cast<uint16_t>(seg);
        std::memcpy(CMSG_DATA(c), &v, sizeof v);
      }
      first[gn++] = i;
      i = j;
    }
    first[gn] = m;
    int done = 0, waits = 0;
    while (done < gn && running_) {
      int r = sendmmsg(fd, g + done, static_cast<unsigned>(gn - done), 0);
      if (r > 0) {
        counters_.esp_out += static_cast<uint64_t>(first[done + r] - first[done]);
        counters_.gso_sends += static_cast<uint64_t>(r);
        done += r;
        continue;
      }
      int err = errno;
      if (err == EINTR) continue;
      if ((err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) && waits < 50) {
        pollfd p{fd, POLLOUT, 0};
        poll(&p, 1, 20);
        waits++;
        continue;
      }
      if (err == EIO || err == EINVAL || err == EOPNOTSUPP || err == ENOPROTOOPT) gso_ok_ = false;  // no UDP GSO here
      return SendAll(fd, msgs + first[done], m - first[done]);
    }
  }

  void SendAll(int fd, mmsghdr* msgs, int m) {
    int done = 0;
    int waits = 0;
    while (done < m && running_) {
      int r = sendmmsg(fd, msgs + done, static_cast<unsigned>(m - done), 0);
      if (r > 0) {
        counters_.esp_out += static_cast<uint64_t>(r);
        done += r;
        continue;
      }
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) && waits < 50) {
        pollfd p{fd, POLLOUT, 0};
        poll(&p, 1, 20);
        waits++;
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      counters_.tx_send_errors++;  // this datagram is lost (e.g. no route while roaming); go on with the rest
      done++;
    }
    if (done < m) counters_.tx_send_errors += static_cast<uint64_t>(m - done);
  }

  // ── rx thread: recvmmsg → classify → open → TUN ──
  void RxLoop() {
    std::unique_ptr<uint8_t[]> slab = NewSlab();
    mmsghdr msgs[kBatch];
    iovec iovs[kBatch];
    sockaddr_in from[kBatch];
    uint8_t* out_pkts[kBatch];
    size_t out_lens[kBatch];
    uint8_t* mip_pkts[kBatch];
    size_t mip_lens[kBatch];
    int fd;
    {
      std::lock_guard<std::mutex> g(mu_);
      fd = udp_fd_;
    }
    while (running_) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {wake_rx_, POLLIN, 0}};
      int r = poll(fds, 2, -1);
      if (r < 0 && errno != EINTR) break;
      if (!running_) break;
      if (fds[1].revents & POLLIN) {
        uint64_t v;
        ssize_t rr = ::read(wake_rx_, &v, sizeof v);
        (void)rr;
        std::deque<std::vector<uint8_t>> injected;
        {
          std::lock_guard<std::mutex> g(mu_);
          fd = udp_fd_;
          injected.swap(injected_);
        }
        std::shared_ptr<homeward::MipInstalled> mip = CurrentMip();
        for (auto& pkt : injected) {
          uint8_t* inner = nullptr;
          size_t len = 0;
          Dest d = OnEsp(pkt.data(), pkt.size(), mip.get(), &inner, &len);
          if (d == kVpnTun) WriteRuns(tun_fd_, vnet_, &inner, &len, 1, nullptr);
          else if (d == kMipTun) WriteRuns(mip->fd, mip->vnet, &inner, &len, 1, mip.get());
        }
        continue;  // re-poll: the descriptor may have changed
      }
      if (fds[0].revents & POLLNVAL) {
        // the socket was closed under us (JS moved on): wait for setPath
        pollfd w{wake_rx_, POLLIN, 0};
        poll(&w, 1, 100);
        continue;
      }
      if (!(fds[0].revents & (POLLIN | POLLERR))) continue;
      for (int i = 0; i < kBatch; i++) {
        iovs[i] = {slab.get() + static_cast<size_t>(i) * kSlot, kSlot};
        msgs[i].msg_hdr = msghdr{};
        msgs[i].msg_hdr.msg_name = &from[i];
        msgs[i].msg_hdr.msg_namelen = sizeof from[i];
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      int n = recvmmsg(fd, msgs, kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) continue;  // EAGAIN, or an ICMP error reported on the socket
      counters_.batches_rx++;
      counters_.udp_in += static_cast<uint64_t>(n);
      int w = 0, wm = 0;  // opened inner packets to write to the VPN TUN and to the home-address TUN, in order
      std::shared_ptr<homeward::MipInstalled> mip = CurrentMip();
      for (int i = 0; i < n; i++) {
        uint8_t* b = static_cast<uint8_t*>(iovs[i].iov_base);
        size_t len = msgs[i].msg_len;
        if (len == 1 && b[0] == 0xff) {
          counters_.keepalives++;  // NAT-keepalive (RFC 3948 §2.3)
        } else if (len >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0) {
          counters_.ike_in++;  // non-ESP marker: IKE, for the JS control plane
          char addr[INET_ADDRSTRLEN] = {0};
          inet_ntop(AF_INET, &from[i].sin_addr, addr, sizeof addr);
          PostMessage(new Message{Message::kDatagram, std::vector<uint8_t>(b, b + len), addr, ntohs(from[i].sin_port), 0});
        } else {
          uint8_t* inner = nullptr;
          size_t ilen = 0;
          Dest d = OnEsp(b, len, mip.get(), &inner, &ilen);
          if (d == kVpnTun) {
            out_pkts[w] = inner;
            out_lens[w++] = ilen;
          } else if (d == kMipTun) {
            mip_pkts[wm] = inner;
            mip_lens[wm++] = ilen;
          }
        }
      }
      WriteRuns(tun_fd_, vnet_, out_pkts, out_lens, w, nullptr);
      if (wm > 0) WriteRuns(mip->fd, mip->vnet, mip_pkts, mip_lens, wm, mip.get());
    }
  }

  std::shared_ptr<homeward::MipInstalled> CurrentMip() {
    std::lock_guard<std::mutex> g(mu_);
    return mip_;
  }

  // Writes opened packets to a TUN (the VPN's, or mode mc's home-address TUN:
  // mip set) in order: plain, or (IFF_VNET_HDR) each with a virtio_net_hdr,
  // consecutive segments of one TCP flow as one GSO super-packet
  // (tun_offload.h) written with one writev.
  void WriteRuns(int fd, bool vnet, uint8_t** pkts, size_t* lens, int n, const homeward::MipInstalled* mip) {
    if (n == 0) return;
    off::Run runs[kBatch];
    int nr = n;
    if (vnet) {
      uint64_t alone[static_cast<int>(off::Alone::kCount)] = {0};
      nr = off::PlanRuns(pkts, lens, n, runs, alone);
      for (int i = 1; i < static_cast<int>(off::Alone::kCount); i++)
        if (alone[i]) counters_.alone[i] += alone[i];
    } else {
      for (int i = 0; i < n; i++) runs[i] = off::Run{i, 1, 0, false};
    }
    for (int r = 0; r < nr; r++) {
      const off::Run& run = runs[r];
      uint8_t* first = pkts[run.start];
      off::VnetHdr h;
      off::MakeHead(first, lens[run.start], run.count, run.bytes, run.psh, &h);
      uint8_t vh[off::kVnetHdr];
      off::WriteVnetHdr(h, vh);
      iovec iov[kBatch + 1];
      iov[0] = {vh, sizeof vh};
      iov[1] = {first, lens[run.start]};
      size_t hl = run.count > 1 ? 20 + static_cast<size_t>(first[32] >> 4) * 4 : 0;
      for (int k = 1; k < run.count; k++) iov[k + 1] = {pkts[run.start + k] + hl, lens[run.start + k] - hl};
      iovec* v = vnet ? iov : iov + 1;
      int vn = vnet ? run.count + 1 : run.count;
      ssize_t wr = ::writev(fd, v, vn);
      if (wr < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd p{fd, POLLOUT, 0};
        poll(&p, 1, 10);
        wr = ::writev(fd, v, vn);
      }
      uint64_t c = static_cast<uint64_t>(run.count);
      if (wr < 0) {
        if (mip) mip_counters_.drops[static_cast<int>(homeward::MipDrop::kTunWrite)] += c;
        else counters_.tun_write_errors += c;
        continue;
      }
      if (mip) mip_counters_.in += c;
      else counters_.tun_out += c;
      if (run.count > 1) {
        counters_.tun_super_out++;
        counters_.tun_super_pkts += c;
      }
    }
  }

  enum Dest { kNowhere = 0, kVpnTun, kMipTun };

  // Opens one ESP packet in place: where its inner packet (*out, *out_len) goes
  // — the VPN TUN, or (mode mc: the HA's tunnel, decapsulated) the home-address
  // TUN of `mip` — or nowhere (dropped, counted).
  Dest OnEsp(uint8_t* b, size_t len, const homeward::MipInstalled* mip, uint8_t** out, size_t* out_len) {
    if (len < 8) {
      counters_.esp_short++;
      return kNowhere;
    }
    uint32_t spi = homeward::GetU32(b);
    std::shared_ptr<EspIn> sa;
    {
      std::lock_guard<std::mutex> g(mu_);
      auto it = in_.find(spi);
      if (it != in_.end()) sa = it->second.sa;
    }
    if (!sa) {
      counters_.unknown_spi++;
      return kNowhere;
    }
    uint8_t* inner = nullptr;
    size_t n = 0;
    uint32_t seq = 0;
    uint8_t nh = 0;
    int r = sa->Open(b, len, &inner, &n, &seq, &nh);
    if (r >= 0) {
      counters_.drops[r]++;
      if (static_cast<Drop>(r) == Drop::kDummy || static_cast<Drop>(r) == Drop::kSelector) Announce(spi);
      return kNowhere;
    }
    counters_.esp_in++;
    counters_.esp_in_bytes += n;
    Announce(spi);
    if (homeward::MipInbound(mip, mip_counters_, inner, n, out, out_len)) return *out_len > 0 ? kMipTun : kNowhere;
    *out = inner;
    *out_len = n;
    return kVpnTun;
  }

  // An authentic packet arrived on spi: tell JS at the first and then at most every 500 ms.
  void Announce(uint32_t spi) {
    uint64_t now = NowMs();
    {
      std::lock_guard<std::mutex> g(mu_);
      auto it = in_.find(spi);
      if (it == in_.end()) return;
      if (it->second.announced && now - it->second.last_event_ms < 500) return;
      it->second.announced = true;
      it->second.last_event_ms = now;
    }
    PostMessage(new Message{Message::kInbound, {}, {}, 0, spi});
  }

  int tun_fd_ = -1;
  int udp_fd_ = -1;
  std::atomic<uint64_t> rcvbuf_{0};
  std::atomic<uint64_t> sndbuf_{0};
  sockaddr_in peer_{};
  int wake_rx_ = -1, wake_tx_ = -1;
  std::atomic<bool> running_{false};
  std::atomic<bool> rekey_asked_{false};
  std::atomic<bool> gso_ok_{true};
  bool vnet_ = false;      // the TUN has IFF_VNET_HDR (fixed at construction)
  bool offloads_ = false;  // TUNSETOFFLOAD(CSUM|TSO4) took (cleared by Shutdown, after the join)
  std::mutex mu_;
  std::shared_ptr<EspOut> out_;
  std::unordered_map<uint32_t, InboundEntry> in_;
  std::deque<std::vector<uint8_t>> injected_;
  std::shared_ptr<homeward::MipInstalled> mip_;
  homeward::MipCounters mip_counters_;
  Counters counters_;
  Napi::FunctionReference on_datagram_, on_event_;
  Napi::ThreadSafeFunction tsfn_;
  std::thread rx_, tx_;
};

// ── tun_offload.h for tests (test/unit/io/native-tun-offload.test.ts) ──

off::VnetHdr HdrFromJs(Napi::Object o) {
  off::VnetHdr h;
  auto u = [&](const char* k) { return o.Get(k).IsNumber() ? o.Get(k).As<Napi::Number>().Uint32Value() : 0u; };
  h.flags = static_cast<uint8_t>(u("flags"));
  h.gso_type = static_cast<uint8_t>(u("gsoType"));
  h.hdr_len = static_cast<uint16_t>(u("hdrLen"));
  h.gso_size = static_cast<uint16_t>(u("gsoSize"));
  h.csum_start = static_cast<uint16_t>(u("csumStart"));
  h.csum_offset = static_cast<uint16_t>(u("csumOffset"));
  return h;
}

Napi::Object HdrToJs(Napi::Env env, const off::VnetHdr& h) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("flags", h.flags);
  o.Set("gsoType", h.gso_type);
  o.Set("hdrLen", h.hdr_len);
  o.Set("gsoSize", h.gso_size);
  o.Set("csumStart", h.csum_start);
  o.Set("csumOffset", h.csum_offset);
  return o;
}

// offloadSegment(hdr, pkt) -> Uint8Array[] | string (the error's name)
Napi::Value OffloadSegmentJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* pkt = nullptr;
  size_t len = 0;
  if (info.Length() < 2 || !info[0].IsObject() || !Bytes(info[1], &pkt, &len)) {
    Napi::TypeError::New(env, "offloadSegment(hdr, pkt: Uint8Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  off::VnetHdr h = HdrFromJs(info[0].As<Napi::Object>());
  constexpr int kMax = 256;
  if (len > off::kMaxIp) return Napi::String::New(env, off::SegErrorName(off::SegError::kBadLength));
  size_t hl = 0;
  off::SegError err;
  int n = off::SegmentCount(h, pkt, len, &hl, &err);
  if (n == 0) return Napi::String::New(env, off::SegErrorName(err));
  if (n > kMax) return Napi::String::New(env, off::SegErrorName(off::SegError::kTooMany));
  std::unique_ptr<uint8_t[]> buf(new uint8_t[static_cast<size_t>(n) * (hl + h.gso_size)]);
  std::unique_ptr<size_t[]> lens(new size_t[n]);
  int k = off::Segment(h, pkt, len, buf.get(), hl + h.gso_size, lens.get(), n, &err);
  if (k == 0) return Napi::String::New(env, off::SegErrorName(err));
  Napi::Array a = Napi::Array::New(env, k);
  for (int i = 0; i < k; i++) {
    Napi::Uint8Array b = Napi::Uint8Array::New(env, lens[i]);
    std::memcpy(b.Data(), buf.get() + static_cast<size_t>(i) * (hl + h.gso_size), lens[i]);
    a.Set(i, b);
  }
  return a;
}

// offloadCoalesce(pkts: Uint8Array[]) -> {out: [{hdr, bytes}], notCoalesced: {reason: n}}
// The packets are copied first; the writes the rx thread would do come back in order.
Napi::Value OffloadCoalesceJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray() || info[0].As<Napi::Array>().Length() > static_cast<uint32_t>(kBatch)) {
    Napi::TypeError::New(env, "offloadCoalesce(pkts: Uint8Array[] (at most 64))").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array in = info[0].As<Napi::Array>();
  int n = static_cast<int>(in.Length());
  std::vector<std::vector<uint8_t>> copies(n);
  uint8_t* pkts[kBatch];
  size_t lens[kBatch];
  for (int i = 0; i < n; i++) {
    uint8_t* d = nullptr;
    size_t l = 0;
    if (!Bytes(in.Get(i), &d, &l)) {
      Napi::TypeError::New(env, "offloadCoalesce: pkts[" + std::to_string(i) + "] must be a Uint8Array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    copies[i].assign(d, d + l);
    copies[i].resize(l + 1);  // never empty: a valid pointer for a 0-byte packet
    pkts[i] = copies[i].data();
    lens[i] = l;
  }
  off::Run runs[kBatch];
  uint64_t alone[static_cast<int>(off::Alone::kCount)] = {0};
  int nr = off::PlanRuns(pkts, lens, n, runs, alone);
  Napi::Array out = Napi::Array::New(env, nr);
  for (int r = 0; r < nr; r++) {
    const off::Run& run = runs[r];
    off::VnetHdr h;
    off::MakeHead(pkts[run.start], lens[run.start], run.count, run.bytes, run.psh, &h);
    size_t hl = run.count > 1 ? 20 + static_cast<size_t>(pkts[run.start][32] >> 4) * 4 : 0;
    size_t total = lens[run.start];
    for (int k = 1; k < run.count; k++) total += lens[run.start + k] - hl;
    Napi::Uint8Array b = Napi::Uint8Array::New(env, total);
    size_t at = 0;
    std::memcpy(b.Data(), pkts[run.start], lens[run.start]);
    at += lens[run.start];
    for (int k = 1; k < run.count; k++) {
      std::memcpy(b.Data() + at, pkts[run.start + k] + hl, lens[run.start + k] - hl);
      at += lens[run.start + k] - hl;
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("hdr", HdrToJs(env, h));
    o.Set("bytes", b);
    o.Set("count", run.count);
    out.Set(r, o);
  }
  Napi::Object res = Napi::Object::New(env);
  res.Set("out", out);
  Napi::Object a = Napi::Object::New(env);
  for (int i = 1; i < static_cast<int>(off::Alone::kCount); i++)
    a.Set(off::AloneName(static_cast<off::Alone>(i)), Napi::Number::New(env, static_cast<double>(alone[i])));
  res.Set("notCoalesced", a);
  return res;
}

// offloadCompleteCsum(pkt, csumStart, csumOffset) -> boolean; completes pkt IN PLACE
Napi::Value OffloadCompleteCsumJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* pkt = nullptr;
  size_t len = 0;
  if (info.Length() < 3 || !Bytes(info[0], &pkt, &len) || !info[1].IsNumber() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "offloadCompleteCsum(pkt, csumStart, csumOffset)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Boolean::New(env, off::CompleteCsum(pkt, len, static_cast<uint16_t>(info[1].As<Napi::Number>().Uint32Value()),
                                                   static_cast<uint16_t>(info[2].As<Napi::Number>().Uint32Value())));
}

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("offloadSegment", Napi::Function::New(env, OffloadSegmentJs));
  exports.Set("offloadCoalesce", Napi::Function::New(env, OffloadCoalesceJs));
  exports.Set("offloadCompleteCsum", Napi::Function::New(env, OffloadCompleteCsumJs));
  if (const char* missing = MissingEvpSymbol()) {
    // no classes: the loader reports this and the engine keeps the JavaScript ESP
    exports.Set("unavailable", Napi::String::New(env, std::string("the process exports no OpenSSL ") + missing));
    return exports;
  }
  exports.Set("EspSa", EspSa::Init(env));
  exports.Set("Dataplane", Dataplane::Init(env));
  exports.Set("mipEncapsulate", Napi::Function::New(env, homeward::MipEncapsulateJs));
  exports.Set("mipDecapsulate", Napi::Function::New(env, homeward::MipDecapsulateJs));
  exports.Set("openssl", Napi::String::New(env, OpenSSL_version(OPENSSL_VERSION)));
  return exports;
}

}  // namespace

NODE_API_MODULE(homeward_dataplane, InitModule)
