#pragma once
/// A throwaway redis-server on a free 127.0.0.1 port, in a temp dir, with
/// persistence off. Tests (and the benchmark) start one, may kill and
/// restart it on the same port, and it is stopped and removed at the end.

#include <hiredis/hiredis.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace keypool_test {

/// Full path of redis-server, or empty when it is not installed.
inline std::string find_redis_server() {
  if (const char* env = std::getenv("KEYPOOL_REDIS_SERVER"); env && *env) return env;
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  p += ":/usr/sbin:/sbin";
  std::size_t start = 0;
  while (start <= p.size()) {
    const auto end = p.find(':', start);
    const std::string dir = p.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!dir.empty()) {
      const std::string cand = dir + "/redis-server";
      if (::access(cand.c_str(), X_OK) == 0) return cand;
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return {};
}

/// A port nobody listens on right now (bind to 0, read it back).
inline int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    socklen_t len = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

class redis_server {
 public:
  redis_server() : binary_(find_redis_server()) {
    if (binary_.empty()) return;
    char tmpl[] = "/tmp/keypool_redis_XXXXXX";
    if (!::mkdtemp(tmpl)) return;
    dir_ = tmpl;
    port_ = free_loopback_port();
  }
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;
  ~redis_server() {
    stop();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  bool available() const { return !binary_.empty(); }
  static std::string missing_message() {
    return "redis-server not found (install Debian's redis-server package, or set "
           "KEYPOOL_REDIS_SERVER): Redis tests skipped";
  }
  int port() const { return port_; }
  /// Extra command-line arguments for the next start (e.g. {"--replicaof",
  /// "127.0.0.1", "6379"}, {"--cluster-enabled", "yes"}).
  std::vector<std::string> extra_args;
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  /// Starts (or restarts on the same port) and waits until it answers PING.
  /// A first start that loses its port to another process (tests run in
  /// parallel) tries again on a new one.
  bool start(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (start_once(timeout)) {
        started_once_ = true;
        return true;
      }
      if (started_once_ || binary_.empty()) return false;
      port_ = free_loopback_port();
    }
    return false;
  }

 private:
  bool start_once(std::chrono::milliseconds timeout) {
    if (binary_.empty() || port_ == 0 || pid_ > 0) return pid_ > 0;
    const std::string port = std::to_string(port_), log = dir_ + "/redis.log";
    const pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
      ::setpgid(0, 0);
      std::vector<const char*> argv = {binary_.c_str(),    "--port",    port.c_str(),   "--bind",      "127.0.0.1",
                                       "--save",           "",          "--appendonly", "no",          "--dir",
                                       dir_.c_str(),       "--logfile", log.c_str(),    "--daemonize", "no",
                                       "--protected-mode", "yes"};
      for (const auto& a : extra_args) argv.push_back(a.c_str());
      argv.push_back(nullptr);
      ::execv(binary_.c_str(), const_cast<char* const*>(argv.data()));
      ::_exit(127);
    }
    pid_ = pid;
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (ping()) return true;
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stop();
    return false;
  }

 public:
  /// SIGKILL: the crash case (no goodbye on open connections).
  void kill() { signal_and_wait(SIGKILL); }
  /// SIGTERM: a clean stop.
  void stop() { signal_and_wait(SIGTERM); }

  bool ping() const {
    auto r = command({"PING"});
    return r && *r == "PONG";
  }

  /// One command on a fresh connection; the reply as text (integers in
  /// decimal, arrays joined by '\n', nil as "(nil)"), empty on failure.
  std::optional<std::string> command(const std::vector<std::string>& args, int timeout_s = 1) const {
    timeval tv{timeout_s, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    if (!c) return std::nullopt;
    std::optional<std::string> out;
    if (!c->err) {
      redisSetTimeout(c, tv);
      std::vector<const char*> argv;
      std::vector<size_t> lens;
      for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      }
      auto* r = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()));
      if (r) {
        out = text(r);
        freeReplyObject(r);
      }
    }
    redisFree(c);
    return out;
  }

 private:
  static std::string text(const redisReply* r) {
    switch (r->type) {
      case REDIS_REPLY_INTEGER: return std::to_string(r->integer);
      case REDIS_REPLY_NIL: return "(nil)";
      case REDIS_REPLY_ARRAY: {
        std::string s;
        for (size_t i = 0; i < r->elements; ++i) {
          if (i) s += '\n';
          s += text(r->element[i]);
        }
        return s;
      }
      default: return std::string(r->str, r->len);
    }
  }

  void signal_and_wait(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
  }

  std::string binary_, dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool started_once_ = false;
};

}  // namespace keypool_test
