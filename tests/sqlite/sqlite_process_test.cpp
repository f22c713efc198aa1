// state::sqlite across real processes: the test binary re-executes itself
// (/proc/self/exe) as a peer, selected by KEYPOOL_SQLITE_PEER, before gtest
// starts. Parent and peers talk over pipes (the peer's stdin and stdout),
// one line per event. Peers use the real clocks: they are other processes.
#include "sqlite/support/temp_dir.hpp"

#include <keypool/keypool.hpp>
#include <keypool/state/sqlite.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace kp = keypool;
using namespace std::chrono_literals;
using keypool_test::eventually;
using keypool_test::key_of;
using keypool_test::lease_of;

namespace {

struct groq {
  static kp::provider_info info() { return {"groq", "GROQ"}; }
};

using pool = kp::basic_pool<groq, kp::policy::state<kp::state::sqlite>>;

std::vector<kp::key_spec> keys(std::uint32_t daily_limit = 0) {
  return {{"GROQ_API_KEY_1", "gsk_fake_proc_sqlite_1", 1, {}, daily_limit},
          {"GROQ_API_KEY_2", "gsk_fake_proc_sqlite_2", 1, {}, daily_limit}};
}

kp::state::sqlite_options options(const std::string& path) {
  kp::state::sqlite_options o;
  o.path = path;
  o.poll_interval = 2ms;
  o.backoff_min = 5ms;
  o.backoff_max = 20ms;
  return o;
}

pool::options pool_opts(const kp::state::sqlite& s) {
  pool::options o;
  o.lockout = kp::lockout::fixed{30s};
  o.state = s;
  return o;
}

long long wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- peer side (runs in the re-executed binary, never returns) -------------

void say(const std::string& line) {
  const std::string s = line + "\n";
  [[maybe_unused]] auto n = ::write(1, s.data(), s.size());
}

/// Waits until the parent closes our stdin.
void linger() {
  char c;
  while (::read(0, &c, 1) > 0) {
  }
}

/// Sees the parent's lockout of key 1, then disables key 2 for the parent.
int peer_lockout(const std::string& path) {
  kp::state::sqlite s(options(path));
  pool p(keys(), pool_opts(s));
  auto link = s.attach(p);
  if (!s.ready()) return say("error " + s.status().last_error), 2;
  say("ready");
  if (!eventually([&] { return !key_of(p, "GROQ_API_KEY_1").available(); }, 10s))
    return say("error key 1 never locked"), 3;
  say("seen " + std::to_string(wall_ns()));
  auto l = lease_of(p, "GROQ_API_KEY_2");
  say("sent " + std::to_string(wall_ns()));
  p.report(l, kp::outcome::invalid_key());
  if (!s.flush(5s)) return say("error flush"), 4;
  linger();
  return 0;
}

/// Picks a metered key until the shared budget says no.
int peer_budget(const std::string& path) {
  kp::state::sqlite s(options(path));
  pool p({keys(120)[0]}, pool_opts(s));
  say("ready");
  char go;
  if (::read(0, &go, 1) != 1) return 2;  // start together with the other peer
  int picks = 0;
  for (int i = 0; i < 200; ++i)
    if (auto l = p.acquire()) {
      ++picks;
      p.report(*l, kp::outcome::success());
    }
  say("picks " + std::to_string(picks) + " unavailable " + std::to_string(s.status().budget_unavailable));
  linger();
  return 0;
}

/// Writes for ever: disables of fingerprints crash0, crash1, … and one
/// budget unit per disable; after each flush says how far the file is.
int peer_crash(const std::string& path) {
  kp::state::sqlite s(options(path));
  if (!s.ready()) return say("error " + s.status().last_error), 2;
  const auto day = kp::provider_day::at(std::chrono::system_clock::now());
  long long granted = 0;
  for (long long i = 0;; ++i) {
    s.publish({"groq", "crash" + std::to_string(i), kp::key_status::disabled, kp::outcome_kind::invalid_key,
               std::chrono::system_clock::time_point::max()});
    if (s.reserve_daily("groq", "budget", day, 1'000'000'000, 1).value_or(0) == 1) ++granted;
    if (i % 8 == 7) {
      if (!s.flush(5s)) return say("error flush"), 3;
      say("committed " + std::to_string(i) + " granted " + std::to_string(granted));
    }
  }
}

const int peer_mode_exit = [] {
  const char* mode = std::getenv("KEYPOOL_SQLITE_PEER");
  if (!mode) return 0;
  const std::string path = std::getenv("KEYPOOL_SQLITE_FILE") ? std::getenv("KEYPOOL_SQLITE_FILE") : "";
  int rc = 100;
  try {
    if (std::strcmp(mode, "lockout") == 0) rc = peer_lockout(path);
    if (std::strcmp(mode, "budget") == 0) rc = peer_budget(path);
    if (std::strcmp(mode, "crash") == 0) rc = peer_crash(path);
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
  peer(const std::string& mode, const std::string& path) {
    // Everything exec needs is built before fork: the parent has threads.
    std::vector<std::string> env_store;
    for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
    env_store.push_back("KEYPOOL_SQLITE_PEER=" + mode);
    env_store.push_back("KEYPOOL_SQLITE_FILE=" + path);
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
      ::kill(pid_, SIGKILL);  // a peer still running after a failure
      ::waitpid(pid_, nullptr, 0);
    }
  }

  bool started() const { return pid_ > 0; }

  /// The next line the peer printed, or empty after `timeout` or at EOF.
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
  void kill_now() { ::kill(pid_, SIGKILL); }

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

TEST(sqlite_process, two_processes_share_lockouts) {
  keypool_test::temp_dir dir;
  const auto path = dir.file("state.db");
  kp::state::sqlite s(options(path));
  pool p(keys(), pool_opts(s));
  auto link = s.attach(p);
  ASSERT_TRUE(s.ready()) << s.status().last_error;

  peer child("lockout", path);
  ASSERT_TRUE(child.started());
  ASSERT_EQ(child.line(), "ready");

  // Parent -> child.
  const long long t0 = wall_ns();
  p.report(lease_of(p, "GROQ_API_KEY_1"), kp::outcome::rate_limited());
  const auto seen = child.line();
  ASSERT_TRUE(seen && seen->rfind("seen ", 0) == 0) << seen.value_or("(nothing)");
  const auto to_child = std::chrono::nanoseconds(field(*seen, "seen") - t0);

  // Child -> parent.
  const auto sent = child.line();
  ASSERT_TRUE(sent && sent->rfind("sent ", 0) == 0) << sent.value_or("(nothing)");
  ASSERT_TRUE(eventually([&] { return !key_of(p, "GROQ_API_KEY_2").available(); }, 10s))
      << "the child's disable never arrived";
  const auto to_parent = std::chrono::nanoseconds(wall_ns() - field(*sent, "sent"));
  EXPECT_EQ(key_of(p, "GROQ_API_KEY_2").state_name(), "invalid");
  EXPECT_EQ(s.status().received, 1u);
  EXPECT_EQ(child.wait(), 0);
  std::printf("[ sqlite   ] propagation parent->child %.3f ms, child->parent %.3f ms (poll_interval 2 ms)\n",
              static_cast<double>(to_child.count()) / 1e6, static_cast<double>(to_parent.count()) / 1e6);
}

TEST(sqlite_process, daily_budget_shared_by_two_processes) {
  keypool_test::temp_dir dir;
  const auto path = dir.file("state.db");
  peer a("budget", path), b("budget", path);
  ASSERT_TRUE(a.started() && b.started());
  ASSERT_EQ(a.line(), "ready");
  ASSERT_EQ(b.line(), "ready");
  a.send('g');
  b.send('g');
  const auto ra = a.line(), rb = b.line();
  ASSERT_TRUE(ra && rb);
  EXPECT_EQ(field(*ra, "unavailable") + field(*rb, "unavailable"), 0) << *ra << " / " << *rb;
  // daily_chunk 1: exact, 120 in all.
  EXPECT_EQ(field(*ra, "picks") + field(*rb, "picks"), 120) << *ra << " / " << *rb;
  EXPECT_EQ(a.wait(), 0);
  EXPECT_EQ(b.wait(), 0);
  kp::state::sqlite s(options(path));
  const auto day = kp::provider_day::at(std::chrono::system_clock::now());
  EXPECT_EQ(s.daily_used("groq", kp::fingerprint("gsk_fake_proc_sqlite_1"), day), 120u);
}

TEST(sqlite_process, sigkill_mid_write_loses_nothing_committed) {
  keypool_test::temp_dir dir;
  const auto path = dir.file("state.db");
  long long committed = -1, granted = -1;
  {
    peer child("crash", path);
    ASSERT_TRUE(child.started());
    // Let it write a while, then kill it in the middle of its stream.
    while (committed < 400) {
      const auto l = child.line();
      ASSERT_TRUE(l && l->rfind("committed ", 0) == 0) << l.value_or("(nothing)");
      committed = field(*l, "committed");
      granted = field(*l, "granted");
    }
    child.kill_now();
    // Lines already in the pipe were committed before the kill, too.
    while (const auto l = child.line(2s)) {
      if (l->rfind("committed ", 0) != 0) continue;
      committed = field(*l, "committed");
      granted = field(*l, "granted");
    }
    EXPECT_EQ(child.wait(), 128 + SIGKILL);
  }
  kp::state::sqlite s(options(path));
  ASSERT_TRUE(s.ready()) << s.status().last_error;
  std::set<std::string> seen;
  auto link = s.attach(
      "groq", [&](std::string_view fp, kp::key_status st, kp::outcome_kind, std::chrono::system_clock::time_point) {
        if (st == kp::key_status::disabled) seen.emplace(fp);
        return true;
      });
  for (long long i = 0; i <= committed; ++i) ASSERT_TRUE(seen.count("crash" + std::to_string(i))) << i;
  const auto day = kp::provider_day::at(std::chrono::system_clock::now());
  const auto used = s.daily_used("groq", "budget", day);
  ASSERT_TRUE(used);
  EXPECT_GE(static_cast<long long>(*used), granted);
  std::printf(
      "[ sqlite   ] killed after %lld committed disables (%zu in the file), %lld granted budget units (%llu "
      "in the file)\n",
      committed + 1, seen.size(), granted, static_cast<unsigned long long>(*used));
}
