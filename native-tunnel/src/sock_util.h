// Small socket helpers shared by the addons (dataplane.cc, ha_forward.cc,
// raw_socket.cc). Header-only: each addon is its own shared object.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sockutil {

// Grow a socket's receive and send buffers to `want` bytes, as wireguard-go
// does: the kernel's default receive buffer (208 KiB here) overflows under one
// TCP stream (UdpRcvbufErrors ≈ the sender's retransmissions;
// docs/PERFORMANCE.md). As root SO_*BUFFORCE passes net.core.rmem_max /
// wmem_max; otherwise the plain option gets what the limit allows. Kernel
// memory, used only while datagrams wait: nothing is allocated up front.
// Returns the sizes granted (as getsockopt reports them, 0 if unreadable).
struct Granted {
  uint64_t rcvbuf = 0;
  uint64_t sndbuf = 0;
};

inline Granted GrowBuffers(int fd, int want) {
  Granted g;
  if (fd < 0) return g;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) != 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof want) != 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof want);
  int got = 0;
  socklen_t gl = sizeof got;
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl) == 0) g.rcvbuf = static_cast<uint64_t>(got);
  gl = sizeof got;
  if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &got, &gl) == 0) g.sndbuf = static_cast<uint64_t>(got);
  return g;
}

// Fill one sendmmsg slot for a raw IPv4 packet: the destination is the
// packet's own header destination (bytes 16..19), one iovec over the packet.
// `addr` and `iov` must outlive the sendmmsg call.
inline void FillRawSlot(mmsghdr* msg, iovec* iov, sockaddr_in* addr, uint8_t* packet, size_t length) {
  *addr = sockaddr_in{};
  addr->sin_family = AF_INET;
  std::memcpy(&addr->sin_addr, packet + 16, 4);
  *iov = {packet, length};
  msg->msg_hdr = msghdr{};
  msg->msg_hdr.msg_name = addr;
  msg->msg_hdr.msg_namelen = sizeof *addr;
  msg->msg_hdr.msg_iov = iov;
  msg->msg_hdr.msg_iovlen = 1;
}

}  // namespace sockutil
