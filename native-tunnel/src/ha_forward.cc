// The reference home agent's IP-in-IP fast path (test/lab/home-agent), a
// separate addon target (ha_forward.node) beside the TUN and raw-socket addons.
//
// The lab's HA is a test peer: in a real deployment it is a box of its own,
// here it shares the CPUs with the mobile node under test, so its per-packet
// cost must stay small. Two threads move RFC 2003 IP-in-IP packets without
// entering JavaScript; the decisions are ha_ipip.h's pure functions, which
// mirror forwarding.ts packet for packet.
//
//   new HaForward(tunFd, rawFd, haAddress: number, onToJs(direction, packets))
//       tunFd: the HA's TUN (non-blocking; JS stops reading it), rawFd: its
//       protocol-4 raw socket with IP_HDRINCL (JS stops reading it but still
//       sends on it). direction 0: from the intranet (for handleFromIntranet),
//       1: from a mobile node (for handleRaw) — the packets the fast path is
//       not to decide, unchanged, as views of one buffer per batch.
//   set(hoa: number, coa: number, mtu: number)   an IP-in-IP binding (mtu 0: none learnt)
//   remove(hoa: number)
//   stats() -> { toMn, fromMn, malformed, wrongEndpoint, toJsFromIntranet,
//                toJsFromMn, sendDropped, tunWriteDropped, handoffDropped, readErrors }
//   close()                                     stops and joins the threads; idempotent
//
// The threads are named ha-ipip-tx (intranet → MN) and ha-ipip-rx (MN → intranet).
//
//   intranet → MN: read the TUN until EAGAIN (≤ kBatch packets, each read into
//     its slot after 20 bytes of room), write the outer header in front, one
//     sendmmsg(2) per batch on the raw socket.
//   MN → intranet: recvmmsg(2) ≤ kBatch on the raw socket, write each inner
//     packet to the TUN.
//
// Test entry points (no descriptors, no root): classifyToMn(pkt, ha, bindings)
// and classifyFromMn(pkt, bindings) run ClassifyToMn / ClassifyFromMn with the
// bindings given as a Uint32Array of (hoa, coa, mtu) triples.

#include <napi.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ha_ipip.h"
#include "sock_util.h"

namespace {

constexpr int kBatch = 64;
constexpr size_t kMaxPacket = 65535;
constexpr size_t kStride = kMaxPacket + ha::kOuterLength;

// Packets handed to JavaScript: one buffer, the lengths of the packets in it.
struct Handoff {
  int direction;
  std::vector<uint8_t> bytes;
  std::vector<uint32_t> lengths;
  void Add(const uint8_t* p, size_t n) {
    bytes.insert(bytes.end(), p, p + n);
    lengths.push_back(static_cast<uint32_t>(n));
  }
};

struct Counters {
  std::atomic<uint64_t> toMn{0}, fromMn{0}, malformed{0}, wrongEndpoint{0}, toJsFromIntranet{0}, toJsFromMn{0}, sendDropped{0},
      tunWriteDropped{0}, handoffDropped{0}, readErrors{0};
};

void Bump(std::atomic<uint64_t>& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }

void DeliverHandoff(Napi::Env env, Napi::Function fn, void*, Handoff* h) {
  std::unique_ptr<Handoff> owned(h);
  if (env == nullptr || fn.IsEmpty()) return;
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, h->bytes.size());
  if (!h->bytes.empty()) std::memcpy(ab.Data(), h->bytes.data(), h->bytes.size());
  Napi::Array pkts = Napi::Array::New(env, h->lengths.size());
  size_t at = 0;
  for (size_t i = 0; i < h->lengths.size(); i++) {
    pkts.Set(static_cast<uint32_t>(i), Napi::Uint8Array::New(env, h->lengths[i], ab, at));
    at += h->lengths[i];
  }
  fn.Call({Napi::Number::New(env, h->direction), pkts});
}

using Tsfn = Napi::TypedThreadSafeFunction<void, Handoff, DeliverHandoff>;

class HaForward : public Napi::ObjectWrap<HaForward> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    exports.Set("HaForward", DefineClass(env, "HaForward", {
                                                             InstanceMethod("set", &HaForward::Set),
                                                             InstanceMethod("remove", &HaForward::Remove),
                                                             InstanceMethod("stats", &HaForward::Stats),
                                                             InstanceMethod("close", &HaForward::Close),
                                                         }));
  }

  explicit HaForward(const Napi::CallbackInfo& info) : Napi::ObjectWrap<HaForward>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsFunction()) {
      Napi::TypeError::New(env, "HaForward(tunFd: number, rawFd: number, haAddress: number, onToJs: function)").ThrowAsJavaScriptException();
      return;
    }
    tun_ = info[0].As<Napi::Number>().Int32Value();
    raw_ = info[1].As<Napi::Number>().Int32Value();
    ha_ = info[2].As<Napi::Number>().Uint32Value();
    if (tun_ < 0 || raw_ < 0) {
      Napi::RangeError::New(env, "HaForward: tunFd and rawFd must be open descriptors").ThrowAsJavaScriptException();
      return;
    }
    // the raw socket's buffers: the kernel default (208 KiB) overflows under a
    // mobile node's TCP stream (a home agent's server would be tuned so too)
    sockutil::GrowBuffers(raw_, 7 << 20);
    stop_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_ < 0) {
      Napi::Error::New(env, std::string("HaForward: eventfd: ") + std::strerror(errno)).ThrowAsJavaScriptException();
      return;
    }
    tsfn_ = Tsfn::New(env, info[3].As<Napi::Function>(), "ha-forward", 1024, 1);
    tsfn_.Unref(env);  // the HA's own sockets keep the process alive, not this
    running_ = true;
    to_mn_ = std::thread([this] { ToMnLoop(); });
    from_mn_ = std::thread([this] { FromMnLoop(); });
  }

  ~HaForward() override { Stop(); }

 private:
  // The bindings, read once per batch by both threads.
  const ha::Entry* Find(uint32_t hoa) const {
    auto it = table_.find(hoa);
    return it == table_.end() ? nullptr : &it->second;
  }

  // false when stopping (or the descriptor is no longer open). POLLERR is not
  // the end: an ICMP error pending on the raw socket is read (and cleared) by
  // the next recvmmsg.
  bool Wait(int fd) {
    pollfd p[2] = {{fd, POLLIN, 0}, {stop_, POLLIN, 0}};
    for (;;) {
      int r = poll(p, 2, -1);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 || (p[1].revents & POLLIN) || !running_.load()) return false;
      if (p[0].revents & POLLNVAL) return false;
      return true;
    }
  }

  // After a read that failed for another reason than "nothing to read": a
  // short pause (or the stop), so that a descriptor that keeps failing does
  // not spin the thread.
  void Backoff() {
    Bump(counters_.readErrors);
    pollfd p = {stop_, POLLIN, 0};
    poll(&p, 1, 10);
  }

  void HandOff(std::unique_ptr<Handoff> h) {
    if (!h || h->lengths.empty()) return;
    size_t n = h->lengths.size();
    if (tsfn_.NonBlockingCall(h.get()) == napi_ok) {
      h.release();
    } else {
      Bump(counters_.handoffDropped, n);
    }
  }

  void ToMnLoop() {
    pthread_setname_np(pthread_self(), "ha-ipip-tx");  // perf and top tell the threads apart by name
    std::unique_ptr<uint8_t[]> slab(new uint8_t[static_cast<size_t>(kBatch) * kStride]);
    mmsghdr msgs[kBatch];
    iovec iovs[kBatch];
    sockaddr_in addrs[kBatch];
    size_t lens[kBatch];
    while (Wait(tun_)) {
      int n = 0;
      while (n < kBatch) {
        ssize_t r = read(tun_, slab.get() + static_cast<size_t>(n) * kStride + ha::kOuterLength, kMaxPacket);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
          if (n == 0) Backoff();
          break;
        }
        if (r <= 0) break;  // EAGAIN: drained
        lens[n++] = static_cast<size_t>(r);
      }
      if (n == 0) continue;
      std::unique_ptr<Handoff> js;
      int out = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (int i = 0; i < n; i++) {
          uint8_t* slot = slab.get() + static_cast<size_t>(i) * kStride;
          uint8_t* pkt = slot + ha::kOuterLength;
          size_t inner = 0;
          ha::Verdict v = ha::ClassifyToMn(pkt, lens[i], ha_, [this](uint32_t a) { return Find(a); }, slot, &inner);
          if (v == ha::kForward) {
            sockutil::FillRawSlot(&msgs[out], &iovs[out], &addrs[out], slot, inner + ha::kOuterLength);
            out++;
          } else if (v == ha::kToJs) {
            if (!js) js.reset(new Handoff{0, {}, {}});
            js->Add(pkt, lens[i]);
          } else {
            Bump(counters_.malformed);
          }
        }
      }
      Bump(counters_.toMn, static_cast<uint64_t>(out));
      Bump(counters_.sendDropped, static_cast<uint64_t>(out - SendAll(msgs, out)));
      if (js) Bump(counters_.toJsFromIntranet, js->lengths.size());
      HandOff(std::move(js));
    }
  }

  // sendmmsg over msgs[0..count), refused ones (transient errors) skipped: how many the kernel took
  int SendAll(mmsghdr* msgs, int count) {
    int done = 0, sent = 0;
    while (done < count) {
      int r = sendmmsg(raw_, msgs + done, static_cast<unsigned>(count - done), 0);
      if (r > 0) {
        done += r;
        sent += r;
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EBADF || errno == ENOTSOCK)) break;  // the socket is gone: the rest are lost
      done++;  // this one was refused (no buffer, no route, a pending ICMP error): dropped, go on
    }
    return sent;
  }

  void FromMnLoop() {
    pthread_setname_np(pthread_self(), "ha-ipip-rx");
    std::unique_ptr<uint8_t[]> slab(new uint8_t[static_cast<size_t>(kBatch) * kMaxPacket]);
    mmsghdr msgs[kBatch];
    iovec iovs[kBatch];
    while (Wait(raw_)) {
      for (int i = 0; i < kBatch; i++) {
        iovs[i] = {slab.get() + static_cast<size_t>(i) * kMaxPacket, kMaxPacket};
        msgs[i].msg_hdr = msghdr{};
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      int n = recvmmsg(raw_, msgs, kBatch, MSG_DONTWAIT, nullptr);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        // a pending ICMP error is reported once and cleared; anything else gets a pause
        if (errno != ECONNREFUSED && errno != EHOSTUNREACH && errno != ENETUNREACH && errno != EMSGSIZE && errno != EPROTO) Backoff();
        continue;
      }
      if (n <= 0) continue;
      std::unique_ptr<Handoff> js;
      struct Out {
        const uint8_t* p;
        size_t n;
      } outs[kBatch];
      int out = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (int i = 0; i < n; i++) {
          const uint8_t* pkt = static_cast<const uint8_t*>(iovs[i].iov_base);
          size_t off = 0, len = 0;
          ha::Verdict v = ha::ClassifyFromMn(pkt, msgs[i].msg_len, [this](uint32_t a) { return Find(a); }, &off, &len);
          if (v == ha::kForward) {
            outs[out++] = {pkt + off, len};
          } else if (v == ha::kToJs) {
            if (!js) js.reset(new Handoff{1, {}, {}});
            js->Add(pkt, msgs[i].msg_len);
          } else if (v == ha::kWrongEndpoint) {
            Bump(counters_.wrongEndpoint);
          } else {
            Bump(counters_.malformed);
          }
        }
      }
      int written = 0;
      for (int i = 0; i < out; i++) {
        ssize_t r;
        do r = write(tun_, outs[i].p, outs[i].n);
        while (r < 0 && errno == EINTR);
        if (r >= 0) written++;
      }
      Bump(counters_.fromMn, static_cast<uint64_t>(written));
      Bump(counters_.tunWriteDropped, static_cast<uint64_t>(out - written));
      if (js) Bump(counters_.toJsFromMn, js->lengths.size());
      HandOff(std::move(js));
    }
  }

  Napi::Value Set(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
      Napi::TypeError::New(env, "HaForward.set(hoa: number, coa: number, mtu: number)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::lock_guard<std::mutex> lock(mu_);
    table_[info[0].As<Napi::Number>().Uint32Value()] = ha::Entry{info[1].As<Napi::Number>().Uint32Value(), info[2].As<Napi::Number>().Uint32Value()};
    return env.Undefined();
  }

  Napi::Value Remove(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) {
      Napi::TypeError::New(env, "HaForward.remove(hoa: number)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::lock_guard<std::mutex> lock(mu_);
    table_.erase(info[0].As<Napi::Number>().Uint32Value());
    return env.Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    const Counters& c = counters_;
    o.Set("toMn", static_cast<double>(c.toMn.load()));
    o.Set("fromMn", static_cast<double>(c.fromMn.load()));
    o.Set("malformed", static_cast<double>(c.malformed.load()));
    o.Set("wrongEndpoint", static_cast<double>(c.wrongEndpoint.load()));
    o.Set("toJsFromIntranet", static_cast<double>(c.toJsFromIntranet.load()));
    o.Set("toJsFromMn", static_cast<double>(c.toJsFromMn.load()));
    o.Set("sendDropped", static_cast<double>(c.sendDropped.load()));
    o.Set("tunWriteDropped", static_cast<double>(c.tunWriteDropped.load()));
    o.Set("handoffDropped", static_cast<double>(c.handoffDropped.load()));
    o.Set("readErrors", static_cast<double>(c.readErrors.load()));
    return o;
  }

  void Stop() {
    if (!running_.exchange(false)) return;
    uint64_t one = 1;
    ssize_t ignored = write(stop_, &one, sizeof one);
    (void)ignored;
    if (to_mn_.joinable()) to_mn_.join();
    if (from_mn_.joinable()) from_mn_.join();
    close(stop_);
    stop_ = -1;
    tsfn_.Release();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Stop();
    return info.Env().Undefined();
  }

  int tun_ = -1, raw_ = -1, stop_ = -1;
  uint32_t ha_ = 0;
  std::atomic<bool> running_{false};
  std::mutex mu_;
  std::unordered_map<uint32_t, ha::Entry> table_;
  Counters counters_;
  Tsfn tsfn_;
  std::thread to_mn_, from_mn_;
};

// Bindings from a Uint32Array of (hoa, coa, mtu) triples, for the test entry points.
bool ReadBindings(Napi::Env env, Napi::Value v, std::unordered_map<uint32_t, ha::Entry>* out) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array || v.As<Napi::Uint32Array>().ElementLength() % 3 != 0) {
    Napi::TypeError::New(env, "bindings must be a Uint32Array of (hoa, coa, mtu) triples").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Uint32Array a = v.As<Napi::Uint32Array>();
  for (size_t i = 0; i + 2 < a.ElementLength(); i += 3) (*out)[a[i]] = ha::Entry{a[i + 1], a[i + 2]};
  return true;
}

Napi::Object Result(Napi::Env env, ha::Verdict v, const uint8_t* a, size_t an, const uint8_t* b, size_t bn) {
  static const char* const kNames[] = {"forward", "to-js", "malformed", "wrong-endpoint"};
  Napi::Object o = Napi::Object::New(env);
  o.Set("verdict", kNames[v]);
  if (v == ha::kForward) {
    Napi::Uint8Array p = Napi::Uint8Array::New(env, an + bn);
    if (an) std::memcpy(p.Data(), a, an);
    if (bn) std::memcpy(p.Data() + an, b, bn);
    o.Set("packet", p);
  }
  return o;
}

// classifyToMn(pkt: Uint8Array, ha: number, bindings: Uint32Array) -> { verdict, packet? (the outer packet) }
Napi::Value ClassifyToMnEntry(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "classifyToMn(pkt: Uint8Array, ha: number, bindings: Uint32Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::unordered_map<uint32_t, ha::Entry> table;
  if (!ReadBindings(env, info[2], &table)) return env.Undefined();
  Napi::Uint8Array pkt = info[0].As<Napi::Uint8Array>();
  uint8_t hdr[ha::kOuterLength];
  size_t inner = 0;
  auto find = [&table](uint32_t a) -> const ha::Entry* {
    auto it = table.find(a);
    return it == table.end() ? nullptr : &it->second;
  };
  ha::Verdict v = ha::ClassifyToMn(pkt.Data(), pkt.ByteLength(), info[1].As<Napi::Number>().Uint32Value(), find, hdr, &inner);
  return Result(env, v, hdr, sizeof hdr, pkt.Data(), inner);
}

// classifyFromMn(pkt: Uint8Array, bindings: Uint32Array) -> { verdict, packet? (the inner packet for the TUN) }
Napi::Value ClassifyFromMnEntry(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray()) {
    Napi::TypeError::New(env, "classifyFromMn(pkt: Uint8Array, bindings: Uint32Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::unordered_map<uint32_t, ha::Entry> table;
  if (!ReadBindings(env, info[1], &table)) return env.Undefined();
  Napi::Uint8Array pkt = info[0].As<Napi::Uint8Array>();
  size_t off = 0, len = 0;
  auto find = [&table](uint32_t a) -> const ha::Entry* {
    auto it = table.find(a);
    return it == table.end() ? nullptr : &it->second;
  };
  ha::Verdict v = ha::ClassifyFromMn(pkt.Data(), pkt.ByteLength(), find, &off, &len);
  return Result(env, v, pkt.Data() + off, len, nullptr, 0);
}

Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  HaForward::Init(env, exports);
  exports.Set("classifyToMn", Napi::Function::New(env, ClassifyToMnEntry));
  exports.Set("classifyFromMn", Napi::Function::New(env, ClassifyFromMnEntry));
  return exports;
}

}  // namespace

NODE_API_MODULE(ha_forward, InitAll)
