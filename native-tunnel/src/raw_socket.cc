// Raw IPv4 sockets for the user-space Mobile IP data path.
//
// The kernels we run on may have no IP-in-IP / GRE devices, so tunnels are
// done in user space: a raw socket per protocol (4 IP-in-IP, 47 GRE, 55
// minimal encapsulation, 1 ICMP for agent advertisements and solicitations).
// With a raw socket open for protocol 4 the kernel hands incoming IP-in-IP
// packets to it instead of answering "protocol unreachable".
//
//   new RawSocket(protocol, { hdrincl?, device?, ttl?, multicastTtl?, pktinfo? })
//   start(onPacket(packet: Buffer, ifindex: number))
//                                     every received datagram, IPv4 header included; with
//                                     pktinfo the index of the device it arrived on (IP_PKTINFO),
//                                     0 otherwise
//   udpSocket(address, device?) -> fd an IPv4 UDP socket bound to address:0 (and to the device,
//                                     SO_BINDTODEVICE) for node's dgram bind({ fd })
//   bindToDevice(fd, device)          SO_BINDTODEVICE on such a socket ("" unbinds)
//   send(payload, dst) -> bytes sent  (with hdrincl the payload is the whole packet)
//   sendMany(payloads, dsts) -> count one sendmmsg(2) for a batch (dsts[i] for payloads[i]);
//                                     the count of those the kernel took, the rest dropped
//                                     (transient errors, as send's -1)
//   sendSlots(slab, stride, lengths, count) -> count sent
//                                     hdrincl only: packets i < count at slab[i * stride],
//                                     lengths[i] bytes each, in one sendmmsg(2) per kMaxBatch,
//                                     each to the destination in its own IPv4 header — no
//                                     array, string or allocation per packet
//   joinMulticast(group, ifaddr)      e.g. 224.0.0.2 for solicitations
//   close()                           idempotent
//
// Reads are driven by a libuv poll handle on the non-blocking descriptor,
// like the TUN reads: one readiness event drains up to kMaxBatch datagrams
// with one recvmmsg(2) and one call into JS — start(onBatch(packets, ifindexes))
// gets them as views of one buffer (a copy per batch, not per packet).
// This file is a separate addon target (raw_socket.node) so it builds beside
// the TUN addon without touching it.

#include <napi.h>
#include <uv.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <string>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "sock_util.h"

namespace {

constexpr int kMaxBatch = 64;
constexpr size_t kMaxPacket = 65535;

std::string ErrnoMessage(const char* what, int err) {
  std::string msg = std::string(what) + ": " + std::strerror(err);
  if (err == EPERM || err == EACCES) {
    msg += " (raw sockets need CAP_NET_RAW, SO_BINDTODEVICE needs CAP_NET_ADMIN: run as root or grant the capabilities)";
  }
  return msg;
}

bool ParseIPv4(const std::string& s, in_addr* out) {
  return inet_pton(AF_INET, s.c_str(), out) == 1;
}

class RawSocket : public Napi::ObjectWrap<RawSocket> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "RawSocket", {
      InstanceMethod("start", &RawSocket::Start),
      InstanceMethod("send", &RawSocket::Send),
      InstanceMethod("sendMany", &RawSocket::SendMany),
      InstanceMethod("sendSlots", &RawSocket::SendSlots),
      InstanceMethod("joinMulticast", &RawSocket::JoinMulticast),
      InstanceMethod("close", &RawSocket::Close),
      InstanceAccessor("fd", &RawSocket::Fd, nullptr),
    });
    exports.Set("RawSocket", ctor);
    return exports;
  }

  explicit RawSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RawSocket>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) {
      Napi::TypeError::New(env, "RawSocket(protocol, options?): protocol must be a number").ThrowAsJavaScriptException();
      return;
    }
    int proto = info[0].As<Napi::Number>().Int32Value();
    if (proto < 0 || proto > 255) {
      Napi::RangeError::New(env, "RawSocket: protocol must be 0..255").ThrowAsJavaScriptException();
      return;
    }
    Napi::Object opts = info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
    fd_ = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (fd_ < 0) {
      Napi::Error::New(env, ErrnoMessage("socket(AF_INET, SOCK_RAW)", errno)).ThrowAsJavaScriptException();
      return;
    }
    if (!ApplyOptions(env, opts)) {
      close(fd_);
      fd_ = -1;
    }
  }

  ~RawSocket() override { Shutdown(); }

 private:
  bool ApplyOptions(Napi::Env env, Napi::Object opts) {
    if (opts.Has("hdrincl") && opts.Get("hdrincl").ToBoolean().Value()) {
      int one = 1;
      if (setsockopt(fd_, IPPROTO_IP, IP_HDRINCL, &one, sizeof one) < 0) return Fail(env, "setsockopt(IP_HDRINCL)");
      hdrincl_ = true;
    }
    if (opts.Has("device") && opts.Get("device").IsString()) {
      std::string dev = opts.Get("device").As<Napi::String>().Utf8Value();
      if (setsockopt(fd_, SOL_SOCKET, SO_BINDTODEVICE, dev.c_str(), dev.size()) < 0) return Fail(env, "setsockopt(SO_BINDTODEVICE)");
    }
    if (opts.Has("pktinfo") && opts.Get("pktinfo").ToBoolean().Value()) {
      int one = 1;
      if (setsockopt(fd_, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0) return Fail(env, "setsockopt(IP_PKTINFO)");
    }
    if (opts.Has("ttl") && opts.Get("ttl").IsNumber()) {
      int ttl = opts.Get("ttl").As<Napi::Number>().Int32Value();
      if (setsockopt(fd_, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) < 0) return Fail(env, "setsockopt(IP_TTL)");
    }
    if (opts.Has("multicastTtl") && opts.Get("multicastTtl").IsNumber()) {
      int ttl = opts.Get("multicastTtl").As<Napi::Number>().Int32Value();
      if (setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) < 0) return Fail(env, "setsockopt(IP_MULTICAST_TTL)");
    }
    return true;
  }

  bool Fail(Napi::Env env, const char* what) {
    Napi::Error::New(env, ErrnoMessage(what, errno)).ThrowAsJavaScriptException();
    return false;
  }

  Napi::Value Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) {
      Napi::Error::New(env, "RawSocket.start: socket is closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (poll_ != nullptr) {
      Napi::Error::New(env, "RawSocket.start: already started").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (info.Length() < 1 || !info[0].IsFunction()) {
      Napi::TypeError::New(env, "RawSocket.start(onPacket): onPacket must be a function").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    on_packet_ = Napi::Persistent(info[0].As<Napi::Function>());
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    poll_->data = this;
    env_ = env;
    if (uv_poll_init(loop, poll_, fd_) != 0 || uv_poll_start(poll_, UV_READABLE, OnReadable) != 0) {
      delete poll_;
      poll_ = nullptr;
      Napi::Error::New(env, "RawSocket.start: uv_poll failed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Ref();  // stay alive while polling, even if JS drops the object
    return env.Undefined();
  }

  static void OnReadable(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<RawSocket*>(handle->data);
    if (self == nullptr || self->fd_ < 0 || status < 0 || !(events & UV_READABLE)) return;
    Napi::HandleScope scope(self->env_);
    if (!self->slab_) self->slab_.reset(new uint8_t[static_cast<size_t>(kMaxBatch) * kMaxPacket]);  // pages resident as used
    mmsghdr msgs[kMaxBatch];
    iovec iovs[kMaxBatch];
    alignas(cmsghdr) uint8_t control[kMaxBatch][CMSG_SPACE(sizeof(in_pktinfo))];
    for (int i = 0; i < kMaxBatch; i++) {
      iovs[i] = {self->slab_.get() + static_cast<size_t>(i) * kMaxPacket, kMaxPacket};
      msgs[i].msg_hdr = msghdr{};
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = control[i];
      msgs[i].msg_hdr.msg_controllen = sizeof control[i];
    }
    int n = recvmmsg(self->fd_, msgs, kMaxBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;  // EAGAIN or a transient error: wait for the next readiness
    size_t total = 0;
    for (int i = 0; i < n; i++) total += (msgs[i].msg_len + 7) & ~static_cast<size_t>(7);
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(self->env_, total);
    Napi::Array pkts = Napi::Array::New(self->env_, static_cast<size_t>(n));
    Napi::Int32Array ifindexes = Napi::Int32Array::New(self->env_, static_cast<size_t>(n));
    size_t at = 0;
    for (int i = 0; i < n; i++) {
      size_t len = msgs[i].msg_len;
      std::memcpy(static_cast<uint8_t*>(ab.Data()) + at, iovs[i].iov_base, len);
      pkts.Set(static_cast<uint32_t>(i), Napi::Uint8Array::New(self->env_, len, ab, at));
      at += (len + 7) & ~static_cast<size_t>(7);
      int ifindex = 0;  // the arrival device, when IP_PKTINFO is on
      for (cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c != nullptr; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
          in_pktinfo info;
          std::memcpy(&info, CMSG_DATA(c), sizeof info);
          ifindex = info.ipi_ifindex;
        }
      }
      ifindexes[static_cast<size_t>(i)] = ifindex;
    }
    self->on_packet_.Call({pkts, ifindexes});
    if (self->env_.IsExceptionPending()) {
      // Surface the JS exception as an uncaught error rather than losing it.
      Napi::Error e = self->env_.GetAndClearPendingException();
      napi_fatal_exception(self->env_, e.Value());
    }
  }

  static bool Transient(int err) {
    return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS || err == EMSGSIZE || err == ENETUNREACH || err == EHOSTUNREACH ||
           err == ENETDOWN || err == EADDRNOTAVAIL;
  }

  // sendMany(payloads: Uint8Array[], dsts: string[]) -> how many the kernel took
  Napi::Value SendMany(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) {
      Napi::Error::New(env, "RawSocket.sendMany: socket is closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsArray() ||
        info[0].As<Napi::Array>().Length() != info[1].As<Napi::Array>().Length()) {
      Napi::TypeError::New(env, "RawSocket.sendMany(payloads: Uint8Array[], dsts: string[]) of equal length").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Array payloads = info[0].As<Napi::Array>();
    Napi::Array dsts = info[1].As<Napi::Array>();
    uint32_t count = payloads.Length();
    std::vector<mmsghdr> msgs(count);
    std::vector<iovec> iovs(count);
    std::vector<sockaddr_in> addrs(count);
    for (uint32_t i = 0; i < count; i++) {
      Napi::Value p = payloads.Get(i);
      Napi::Value d = dsts.Get(i);
      addrs[i] = sockaddr_in{};
      addrs[i].sin_family = AF_INET;
      if (!p.IsTypedArray() || !d.IsString() || !ParseIPv4(d.As<Napi::String>().Utf8Value(), &addrs[i].sin_addr)) {
        Napi::TypeError::New(env, "RawSocket.sendMany: payloads[" + std::to_string(i) + "] must be a Uint8Array and dsts[" +
                                      std::to_string(i) + "] a dotted IPv4 address").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      Napi::Uint8Array a = p.As<Napi::Uint8Array>();
      iovs[i] = {a.Data(), a.ByteLength()};
      msgs[i].msg_hdr = msghdr{};
      msgs[i].msg_hdr.msg_name = &addrs[i];
      msgs[i].msg_hdr.msg_namelen = sizeof addrs[i];
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    uint32_t done = 0, sent = 0;
    while (done < count) {
      int r = sendmmsg(fd_, msgs.data() + done, count - done, 0);
      if (r > 0) {
        done += static_cast<uint32_t>(r);
        sent += static_cast<uint32_t>(r);
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && !Transient(errno)) {
        Napi::Error::New(env, ErrnoMessage("sendmmsg", errno)).ThrowAsJavaScriptException();
        return env.Undefined();
      }
      done++;  // this one was refused (no buffer, too big, no route right now): dropped, go on
    }
    return Napi::Number::New(env, sent);
  }

  // sendmmsg over msgs[0..count), the refused ones (transient errors) skipped; -1 with errno on a hard error
  int SendAll(mmsghdr* msgs, uint32_t count) {
    uint32_t done = 0, sent = 0;
    while (done < count) {
      int r = sendmmsg(fd_, msgs + done, count - done, 0);
      if (r > 0) {
        done += static_cast<uint32_t>(r);
        sent += static_cast<uint32_t>(r);
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && !Transient(errno)) return -1;
      done++;  // this one was refused (no buffer, too big, no route right now): dropped, go on
    }
    return static_cast<int>(sent);
  }

  // sendSlots(slab: Uint8Array, stride: number, lengths: Uint32Array, count: number) -> how many the kernel took
  Napi::Value SendSlots(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0 || !hdrincl_) {
      Napi::Error::New(env, "RawSocket.sendSlots: needs an open socket with hdrincl").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (info.Length() < 4 || !info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsTypedArray() || !info[3].IsNumber() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
        info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
      Napi::TypeError::New(env, "RawSocket.sendSlots(slab: Uint8Array, stride: number, lengths: Uint32Array, count: number)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Uint8Array slab = info[0].As<Napi::Uint8Array>();
    Napi::Uint32Array lengths = info[2].As<Napi::Uint32Array>();
    int64_t stride = info[1].As<Napi::Number>().Int64Value();
    int64_t count = info[3].As<Napi::Number>().Int64Value();
    if (stride < 20 || count < 0 || static_cast<size_t>(count) > lengths.ElementLength() ||
        static_cast<size_t>(count) * static_cast<size_t>(stride) > slab.ByteLength()) {
      Napi::RangeError::New(env, "RawSocket.sendSlots: count slots of stride bytes must fit the slab and the lengths").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    mmsghdr msgs[kMaxBatch];
    iovec iovs[kMaxBatch];
    sockaddr_in addrs[kMaxBatch];
    int total = 0;
    for (int64_t base = 0; base < count; base += kMaxBatch) {
      uint32_t n = 0;
      for (int64_t i = base; i < count && i < base + kMaxBatch; i++) {
        uint8_t* p = slab.Data() + static_cast<size_t>(i * stride);
        size_t len = lengths[static_cast<size_t>(i)];
        if (len < 20 || len > static_cast<size_t>(stride)) continue;  // not a packet: not sent, not counted
        sockutil::FillRawSlot(&msgs[n], &iovs[n], &addrs[n], p, len);  // to the header's destination
        n++;
      }
      int r = SendAll(msgs, n);
      if (r < 0) {
        Napi::Error::New(env, ErrnoMessage("sendmmsg", errno)).ThrowAsJavaScriptException();
        return env.Undefined();
      }
      total += r;
    }
    return Napi::Number::New(env, total);
  }

  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) {
      Napi::Error::New(env, "RawSocket.send: socket is closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsString()) {
      Napi::TypeError::New(env, "RawSocket.send(payload: Uint8Array, dst: string)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Uint8Array data = info[0].As<Napi::Uint8Array>();
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    if (!ParseIPv4(info[1].As<Napi::String>().Utf8Value(), &dst.sin_addr)) {
      Napi::TypeError::New(env, "RawSocket.send: dst must be a dotted IPv4 address").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    ssize_t n = sendto(fd_, data.Data(), data.ByteLength(), 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst);
    if (n < 0) {
      // transient: no buffer, too big, no route right now (a link went away): dropped and counted by the caller
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EMSGSIZE || errno == ENETUNREACH ||
          errno == EHOSTUNREACH || errno == ENETDOWN || errno == EADDRNOTAVAIL) {
        return Napi::Number::New(env, -1);
      }
      Napi::Error::New(env, ErrnoMessage("sendto", errno)).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::Number::New(env, static_cast<double>(n));
  }

  Napi::Value JoinMulticast(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0 || info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) {
      Napi::TypeError::New(env, "RawSocket.joinMulticast(group: string, ifaddr: string) on an open socket").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    ip_mreq mreq{};
    if (!ParseIPv4(info[0].As<Napi::String>().Utf8Value(), &mreq.imr_multiaddr) ||
        !ParseIPv4(info[1].As<Napi::String>().Utf8Value(), &mreq.imr_interface)) {
      Napi::TypeError::New(env, "RawSocket.joinMulticast: addresses must be dotted IPv4").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (setsockopt(fd_, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) < 0) {
      Napi::Error::New(env, ErrnoMessage("setsockopt(IP_ADD_MEMBERSHIP)", errno)).ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    bool was_polling = poll_ != nullptr;
    Shutdown();
    if (was_polling) Unref();
    return info.Env().Undefined();
  }

  void Shutdown() {
    if (poll_ != nullptr) {
      uv_poll_stop(poll_);
      poll_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
    if (!on_packet_.IsEmpty()) on_packet_.Reset();
  }

  int fd_ = -1;
  bool hdrincl_ = false;
  uv_poll_t* poll_ = nullptr;
  Napi::Env env_ = Napi::Env(nullptr);
  Napi::FunctionReference on_packet_;
  std::unique_ptr<uint8_t[]> slab_;  // kMaxBatch receive slots
};

// udpSocket(address, device?) -> fd: for dgram's bind({ fd }), which cannot bind to a device itself
Napi::Value UdpSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (info.Length() < 1 || !info[0].IsString() || !ParseIPv4(info[0].As<Napi::String>().Utf8Value(), &addr.sin_addr)) {
    Napi::TypeError::New(env, "udpSocket(address: dotted IPv4, device?: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    Napi::Error::New(env, ErrnoMessage("socket(AF_INET, SOCK_DGRAM)", errno)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (info.Length() > 1 && info[1].IsString()) {
    std::string dev = info[1].As<Napi::String>().Utf8Value();
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev.c_str(), dev.size()) < 0) {
      int err = errno;
      close(fd);
      Napi::Error::New(env, ErrnoMessage("setsockopt(SO_BINDTODEVICE)", err)).ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    int err = errno;
    close(fd);
    Napi::Error::New(env, ErrnoMessage("bind", err)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// bindToDevice(fd, device): SO_BINDTODEVICE on a socket we opened ("" removes the binding)
Napi::Value BindToDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsString()) {
    Napi::TypeError::New(env, "bindToDevice(fd: number, device: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::string dev = info[1].As<Napi::String>().Utf8Value();
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev.c_str(), dev.size()) < 0) {
    Napi::Error::New(env, ErrnoMessage("setsockopt(SO_BINDTODEVICE)", errno)).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("udpSocket", Napi::Function::New(env, UdpSocket));
  exports.Set("bindToDevice", Napi::Function::New(env, BindToDevice));
  return RawSocket::Init(env, exports);
}

}  // namespace

NODE_API_MODULE(raw_socket, InitModule)
