#pragma once
/// A thin RAII wrapper over one blocking hiredis connection, used by exactly
/// one thread at a time (the writer, the subscriber, or a caller of the
/// budget API under its mutex). Every command is bounded by the command
/// timeout; an I/O error or timeout closes the connection so the owner
/// reconnects with backoff instead of reusing a half-dead socket.

#include <keypool/state/detail/redis_tls.hpp>

#include <hiredis/hiredis.h>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keypool::state::detail {

struct reply_deleter {
  void operator()(redisReply* r) const noexcept {
    if (r) freeReplyObject(r);
  }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

/// Where and how to connect.
struct redis_endpoint {
  std::string host;
  int port = 6379;
  std::string username;
  std::string password;
  int database = 0;
  std::chrono::milliseconds connect_timeout{250};
  std::chrono::milliseconds command_timeout{250};
  /// CLIENT SETNAME after connecting (e.g. "keypool:<ns>:writer:<instance>"),
  /// so an operator sees in CLIENT LIST which connection is which; empty: none.
  std::string client_name;
  tls_settings tls;
};

/// The error code of a Redis error reply ("WRONGPASS", "NOPERM", "READONLY"):
/// its leading upper-case word, which never carries an argument we sent.
inline std::string_view error_code(std::string_view reply) noexcept {
  std::size_t n = 0;
  while (n < reply.size() && n < 32 && ((reply[n] >= 'A' && reply[n] <= 'Z') || reply[n] == '_')) ++n;
  return reply.substr(0, n);
}

inline timeval to_timeval(std::chrono::milliseconds d) noexcept {
  const auto ms = d.count() < 1 ? 1 : d.count();
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms % 1000) * 1000);
  return tv;
}

/// Blocks SIGPIPE for the calling thread (the backend's own threads call it
/// first): a write to a connection the server (or the TLS relay) closed must
/// fail with EPIPE, not kill the process, whatever the application's handler.
inline void block_sigpipe() noexcept {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

inline std::string_view reply_text(const redisReply* r) noexcept {
  if (!r || !r->str) return {};
  return {r->str, static_cast<std::size_t>(r->len)};
}

class redis_connection {
 public:
  redis_connection() = default;
  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;
  ~redis_connection() { close(); }

  /// Connects, authenticates and selects the database. False, with `error`
  /// set, on any failure (the connection is then closed).
  bool open(const redis_endpoint& ep, std::string& error) {
    close();
    if (!connect(ep, error)) return false;
    redisSetTimeout(ctx_, to_timeval(ep.command_timeout));
    if (!ep.password.empty()) {
      auto r = ep.username.empty() ? command({"AUTH", ep.password}, error)
                                   : command({"AUTH", ep.username, ep.password}, error);
      // The server's answer is not repeated: only its error code, so that a
      // server (or proxy) that echoes what it got cannot leak the password.
      if (r && r->type == REDIS_REPLY_ERROR) {
        const auto code = error_code(reply_text(r.get()));
        error = "authentication refused" + (code.empty() ? std::string() : " (" + std::string(code) + ")");
        close();
        return false;
      }
      if (!r) return false;
    }
    if (ep.database != 0) {
      const std::string db = std::to_string(ep.database);
      auto r = command({"SELECT", db}, error);
      if (!expect_ok(r, "SELECT", error)) return false;
    }
    if (!ep.client_name.empty()) {
      auto r = command({"CLIENT", "SETNAME", ep.client_name}, error);
      if (!r) return false;  // an error reply (CLIENT not permitted) is harmless
    }
    return true;
  }

  bool ok() const noexcept { return ctx_ && ctx_->err == 0; }

  /// Whether an idle connection (no command outstanding) has been closed by
  /// the server or reset: its socket then reads as ready (EOF) without our
  /// having asked anything. Closes it if so. Costs one poll(), no round trip.
  bool closed_by_peer() noexcept {
    if (!ok()) return true;
    pollfd p{ctx_->fd, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) == 0) return false;
    close();
    return true;
  }
  int fd() const noexcept { return ctx_ ? ctx_->fd : -1; }
  redisContext* get() const noexcept { return ctx_; }

  void close() noexcept {
    if (ctx_) redisFree(ctx_);
    ctx_ = nullptr;
#if KEYPOOL_REDIS_TLS
    tunnel_.reset();
#endif
  }

  /// One command, binary safe. Null on an I/O error or timeout (the
  /// connection is closed and `error` says why); a Redis error reply is
  /// returned as a reply, the connection stays usable.
  reply_ptr command(std::initializer_list<std::string_view> args, std::string& error) {
    return command(args.begin(), args.size(), error);
  }
  reply_ptr command(const std::vector<std::string>& args, std::string& error) {
    std::vector<std::string_view> v(args.begin(), args.end());
    return command(v.data(), v.size(), error);
  }
  reply_ptr command(const std::string_view* args, std::size_t n, std::string& error) {
    if (!ok()) {
      error = "not connected";
      return nullptr;
    }
    std::vector<const char*> argv(n);
    std::vector<std::size_t> lens(n);
    for (std::size_t i = 0; i < n; ++i) {
      argv[i] = args[i].data();
      lens[i] = args[i].size();
    }
    void* raw = redisCommandArgv(ctx_, static_cast<int>(n), argv.data(), lens.data());
    if (!raw) {
      io_failed(error);
      return nullptr;
    }
    return reply_ptr(static_cast<redisReply*>(raw));
  }

  /// Several commands in one round trip: one reply each, in order. Empty on
  /// an I/O error or timeout (the connection is closed, `error` says why).
  std::vector<reply_ptr> pipeline(const std::vector<std::vector<std::string_view>>& cmds, std::string& error) {
    std::vector<reply_ptr> out;
    if (!ok()) {
      error = "not connected";
      return out;
    }
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& cmd : cmds) {
      argv.clear();
      lens.clear();
      for (const auto& a : cmd) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      }
      if (redisAppendCommandArgv(ctx_, static_cast<int>(cmd.size()), argv.data(), lens.data()) != REDIS_OK) {
        io_failed(error);
        return out;
      }
    }
    out.reserve(cmds.size());
    for (std::size_t i = 0; i < cmds.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(ctx_, &raw) != REDIS_OK || !raw) {
        io_failed(error);
        out.clear();
        return out;
      }
      out.emplace_back(static_cast<redisReply*>(raw));
    }
    return out;
  }

 private:
  /// The TCP (or TLS, through a tls_tunnel) connection itself.
  bool connect(const redis_endpoint& ep, std::string& error) {
    if (ep.tls.enabled) {
#if KEYPOOL_REDIS_TLS
      tunnel_ = std::make_unique<tls_tunnel>();
      const int fd = tunnel_->open(ep.host, ep.port, ep.tls, ep.connect_timeout, error);
      if (fd < 0) {
        tunnel_.reset();
        return false;
      }
      ctx_ = redisConnectFd(fd);  // owns fd; keep-alive is on the TLS socket
#else
      error = "rediss:// (TLS): keypool was built without OpenSSL (KEYPOOL_REDIS_TLS)";
      return false;
#endif
    } else {
      ctx_ = redisConnectWithTimeout(ep.host.c_str(), ep.port, to_timeval(ep.connect_timeout));
    }
    if (!ctx_) {
      error = "cannot allocate a redis context";
      close();
      return false;
    }
    if (ctx_->err) {
      error = std::string("connect ") + ep.host + ":" + std::to_string(ep.port) + ": " + ctx_->errstr;
      close();
      return false;
    }
    if (!ep.tls.enabled) redisEnableKeepAlive(ctx_);
    return true;
  }

  /// Closes after an I/O error or timeout; says why in `error`.
  void io_failed(std::string& error) {
    error = ctx_->errstr[0] ? std::string(ctx_->errstr) : std::string("redis I/O error");
    if (error == "Resource temporarily unavailable") error = "command timed out";
    close();
  }

  bool expect_ok(const reply_ptr& r, const char* what, std::string& error) {
    if (!r) return false;
    if (r->type == REDIS_REPLY_ERROR) {
      error = std::string(what) + ": " + std::string(reply_text(r.get()));
      close();
      return false;
    }
    return true;
  }

  redisContext* ctx_ = nullptr;
#if KEYPOOL_REDIS_TLS
  std::unique_ptr<tls_tunnel> tunnel_;  // after ctx_: its end closes first
#endif
};

}  // namespace keypool::state::detail
