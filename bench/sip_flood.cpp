// A one-source SIP flood for bench/run-sip-flood.sh: INVITEs without credentials (each of which,
// unlimited, would cost privox a parse, a nonce and a 407) from one address at a fixed rate, sent
// in sendmmsg batches so the flooder is not what limits the rate.
//   privox_sip_flood DEST_IP DEST_PORT SOURCE_IP RATE SECONDS
// Prints "SENT requests in S s: R/s" when done.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s DEST_IP DEST_PORT SOURCE_IP RATE SECONDS\n", argv[0]);
    return 2;
  }
  const char* dest_ip = argv[1];
  const int dest_port = std::atoi(argv[2]);
  const char* source_ip = argv[3];
  const double rate = std::atof(argv[4]);
  const double seconds = std::atof(argv[5]);

  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return std::perror("socket"), 1;
  int sndbuf = 8 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source_ip, &local.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) return std::perror("bind"), 1;
  socklen_t len = sizeof local;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
  sockaddr_in dest{};
  dest.sin_family = AF_INET;
  dest.sin_port = htons(static_cast<uint16_t>(dest_port));
  ::inet_pton(AF_INET, dest_ip, &dest.sin_addr);

  constexpr size_t kKinds = 1024, kBatch = 64;
  std::vector<std::string> packets;
  for (size_t i = 0; i < kKinds; ++i) {
    packets.push_back("INVITE sip:303@" + std::string(dest_ip) + ":" + std::to_string(dest_port) +
                      " SIP/2.0\r\nVia: SIP/2.0/UDP " + source_ip + ":" + std::to_string(ntohs(local.sin_port)) +
                      ";branch=z9hG4bK-f" + std::to_string(i) + "\r\nFrom: <sip:flood@" + source_ip + ">;tag=f" +
                      std::to_string(i) + "\r\nTo: <sip:303@" + dest_ip + ">\r\nCall-ID: flood" + std::to_string(i) +
                      "@" + source_ip + "\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n");
  }
  std::vector<iovec> iov(kBatch);
  std::vector<mmsghdr> msgs(kBatch);

  using Clock = std::chrono::steady_clock;
  const auto began = Clock::now();
  uint64_t sent = 0;
  for (;;) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - began).count();
    if (elapsed >= seconds) break;
    const auto due = static_cast<uint64_t>(elapsed * rate);
    while (sent < due) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kBatch, due - sent));
      for (size_t i = 0; i < n; ++i) {
        const std::string& p = packets[(sent + i) % kKinds];
        iov[i] = {const_cast<char*>(p.data()), p.size()};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_name = &dest;
        msgs[i].msg_hdr.msg_namelen = sizeof dest;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      const int done = ::sendmmsg(fd, msgs.data(), static_cast<unsigned>(n), 0);
      if (done <= 0) break;
      sent += static_cast<uint64_t>(done);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const double took = std::chrono::duration<double>(Clock::now() - began).count();
  std::printf("%llu requests in %.1f s: %.0f/s\n", static_cast<unsigned long long>(sent), took,
              static_cast<double>(sent) / took);
  ::close(fd);
  return 0;
}
