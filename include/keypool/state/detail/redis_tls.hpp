#pragma once
/// TLS to Redis (rediss://) over OpenSSL, for a hiredis without TLS (Debian's
/// 0.14): the backend's connection talks RESP to one end of a socketpair, as
/// if it were the server, and a relay thread per connection carries the bytes
/// through a verified TLS session to the real server. Built when
/// KEYPOOL_REDIS_TLS is 1 (the keypool::redis target sets it when OpenSSL is
/// found, and links it); otherwise rediss:// is refused.

#include <chrono>
#include <string>

#ifndef KEYPOOL_REDIS_TLS
#define KEYPOOL_REDIS_TLS 0
#endif

#if KEYPOOL_REDIS_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>
#endif

namespace keypool::state::detail {

/// How a connection is secured.
struct tls_settings {
  bool enabled = false;
  std::string ca_file;  ///< PEM CA bundle; empty: the system's trust store
  bool verify = true;   ///< check the chain and that the certificate names the host
};

#if KEYPOOL_REDIS_TLS

/// One TLS session relayed to a socketpair end. open() hands out the end for
/// hiredis (redisConnectFd owns it); stop() (or the destructor) ends the
/// relay and joins its thread.
class tls_tunnel {
 public:
  tls_tunnel() = default;
  tls_tunnel(const tls_tunnel&) = delete;
  tls_tunnel& operator=(const tls_tunnel&) = delete;
  ~tls_tunnel() { stop(); }

  /// Connects, completes a verified handshake within `timeout`, starts the
  /// relay. The fd for hiredis, or -1 with `error` set.
  int open(const std::string& host, int port, const tls_settings& t, std::chrono::milliseconds timeout,
           std::string& error) {
    stop();
    io_timeout_ = timeout;
    tcp_ = connect_tcp(host, port, timeout, error);
    if (tcp_ < 0) return -1;
    if (!handshake(host, t, error)) {
      stop();
      return -1;
    }
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
      error = "TLS: socketpair failed";
      stop();
      return -1;
    }
    relay_end_ = pair[1];
    try {
      thread_ = std::thread([this] { relay(); });
    } catch (...) {
      ::close(pair[0]);
      error = "TLS: cannot start the relay thread";
      stop();
      return -1;
    }
    return pair[0];
  }

  void stop() noexcept {
    if (tcp_ >= 0) ::shutdown(tcp_, SHUT_RDWR);  // wakes the relay
    if (relay_end_ >= 0) ::shutdown(relay_end_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    ssl_ = nullptr;
    ctx_ = nullptr;
    for (int* fd : {&tcp_, &relay_end_}) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
  }

 private:
  static int connect_tcp(const std::string& host, int port, std::chrono::milliseconds timeout, std::string& error) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string where = host + ":" + std::to_string(port);
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res) {
      error = "connect " + where + ": cannot resolve the host";
      return -1;
    }
    int fd = -1;
    for (addrinfo* a = res; a && fd < 0; a = a->ai_next) {
      fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
      if (fd < 0) continue;
      if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
        pollfd p{fd, POLLOUT, 0};
        int err = 0;
        socklen_t len = sizeof err;
        if (errno != EINPROGRESS || ::poll(&p, 1, static_cast<int>(timeout.count())) != 1 ||
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
          ::close(fd);
          fd = -1;
        }
      }
    }
    ::freeaddrinfo(res);
    if (fd < 0) {
      error = "connect " + where + ": cannot connect";
      return -1;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    // Bounds the handshake, and a relay read from a server that went silent.
    timeval tv{static_cast<decltype(tv.tv_sec)>(timeout.count() / 1000),
               static_cast<decltype(tv.tv_usec)>(timeout.count() % 1000 * 1000)};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
  }

  bool handshake(const std::string& host, const tls_settings& t, std::string& error) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!ctx_) return fail("TLS: cannot create a context", error);
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    if (t.verify) {
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
      const bool loaded = t.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx_) == 1
                                            : SSL_CTX_load_verify_locations(ctx_, t.ca_file.c_str(), nullptr) == 1;
      if (!loaded) return fail("TLS: cannot read the CA file", error);
    }
    ssl_ = SSL_new(ctx_);
    if (!ssl_) return fail("TLS: cannot create a session", error);
    in6_addr a6{};
    in_addr a4{};
    const bool is_ip = ::inet_pton(AF_INET, host.c_str(), &a4) == 1 || ::inet_pton(AF_INET6, host.c_str(), &a6) == 1;
    if (!is_ip) SSL_set_tlsext_host_name(ssl_, host.c_str());
    if (t.verify) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
      const int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                           : X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
      if (ok != 1) return fail("TLS: cannot set the name to verify", error);
    }
    SSL_set_fd(ssl_, tcp_);
    if (SSL_connect(ssl_) != 1) {
      const long v = SSL_get_verify_result(ssl_);
      if (v != X509_V_OK)
        return fail(std::string("TLS: certificate refused (") + X509_verify_cert_error_string(v) + ")", error);
      return fail("TLS: handshake failed", error);
    }
    return true;
  }

  static bool fail(const std::string& why, std::string& error) {
    ERR_clear_error();
    error = why;
    return false;
  }

  /// Carries bytes both ways until either side closes or fails. The TLS
  /// socket is non-blocking, so records that carry no data (TLS 1.3 session
  /// tickets) never hold up the other direction.
  void relay() noexcept {
    sigset_t set;  // a write to a closed peer fails with EPIPE here, never kills
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    ::fcntl(tcp_, F_SETFL, ::fcntl(tcp_, F_GETFL) | O_NONBLOCK);
    char buf[16384];
    for (bool open = true; open;) {
      pollfd p[2] = {{tcp_, POLLIN, 0}, {relay_end_, POLLIN, 0}};
      if (SSL_pending(ssl_) == 0 && ::poll(p, 2, -1) < 0 && errno != EINTR) break;
      if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
        const auto n = ::read(relay_end_, buf, sizeof buf);
        open = n > 0 && ssl_write_all(buf, static_cast<std::size_t>(n));
      }
      for (;;) {  // everything TLS has for us now
        const int n = open ? SSL_read(ssl_, buf, sizeof buf) : 0;
        if (n > 0) {
          open = write_all(relay_end_, buf, static_cast<std::size_t>(n));
          continue;
        }
        if (open && SSL_get_error(ssl_, n) != SSL_ERROR_WANT_READ) open = false;
        break;
      }
    }
    ERR_clear_error();
    ::shutdown(relay_end_, SHUT_RDWR);  // hiredis sees EOF
  }

  /// SSL_write of all of `p`, waiting (bounded by the socket's timeout
  /// value, as poll()) while the socket is full.
  bool ssl_write_all(const char* p, std::size_t n) noexcept {
    while (n > 0) {
      const int w = SSL_write(ssl_, p, static_cast<int>(n));
      if (w > 0) {
        p += w;
        n -= static_cast<std::size_t>(w);
        continue;
      }
      const int e = SSL_get_error(ssl_, w);
      if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) return false;
      pollfd q{tcp_, static_cast<short>(e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN), 0};
      if (::poll(&q, 1, static_cast<int>(io_timeout_.count())) != 1) return false;
    }
    return true;
  }

  static bool write_all(int fd, const char* p, std::size_t n) noexcept {
    while (n > 0) {
      const auto w = ::send(fd, p, n, MSG_NOSIGNAL);
      if (w <= 0) return false;
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }

  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::chrono::milliseconds io_timeout_{250};
  int tcp_ = -1, relay_end_ = -1;
  std::thread thread_;
};

#endif

}  // namespace keypool::state::detail
