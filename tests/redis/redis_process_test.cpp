// state::redis across real processes: the test binary re-executes itself
// (/proc/self/exe) as a peer, selected by KEYPOOL_REDIS_PEER, before gtest
// starts. Parent and peers talk over a pipe (the peer's stdout), one line per
// event; times are CLOCK_REALTIME nanoseconds, comparable on one machine.
#include <keypool/keypool.hpp>
#include <keypool/state/redis.hpp>

#include "redis/support/redis_server.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace kp = keypool;
using namespace std::chrono_literals;

namespace {

struct groq {
  static kp::provider_info info() { return {"groq", "GROQ"}; }
};

using pool = kp::basic_pool<groq, kp::policy::state<kp::state::redis>>;

std::vector<kp::key_spec> keys() {
  return {{"GROQ_API_KEY_1", "gsk_fake_proc_secret_1"},
          {"GROQ_API_KEY_2", "gsk_fake_proc_secret_2"},
          {"GROQ_API_KEY_3", "gsk_fake_proc_secret_3"}};
}

kp::state::redis_options options(int port) {
  kp::state::redis_options o;
  o.port = port;
  o.name_space = "proc";
  o.backoff_min = 10ms;
  o.backoff_max = 100ms;
  return o;
}

pool::options pool_opts(const kp::state::redis& r) {
  pool::options o;
  o.lockout = kp::lockout::fixed{30s};
  o.state = r;
  return o;
}

long long wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool locked(const pool& p, std::string_view variable) {
  for (auto& k : p.snapshot().keys)
    if (k.variable == variable) return !k.available();
  return false;
}

kp::lease lease_of(pool& p, std::string_view variable) {
  for (int i = 0; i < 16; ++i) {
    auto l = p.acquire_or_throw();
    if (l.variable() == variable) return l;
    p.report(l, kp::outcome::success());
  }
  throw std::runtime_error("key not handed out");
}

// ---- peer side (runs in the re-executed binary, never returns) -------------

void say(const std::string& line) {
  const std::string s = line + "\n";
  [[maybe_unused]] auto n = ::write(1, s.data(), s.size());
}

/// Waits for `f` polling every 100 µs; false after `limit`.
template <class F>
bool wait_for(F f, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!f()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(100us);
  }
  return true;
}

/// Sees the parent's lockout of key 1, then locks key 2 for the parent.
int peer_lockout(int port) {
  kp::state::redis r(options(port));
  pool p(keys(), pool_opts(r));
  auto link = r.attach(p);
  if (!r.wait_ready(5s)) return say("error not ready: " + r.status().last_error), 2;
  say("ready");
  if (!wait_for([&] { return locked(p, "GROQ_API_KEY_1"); }, 5s)) return say("error key 1 never locked"), 3;
  say("seen " + std::to_string(wall_ns()));
  auto l = lease_of(p, "GROQ_API_KEY_2");
  say("sent " + std::to_string(wall_ns()));
  p.report(l, kp::outcome::invalid_key());
  if (!r.flush(2s)) return say("error flush"), 4;
  // Stay until the parent closes our stdin, so our connections outlive the check.
  char c;
  while (::read(0, &c, 1) > 0) {
  }
  return 0;
}

/// Two threads share one backend, 500 takes each.
int peer_budget(int port) {
  kp::state::redis r(options(port));
  const auto fp = kp::fingerprint("gsk_fake_proc_secret_1");
  const auto day = kp::provider_day::at(std::chrono::system_clock::now());
  say("ready");
  char go;
  if (::read(0, &go, 1) != 1) return 2;  // start together with the other peer
  std::atomic<int> granted{0}, unavailable{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 2; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        const auto v = r.take_daily("groq", fp, day, 1000);
        if (v == kp::state::budget_verdict::granted) ++granted;
        if (v == kp::state::budget_verdict::unavailable) ++unavailable;
      }
    });
  for (auto& t : ts) t.join();
  say("granted " + std::to_string(granted.load()) + " unavailable " + std::to_string(unavailable.load()));
  return 0;
}

const int peer_mode_exit = [] {
  const char* mode = std::getenv("KEYPOOL_REDIS_PEER");
  if (!mode) return 0;
  const int port = std::atoi(std::getenv("KEYPOOL_REDIS_PORT") ? std::getenv("KEYPOOL_REDIS_PORT") : "0");
  int rc = 100;
  try {
    if (std::strcmp(mode, "lockout") == 0) rc = peer_lockout(port);
    if (std::strcmp(mode, "budget") == 0) rc = peer_budget(port);
  } catch (const std::exception& e) {
    say(std::string("error ") + e.what());
    rc = 101;
  }
  ::_exit(rc);
}();

// ---- parent side ----------------------------------------------------------

/// This test binary, re-executed as a peer with its stdin/stdout on pipes.
class peer {
 public:
  peer(const std::string& mode, int port) {
    // Everything exec needs is built before fork: the parent has threads.
    std::vector<std::string> env_store;
    for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
    env_store.push_back("KEYPOOL_REDIS_PEER=" + mode);
    env_store.push_back("KEYPOOL_REDIS_PORT=" + std::to_string(port));
    std::vector<char*> envp;
    for (auto& s : env_store) envp.push_back(s.data());
    envp.push_back(nullptr);
    char exe[] = "/proc/self/exe";
    char* argv[] = {exe, nullptr};
    int out[2], in[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::execve(exe, argv, envp.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(in[0]);
    from_ = out[0];
    to_ = in[1];
  }
  peer(const peer&) = delete;
  peer& operator=(const peer&) = delete;
  ~peer() {
    close_stdin();
    if (from_ >= 0) ::close(from_);
    if (pid_ > 0) {
      // A peer that is still busy after a failure is not waited for forever.
      const auto end = std::chrono::steady_clock::now() + 3s;
      int st = 0;
      while (::waitpid(pid_, &st, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > end) {
          ::kill(pid_, SIGKILL);
          ::waitpid(pid_, &st, 0);
          break;
        }
        std::this_thread::sleep_for(5ms);
      }
    }
  }

  bool started() const { return pid_ > 0; }

  /// The next line the peer printed, or empty after `timeout`.
  std::optional<std::string> line(std::chrono::milliseconds timeout = 10s) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (const auto nl = buf_.find('\n'); nl != std::string::npos) {
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return l;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{from_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char tmp[256];
      const auto n = ::read(from_, tmp, sizeof tmp);
      if (n <= 0) return std::nullopt;
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
  }

  void send(char c) { [[maybe_unused]] auto n = ::write(to_, &c, 1); }
  void close_stdin() {
    if (to_ >= 0) ::close(to_);
    to_ = -1;
  }

  /// Exit status after the peer ends (closes its stdin first).
  int wait() {
    close_stdin();
    int st = 0;
    if (pid_ <= 0 || ::waitpid(pid_, &st, 0) != pid_) return -1;
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }

 private:
  pid_t pid_ = -1;
  int from_ = -1, to_ = -1;
  std::string buf_;
};

long long field(const std::string& line, const std::string& name) {
  const auto pos = line.find(name + " ");
  if (pos == std::string::npos) return -1;
  return std::atoll(line.c_str() + pos + name.size() + 1);
}

}  // namespace

TEST(redis, two_processes_share_lockouts_within_100ms) {
  keypool_test::redis_server srv;
  if (!srv.available()) GTEST_SKIP() << keypool_test::redis_server::missing_message();
  ASSERT_TRUE(srv.start());
  kp::state::redis r(options(srv.port()));
  pool p(keys(), pool_opts(r));
  auto link = r.attach(p);
  ASSERT_TRUE(r.wait_ready(5s)) << r.status().last_error;

  peer child("lockout", srv.port());
  ASSERT_TRUE(child.started());
  ASSERT_EQ(child.line(), "ready");

  // Parent -> child.
  auto l = lease_of(p, "GROQ_API_KEY_1");
  const long long t0 = wall_ns();
  p.report(l, kp::outcome::rate_limited());
  const auto seen = child.line();
  ASSERT_TRUE(seen) << "child never answered";
  ASSERT_EQ(seen->rfind("seen ", 0), 0u) << *seen;
  const auto to_child = std::chrono::nanoseconds(field(*seen, "seen") - t0);
  EXPECT_LT(to_child, 100ms);

  // Child -> parent.
  const auto sent = child.line();
  ASSERT_TRUE(sent && sent->rfind("sent ", 0) == 0) << sent.value_or("(nothing)");
  const long long t1 = field(*sent, "sent");
  const auto end = std::chrono::steady_clock::now() + 2s;
  while (!locked(p, "GROQ_API_KEY_2") && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(100us);
  const auto to_parent = std::chrono::nanoseconds(wall_ns() - t1);
  ASSERT_TRUE(locked(p, "GROQ_API_KEY_2")) << "the child's disable never arrived";
  EXPECT_LT(to_parent, 100ms);
  for (auto& k : p.snapshot().keys)
    if (k.variable == "GROQ_API_KEY_2") {
      EXPECT_EQ(k.state_name(), "invalid");
    }
  EXPECT_EQ(r.status().received, 1u);
  EXPECT_EQ(child.wait(), 0);
  std::printf("[ redis    ] propagation parent->child %.3f ms, child->parent %.3f ms\n",
              static_cast<double>(to_child.count()) / 1e6, static_cast<double>(to_parent.count()) / 1e6);
}

TEST(redis, daily_budget_exact_across_processes) {
  keypool_test::redis_server srv;
  if (!srv.available()) GTEST_SKIP() << keypool_test::redis_server::missing_message();
  ASSERT_TRUE(srv.start());
  // 2 processes x 2 threads x 500 takes against a limit of 1000.
  peer a("budget", srv.port()), b("budget", srv.port());
  ASSERT_TRUE(a.started() && b.started());
  ASSERT_EQ(a.line(), "ready");
  ASSERT_EQ(b.line(), "ready");
  a.send('g');
  b.send('g');
  const auto ra = a.line(30s), rb = b.line(30s);
  ASSERT_TRUE(ra && rb);
  EXPECT_EQ(field(*ra, "unavailable"), 0) << *ra;
  EXPECT_EQ(field(*rb, "unavailable"), 0) << *rb;
  EXPECT_EQ(field(*ra, "granted") + field(*rb, "granted"), 1000) << *ra << " / " << *rb;
  EXPECT_GT(field(*ra, "granted"), 0);
  EXPECT_GT(field(*rb, "granted"), 0);
  EXPECT_EQ(a.wait(), 0);
  EXPECT_EQ(b.wait(), 0);
  kp::state::redis r(options(srv.port()));
  const auto day = kp::provider_day::at(std::chrono::system_clock::now());
  EXPECT_EQ(r.daily_used("groq", kp::fingerprint("gsk_fake_proc_secret_1"), day), 1000u);
}
