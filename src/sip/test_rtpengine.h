#pragma once
// A real rtpengine for unit tests (Debian's rtpengine-daemon, userspace forwarding only): started on
// a free ng port of 127.0.0.1 and a media port range of its own among tests running in parallel,
// stopped when this goes out of scope. --config-file=none keeps Debian's /etc/rtpengine/rtpengine.conf
// out: its fixed CLI and HTTP ports would stop a second rtpengine from starting beside the first.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <random>
#include <string>
#include <vector>

extern char** environ;

namespace privox::sip {

class TestRtpengine {
 public:
  TestRtpengine() {
    namespace asio = boost::asio;
    {
      asio::io_context io;
      asio::ip::udp::socket s(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
      port_ = s.local_endpoint().port();
    }
    std::mt19937 random(std::random_device{}());
    const int min = 40'000 + static_cast<int>(random() % 200) * 100;
    std::vector<std::string> args = {"rtpengine", "--config-file=none", "--foreground", "--table=-1", "--interface=127.0.0.1",
                                     "--listen-ng=127.0.0.1:" + std::to_string(port_),
                                     "--port-min=" + std::to_string(min), "--port-max=" + std::to_string(min + 99),
                                     "--num-threads=1", "--log-stderr", "--log-level=3", "--delete-delay=0"};
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    started_ = posix_spawnp(&pid_, "rtpengine", nullptr, nullptr, argv.data(), environ) == 0;
  }
  ~TestRtpengine() {
    if (!started_) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  TestRtpengine(const TestRtpengine&) = delete;
  TestRtpengine& operator=(const TestRtpengine&) = delete;

  // False when rtpengine could not be run (not installed: `make test-deps`).
  bool started() const { return started_; }
  uint16_t port() const { return port_; }

 private:
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool started_ = false;
};

}  // namespace privox::sip
