// homeward_tun: a Linux TUN device (IFF_TUN | IFF_NO_PI) for Node.js.
//
// Contract
//   new Tun(name, {offloads?})
//                          opens /dev/net/tun (O_RDWR | O_NONBLOCK | O_CLOEXEC) and
//                          attaches it with TUNSETIFF; `name` may be a pattern such
//                          as "hw%d" ("" lets the kernel choose "tun%d").
//                          offloads: true adds IFF_VNET_HDR, so that the native data
//                          plane (dataplane.cc) can take TSO super-packets and write
//                          coalesced ones (it turns the offloads on while it owns the
//                          fd). start()/write() stay the same: the 10-byte
//                          virtio_net_hdr is stripped from reads (a GSO packet is
//                          segmented, a NEEDS_CSUM one completed: tun_offload.h) and
//                          a zero one put before writes.
//   tun.offloads           whether the device has IFF_VNET_HDR.
//   tun.name               the kernel's name for the device.
//   tun.start(onPackets, onError?)
//                          starts reading. onPackets(batch: Uint8Array[]) is called
//                          once per readiness event with up to kMaxBatch whole
//                          packets (IPv4/IPv6 datagrams, no PI header). onError(err)
//                          is called once if reading fails for good (reading stops).
//   tun.write(pkt) -> n    1 written, 0 queued (the fd was full; flushed when it is
//                          writable again), -errno dropped (queue full: -EAGAIN; a
//                          packet the kernel refused: -EINVAL, -EIO, ...).
//   tun.fd                 the descriptor (-1 once closed), for the native data plane
//                          (dataplane.cc), which reads and writes it on its own threads
//                          instead of start()/write().
//   tun.setReading(on)     false: stop reading (the native data plane reads the fd
//                          instead — mode mc's Mobile IP pass); true: read again.
//                          Writes are not affected. Before start(): remembered.
//   tun.mtu() -> number    SIOCGIFMTU for the device.
//   tun.stats() -> { rxPackets, rxBytes, txPackets, txBytes, txDropped, txQueued }
//   tun.close()            stops the poll handle (uv_close), closes the fd, drops the
//                          write queue; idempotent. No callback runs after close,
//                          not even for the rest of a batch being read.
//
// Threads: none. Everything runs on the Node event-loop thread: a libuv
// uv_poll_t on the non-blocking fd wakes us when it is readable (and, only
// while the write queue is non-empty, writable). No busy polling.
//
// Copies: packets are read by the kernel straight into a V8-owned slab and
// handed to JS as Uint8Array views of it; a new slab is taken when the free
// space could not hold a maximum-size packet. A packet kept by JS keeps its
// slab (kSlabSize) alive.
//
// Errors are JS Errors with `code` (e.g. 'EPERM'), `errno` and `syscall`.

#include <napi.h>
#include <uv.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/uio.h>
#include <vector>

#include "tun_offload.h"

namespace {

namespace off = homeward::offload;

constexpr int kMaxBatch = 64;
constexpr size_t kMaxPacket = 65535;
constexpr size_t kSlabSize = 256 * 1024;
constexpr size_t kMaxQueue = 256;

const char* kCapHint =
    " (needs CAP_NET_ADMIN: run as root, or grant it with "
    "`sudo setcap cap_net_admin+ep $(command -v node)`)";

Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err) {
  std::string msg = std::string(syscall) + " failed: " + std::strerror(err);
  if (err == EPERM || err == EACCES) msg += kCapHint;
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, uv_err_name(-err)));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

bool Transient(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

class Tun : public Napi::ObjectWrap<Tun> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "Tun", {
        InstanceMethod("start", &Tun::Start),
        InstanceMethod("write", &Tun::Write),
        InstanceMethod("mtu", &Tun::Mtu),
        InstanceMethod("setReading", &Tun::SetReading),
        InstanceMethod("stats", &Tun::Stats),
        InstanceMethod("close", &Tun::Close),
        InstanceAccessor("name", &Tun::Name, nullptr),
        InstanceAccessor("closed", &Tun::Closed, nullptr),
        InstanceAccessor("fd", &Tun::Fd, nullptr),
        InstanceAccessor("offloads", &Tun::Offloads, nullptr),
    });
    exports.Set("Tun", ctor);
    return exports;
  }

  explicit Tun(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Tun>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) {
      Napi::TypeError::New(env, "Tun(name): name must be a string").ThrowAsJavaScriptException();
      return;
    }
    std::string name = info[0].As<Napi::String>().Utf8Value();
    if (name.size() >= IFNAMSIZ) {
      Napi::RangeError::New(env, "Tun: interface name '" + name + "' is longer than 15 bytes")
          .ThrowAsJavaScriptException();
      return;
    }
    if (info.Length() > 1 && info[1].IsObject()) {
      Napi::Value v = info[1].As<Napi::Object>().Get("offloads");
      vnet_ = v.IsBoolean() && v.As<Napi::Boolean>().Value();
    }
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      ErrnoError(env, "open(/dev/net/tun)", errno).ThrowAsJavaScriptException();
      return;
    }
    ifreq ifr{};
    ifr.ifr_flags = static_cast<short>(IFF_TUN | IFF_NO_PI | (vnet_ ? IFF_VNET_HDR : 0));
    std::memcpy(ifr.ifr_name, name.data(), name.size());
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
      int err = errno;
      ::close(fd);
      ErrnoError(env, "ioctl(TUNSETIFF)", err).ThrowAsJavaScriptException();
      return;
    }
    name_.assign(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
    uv_loop_t* loop = nullptr;
    poll_ = new uv_poll_t;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, poll_, fd) != 0) {
      delete poll_;
      poll_ = nullptr;
      ::close(fd);
      Napi::Error::New(env, "Tun: uv_poll_init failed").ThrowAsJavaScriptException();
      return;
    }
    poll_->data = this;
    fd_ = fd;
  }

  ~Tun() override { Shutdown(); }

 private:
  Napi::Value Name(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }
  Napi::Value Closed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), fd_ < 0); }
  Napi::Value Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }
  Napi::Value Offloads(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), vnet_); }

  // write(2), with a zero virtio_net_hdr first on an IFF_VNET_HDR device.
  ssize_t WritePacket(const uint8_t* data, size_t len) {
    if (!vnet_) return ::write(fd_, data, len);
    uint8_t vh[off::kVnetHdr] = {0};
    iovec iov[2] = {{vh, sizeof vh}, {const_cast<uint8_t*>(data), len}};
    ssize_t n = ::writev(fd_, iov, 2);
    return n < 0 ? n : n - static_cast<ssize_t>(off::kVnetHdr);
  }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) {
      Napi::Error::New(env, "Tun.start: device " + name_ + " is closed").ThrowAsJavaScriptException();
    } else if (reading_ || !on_packets_.IsEmpty()) {
      Napi::Error::New(env, "Tun.start: already started").ThrowAsJavaScriptException();
    } else if (info.Length() < 1 || !info[0].IsFunction()) {
      Napi::TypeError::New(env, "Tun.start(onPackets, onError?): onPackets must be a function")
          .ThrowAsJavaScriptException();
    } else {
      on_packets_ = Napi::Persistent(info[0].As<Napi::Function>());
      if (info.Length() > 1 && info[1].IsFunction()) on_error_ = Napi::Persistent(info[1].As<Napi::Function>());
      async_ = std::make_unique<Napi::AsyncContext>(env, "homeward_tun");
      reading_ = true;
      UpdatePoll();
    }
    return env.Undefined();
  }

  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray()) {
      Napi::TypeError::New(env, "Tun.write(pkt: Uint8Array)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (fd_ < 0) {
      Napi::Error e = Napi::Error::New(env, "Tun.write: device " + name_ + " is closed");
      e.Set("code", Napi::String::New(env, "ERR_TUN_CLOSED"));
      e.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
    const uint8_t* data = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    size_t len = ta.ByteLength();
    if (!queue_.empty()) return Napi::Number::New(env, Enqueue(data, len));
    ssize_t n = WritePacket(data, len);
    if (n >= 0) {
      Sent(len);
      return Napi::Number::New(env, 1);
    }
    int err = errno;
    if (Transient(err)) return Napi::Number::New(env, Enqueue(data, len));
    if (err == EBADF || err == EFAULT) {
      ErrnoError(env, "write(tun)", err).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    tx_dropped_++;  // the kernel refused this packet (EINVAL, EIO when down, ENOBUFS, ...)
    return Napi::Number::New(env, -err);
  }

  Napi::Value SetReading(const Napi::CallbackInfo& info) {
    paused_ = !(info.Length() > 0 && info[0].ToBoolean().Value());
    UpdatePoll();
    return info.Env().Undefined();
  }

  Napi::Value Mtu(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
      ErrnoError(env, "socket(AF_INET, SOCK_DGRAM)", errno).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, name_.data(), name_.size());
    int rc = ioctl(s, SIOCGIFMTU, &ifr);
    int err = errno;
    ::close(s);
    if (rc < 0) {
      ErrnoError(env, "ioctl(SIOCGIFMTU)", err).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::Number::New(env, ifr.ifr_mtu);
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("rxPackets", Napi::Number::New(env, rx_packets_));
    o.Set("rxBytes", Napi::Number::New(env, rx_bytes_));
    o.Set("txPackets", Napi::Number::New(env, tx_packets_));
    o.Set("txBytes", Napi::Number::New(env, tx_bytes_));
    o.Set("txDropped", Napi::Number::New(env, tx_dropped_));
    o.Set("txQueued", Napi::Number::New(env, static_cast<double>(queue_.size())));
    o.Set("rxDropped", Napi::Number::New(env, rx_dropped_));
    return o;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  void Sent(size_t len) {
    tx_packets_++;
    tx_bytes_ += static_cast<double>(len);
  }

  // Copies the packet into the bounded queue and waits for writability.
  int Enqueue(const uint8_t* data, size_t len) {
    if (queue_.size() >= kMaxQueue) {
      tx_dropped_++;
      return -EAGAIN;
    }
    queue_.emplace_back(data, data + len);
    UpdatePoll();
    return 0;
  }

  // Poll for readable while started, for writable while packets wait. The
  // object stays referenced (not collectable) while the handle is active.
  void UpdatePoll() {
    if (poll_ == nullptr) return;
    int events = (reading_ && !paused_ ? UV_READABLE : 0) | (queue_.empty() ? 0 : UV_WRITABLE);
    if (events == events_) return;
    if (events == 0) {
      uv_poll_stop(poll_);
    } else {
      uv_poll_start(poll_, events, OnPoll);
    }
    if (events_ == 0) Ref();
    if (events == 0) Unref();
    events_ = events;
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<Tun*>(handle->data);
    if (self == nullptr || self->fd_ < 0) return;
    Napi::HandleScope scope(self->env_);
    self->Ref();  // the JS callback may close and drop the last reference
    if (status < 0) {
      self->Fail("uv_poll", -status);
    } else {
      if (events & UV_WRITABLE) self->Flush();
      if ((events & UV_READABLE) && self->fd_ >= 0) self->ReadBatch();
    }
    self->Unref();
  }

  void Flush() {
    while (!queue_.empty() && fd_ >= 0) {
      const std::vector<uint8_t>& pkt = queue_.front();
      ssize_t n = WritePacket(pkt.data(), pkt.size());
      if (n < 0 && Transient(errno)) break;
      if (n < 0) tx_dropped_++;
      else Sent(pkt.size());
      queue_.pop_front();
    }
    UpdatePoll();
  }

  void ReadBatch() {
    Napi::Env env = env_;
    Napi::Array batch = Napi::Array::New(env);
    uint32_t count = 0;
    int err = 0;
    while (count < kMaxBatch) {
      if (slab_.IsEmpty() || kSlabSize - slab_used_ < kMaxPacket) {
        slab_ = Napi::Persistent(Napi::ArrayBuffer::New(env, kSlabSize));
        slab_used_ = 0;
      }
      Napi::ArrayBuffer slab = slab_.Value();
      uint8_t* at = static_cast<uint8_t*>(slab.Data()) + slab_used_;
      ssize_t n;
      off::VnetHdr h;
      if (vnet_) {
        uint8_t vh[off::kVnetHdr];
        iovec iov[2] = {{vh, sizeof vh}, {at, kMaxPacket}};
        n = ::readv(fd_, iov, 2);
        if (n >= 0 && n < static_cast<ssize_t>(off::kVnetHdr)) continue;  // never from a TUN; skip it
        if (n >= 0) {
          n -= static_cast<ssize_t>(off::kVnetHdr);
          h = off::ReadVnetHdr(vh);
        }
      } else {
        n = ::read(fd_, at, kMaxPacket);
      }
      if (n < 0) {
        if (!Transient(errno)) err = errno;
        break;
      }
      if (h.gso_type != off::kGsoNone) {
        // left over from the native data plane's offloads: segmented here, one
        // packet each (the data plane turns offloads off when it lets go of the fd)
        count = AddSegments(env, h, at, static_cast<size_t>(n), batch, count);
        continue;
      }
      if ((h.flags & off::kNeedsCsum) != 0) off::CompleteCsum(at, static_cast<size_t>(n), h.csum_start, h.csum_offset);
      batch.Set(count++, Napi::Uint8Array::New(env, static_cast<size_t>(n), slab, slab_used_));
      slab_used_ += (static_cast<size_t>(n) + 7) & ~static_cast<size_t>(7);
      rx_packets_++;
      rx_bytes_ += static_cast<double>(n);
    }
    if (count > 0) Deliver(on_packets_, batch);
    if (err != 0 && fd_ >= 0) Fail("read(tun)", err);
  }

  uint32_t AddSegments(Napi::Env env, const off::VnetHdr& h, const uint8_t* pkt, size_t len, Napi::Array batch, uint32_t count) {
    size_t hl = 0;
    off::SegError e;
    int k = off::SegmentCount(h, pkt, len, &hl, &e);
    if (k == 0 || k > 256) {
      rx_dropped_++;
      return count;
    }
    size_t stride = hl + h.gso_size;
    std::vector<uint8_t> buf(static_cast<size_t>(k) * stride);
    std::vector<size_t> lens(static_cast<size_t>(k));
    k = off::Segment(h, pkt, len, buf.data(), stride, lens.data(), k, &e);
    if (k == 0) rx_dropped_++;
    for (int i = 0; i < k; i++) {
      Napi::Uint8Array b = Napi::Uint8Array::New(env, lens[i]);
      std::memcpy(b.Data(), buf.data() + static_cast<size_t>(i) * stride, lens[i]);
      batch.Set(count++, b);
      rx_packets_++;
      rx_bytes_ += static_cast<double>(lens[i]);
    }
    return count;
  }

  // Reading failed for good: stop reading and tell JS once.
  void Fail(const char* syscall, int err) {
    reading_ = false;
    UpdatePoll();
    if (!on_error_.IsEmpty()) Deliver(on_error_, ErrnoError(env_, syscall, err).Value());
  }

  void Deliver(Napi::FunctionReference& fn, napi_value arg) {
    if (fn.IsEmpty() || !async_) return;
    Napi::Function f = fn.Value();
    f.MakeCallback(env_.Global(), {arg}, *async_);
    if (env_.IsExceptionPending()) {
      Napi::Error e = env_.GetAndClearPendingException();
      napi_fatal_exception(env_, e.Value());  // an uncaught exception, as from any I/O callback
    }
  }

  void Shutdown() {
    reading_ = false;
    queue_.clear();
    if (poll_ != nullptr) {
      if (events_ != 0) {
        uv_poll_stop(poll_);
        events_ = 0;
        Unref();
      }
      poll_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    if (!on_packets_.IsEmpty()) on_packets_.Reset();
    if (!on_error_.IsEmpty()) on_error_.Reset();
    if (!slab_.IsEmpty()) slab_.Reset();
  }

  Napi::Env env_;
  int fd_ = -1;
  std::string name_;
  uv_poll_t* poll_ = nullptr;
  int events_ = 0;
  bool reading_ = false;
  bool paused_ = false;  // setReading(false): another reader owns the fd
  Napi::FunctionReference on_packets_;
  Napi::FunctionReference on_error_;
  std::unique_ptr<Napi::AsyncContext> async_;
  Napi::Reference<Napi::ArrayBuffer> slab_;
  size_t slab_used_ = 0;
  std::deque<std::vector<uint8_t>> queue_;
  double rx_packets_ = 0, rx_bytes_ = 0, tx_packets_ = 0, tx_bytes_ = 0, tx_dropped_ = 0, rx_dropped_ = 0;
  bool vnet_ = false;  // IFF_VNET_HDR: a virtio_net_hdr before every packet
};

Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return Tun::Init(env, exports); }

}  // namespace

NODE_API_MODULE(homeward_tun, InitModule)
