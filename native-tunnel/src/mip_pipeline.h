// The Node side of mip_pass.h: what dataplane.cc needs to carry the mode-mc
// Mobile IP tunnel on its threads, kept out of dataplane.cc (which only calls
// these at three points: the tx read, the rx write, setMip/clearMip).
//
//   dp.setMip({tunFd, hoa, coa, ha, mtu?})   install (or replace) the tunnel: the
//       tx thread reads tunFd (the home-address TUN) from now on, the rx thread
//       writes the HA's tunnelled packets there. The descriptor is dup()ed: the
//       threads hold their own copy until they let go of the config, so the JS
//       side may close its TUN right after clearMip().
//   dp.clearMip()                            remove it (JS reads the TUN again)
//   dp.stats().mip -> {installed, tunIn, out, in, tooBigIcmp, drops: {…}}
//
// And, for the unit tests (no TUN, no thread; the same functions the threads run):
//   mipEncapsulate(inner, {hoa, coa, ha, mtu?, id?}) -> {packet} | {drop, icmp?}
//   mipDecapsulate(outer, {hoa, coa, ha})  -> {offset, length} | 'not-ours' | drop
#pragma once

#include <napi.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>

#include "mip_pass.h"

namespace homeward {

// An installed tunnel as the threads see it.
struct MipInstalled {
  MipTunnelConfig cfg;
  int fd = -1;  // our dup of the home-address TUN's descriptor
  bool vnet = false;      // the TUN has IFF_VNET_HDR: a virtio_net_hdr before every packet (tun_offload.h)
  bool offloads = false;  // TUNSETOFFLOAD(CSUM|TSO4) took: TSO super-packets arrive; off again when we let go
  MipInstalled() = default;
  MipInstalled(const MipInstalled&) = delete;
  MipInstalled& operator=(const MipInstalled&) = delete;
  ~MipInstalled() {
    if (offloads) ioctl(fd, TUNSETOFFLOAD, 0UL);  // the JS reader (tun.cc) gets plain packets again
    if (fd >= 0) ::close(fd);
  }
};

inline bool MipAddr(Napi::Env env, Napi::Object o, const char* field, uint32_t* out) {
  Napi::Value v = o.Get(field);
  in_addr a{};
  if (!v.IsString() || inet_pton(AF_INET, v.As<Napi::String>().Utf8Value().c_str(), &a) != 1) {
    Napi::TypeError::New(env, std::string(field) + " must be a dotted IPv4 address").ThrowAsJavaScriptException();
    return false;
  }
  *out = ntohl(a.s_addr);
  return true;
}

// {hoa, coa, ha, mtu?}; throws a TypeError naming the bad field and returns false.
inline bool MipConfigFromJs(Napi::Env env, Napi::Value v, MipTunnelConfig* c) {
  if (!v.IsObject()) {
    Napi::TypeError::New(env, "MIP tunnel options must be an object {hoa, coa, ha, mtu?}").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Object o = v.As<Napi::Object>();
  if (!MipAddr(env, o, "hoa", &c->hoa) || !MipAddr(env, o, "coa", &c->coa) || !MipAddr(env, o, "ha", &c->ha)) return false;
  Napi::Value mtu = o.Get("mtu");
  if (!mtu.IsUndefined()) {
    double d = mtu.IsNumber() ? mtu.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && d <= 65535)) {
      Napi::RangeError::New(env, "mtu must be 0..65535").ThrowAsJavaScriptException();
      return false;
    }
    c->mtu = static_cast<size_t>(d);
  }
  return true;
}

// setMip's argument: the config and a dup of tunFd.
inline std::shared_ptr<MipInstalled> MipInstallFromJs(Napi::Env env, Napi::Value v) {
  auto m = std::make_shared<MipInstalled>();
  if (!MipConfigFromJs(env, v, &m->cfg)) return nullptr;
  Napi::Value fd = v.As<Napi::Object>().Get("tunFd");
  if (!fd.IsNumber() || fd.As<Napi::Number>().Int32Value() < 0) {
    Napi::TypeError::New(env, "tunFd must be the home-address TUN's descriptor").ThrowAsJavaScriptException();
    return nullptr;
  }
  m->fd = fcntl(fd.As<Napi::Number>().Int32Value(), F_DUPFD_CLOEXEC, 0);
  if (m->fd < 0) {
    Napi::Error::New(env, std::string("setMip: dup(tunFd) failed: ") + std::strerror(errno)).ThrowAsJavaScriptException();
    return nullptr;
  }
  ifreq ifr{};
  if (ioctl(m->fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_VNET_HDR)) {
    m->vnet = true;
    m->offloads = ioctl(m->fd, TUNSETOFFLOAD, static_cast<unsigned long>(TUN_F_CSUM | TUN_F_TSO4)) == 0;
  }
  return m;
}

inline Napi::Object MipStatsToJs(Napi::Env env, const MipCounters& c, bool installed) {
  Napi::Object o = Napi::Object::New(env);
  auto n = [&](const char* k, const std::atomic<uint64_t>& v) { o.Set(k, Napi::Number::New(env, static_cast<double>(v.load(std::memory_order_relaxed)))); };
  o.Set("installed", Napi::Boolean::New(env, installed));
  n("tunIn", c.tun_in);
  n("out", c.out);
  n("in", c.in);
  n("tooBigIcmp", c.too_big_icmp);
  Napi::Object d = Napi::Object::New(env);
  for (int i = 0; i < static_cast<int>(MipDrop::kCount); i++)
    d.Set(MipDropName(static_cast<MipDrop>(i)), Napi::Number::New(env, static_cast<double>(c.drops[i].load(std::memory_order_relaxed))));
  o.Set("drops", d);
  return o;
}

// One packet into the home-address TUN (non-blocking: one short wait when it is full).
inline bool MipWrite(const MipInstalled& m, const uint8_t* p, size_t n) {
  uint8_t vh[10] = {0};  // IFF_VNET_HDR: no offload for this packet
  iovec iov[2] = {{vh, sizeof vh}, {const_cast<uint8_t*>(p), n}};
  const int first = m.vnet ? 0 : 1;
  ssize_t w = ::writev(m.fd, iov + first, 2 - first);
  if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    pollfd pf{m.fd, POLLOUT, 0};
    poll(&pf, 1, 10);
    w = ::writev(m.fd, iov + first, 2 - first);
  }
  return w >= 0;
}

// Outbound on the tx thread: the packet read from hwmip0 at slot + kMipOuter
// (len bytes) becomes the outer packet at slot; its length, 0 when dropped
// (counted; a DF packet too big is answered into hwmip0).
inline size_t MipOutbound(const MipInstalled& m, MipCounters& c, uint8_t* slot, size_t len, uint16_t* next_id) {
  uint8_t icmp[20 + 8 + 60 + 8];
  size_t icmp_len = 0;
  int r = MipEncap(m.cfg, slot, len, *next_id, icmp, &icmp_len);
  if (r < 0) {
    c.drops[-1 - r]++;
    if (icmp_len > 0) {
      if (MipWrite(m, icmp, icmp_len)) c.too_big_icmp++;
      else c.drops[static_cast<int>(MipDrop::kTunWrite)]++;
    }
    return 0;
  }
  if ((slot[6] & 0x40) == 0) (*next_id)++;
  c.out++;
  return static_cast<size_t>(r);
}

// Inbound on the rx thread, after the ESP open: true when the packet was the
// tunnel's (written to hwmip0 or dropped, counted); false: the VPN TUN's.
// The HA's tunnel after the ESP open: false if the packet is not ours (to the
// VPN TUN); true if it is, with *inner/*n the packet for the home-address TUN
// (*n == 0: dropped, counted). The caller writes it (coalesced: dataplane.cc).
inline bool MipInbound(const MipInstalled* m, MipCounters& c, uint8_t* p, size_t len, uint8_t** inner, size_t* n) {
  *n = 0;
  if (m == nullptr || !MipClaims(m->cfg, p, len)) return false;
  size_t off = 0;
  int r = MipDecap(m->cfg, p, len, &off, n);
  if (r >= 0) {
    c.drops[r]++;
    *n = 0;
    return true;
  }
  *inner = p + off;
  return true;
}

// ── the unit tests' entry points ──

inline bool MipBytes(Napi::Value v, uint8_t** data, size_t* len) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) return false;
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  *data = a.Data();
  *len = a.ByteLength();
  return true;
}

inline Napi::Value MipEncapsulateJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* inner = nullptr;
  size_t len = 0;
  MipTunnelConfig cfg;
  if (info.Length() < 2 || !MipBytes(info[0], &inner, &len)) {
    Napi::TypeError::New(env, "mipEncapsulate(inner: Uint8Array, {hoa, coa, ha, mtu?, id?})").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!MipConfigFromJs(env, info[1], &cfg)) return env.Undefined();
  Napi::Value idv = info[1].As<Napi::Object>().Get("id");
  uint16_t id = idv.IsNumber() ? static_cast<uint16_t>(idv.As<Napi::Number>().Uint32Value()) : 0;
  if (len > 0xffff) return Napi::String::New(env, "too-big");
  std::unique_ptr<uint8_t[]> buf(new uint8_t[kMipOuter + len]);
  std::memcpy(buf.get() + kMipOuter, inner, len);
  uint8_t icmp[20 + 8 + 60 + 8];
  size_t icmp_len = 0;
  int r = MipEncap(cfg, buf.get(), len, id, icmp, &icmp_len);
  Napi::Object o = Napi::Object::New(env);
  if (r < 0) {
    o.Set("drop", Napi::String::New(env, MipDropName(static_cast<MipDrop>(-1 - r))));
    if (icmp_len > 0) o.Set("icmp", Napi::Uint8Array::New(env, icmp_len));
    if (icmp_len > 0) std::memcpy(o.Get("icmp").As<Napi::Uint8Array>().Data(), icmp, icmp_len);
    return o;
  }
  Napi::Uint8Array out = Napi::Uint8Array::New(env, static_cast<size_t>(r));
  std::memcpy(out.Data(), buf.get(), static_cast<size_t>(r));
  o.Set("packet", out);
  return o;
}

inline Napi::Value MipDecapsulateJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* p = nullptr;
  size_t len = 0;
  MipTunnelConfig cfg;
  if (info.Length() < 2 || !MipBytes(info[0], &p, &len)) {
    Napi::TypeError::New(env, "mipDecapsulate(outer: Uint8Array, {hoa, coa, ha})").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!MipConfigFromJs(env, info[1], &cfg)) return env.Undefined();
  if (!MipClaims(cfg, p, len)) return Napi::String::New(env, "not-ours");
  size_t off = 0, n = 0;
  int r = MipDecap(cfg, p, len, &off, &n);
  if (r >= 0) return Napi::String::New(env, MipDropName(static_cast<MipDrop>(r)));
  Napi::Object o = Napi::Object::New(env);
  o.Set("offset", Napi::Number::New(env, static_cast<double>(off)));
  o.Set("length", Napi::Number::New(env, static_cast<double>(n)));
  return o;
}

}  // namespace homeward
