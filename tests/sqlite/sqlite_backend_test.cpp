// state::sqlite in one process: two backends on one file stand for two
// processes (each has its own connections, writer thread and instance id).
// Time is a shared manual clock, handed to the pools and to the backends.
#include "sqlite/support/temp_dir.hpp"

#include <keypool/clock/manual.hpp>
#include <keypool/keypool.hpp>
#include <keypool/state/sqlite.hpp>

#include <gtest/gtest.h>

#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace kp = keypool;
using namespace std::chrono_literals;
using keypool_test::eventually;
using keypool_test::key_of;
using keypool_test::lease_of;

namespace {

struct groq {
  static kp::provider_info info() { return {"groq", "GROQ"}; }
};

using pool = kp::basic_pool<groq, kp::policy::clock<kp::clock::manual>, kp::policy::state<kp::state::sqlite>>;

const char* const secrets[] = {"gsk_fake_sqlite_secret_1", "gsk_fake_sqlite_secret_2", "gsk_fake_sqlite_secret_3"};

std::vector<kp::key_spec> keys(std::uint32_t daily_limit = 0) {
  std::vector<kp::key_spec> v;
  for (int i = 0; i < 3; ++i) v.push_back({"GROQ_API_KEY_" + std::to_string(i + 1), secrets[i], 1, {}, daily_limit});
  return v;
}

kp::state::sqlite_options options(const std::string& path, const kp::clock::manual& clk) {
  kp::state::sqlite_options o;
  o.path = path;
  o.poll_interval = 2ms;
  o.backoff_min = 5ms;
  o.backoff_max = 20ms;
  o.wall_clock = [clk] { return clk.wall_now(); };
  return o;
}

pool::options pool_opts(const kp::state::sqlite& s, const kp::clock::manual& clk, std::uint32_t chunk = 1) {
  pool::options o;
  o.lockout = kp::lockout::fixed{30s};
  o.clock = clk;
  o.state = s;
  o.daily_chunk = chunk;
  return o;
}

}  // namespace

TEST(sqlite, lockout_reaches_a_pool_on_another_backend_of_the_same_file) {
  keypool_test::temp_dir dir;
  kp::clock::manual clk;
  kp::state::sqlite a(options(dir.file("state.db"), clk)), b(options(dir.file("state.db"), clk));
  ASSERT_TRUE(a.ready()) << a.status().last_error;
  ASSERT_TRUE(b.ready()) << b.status().last_error;
  pool pa(keys(), pool_opts(a, clk)), pb(keys(), pool_opts(b, clk));
  auto la = a.attach(pa);
  auto lb = b.attach(pb);

  pa.report(lease_of(pa, "GROQ_API_KEY_1"), kp::outcome::rate_limited());
  pa.report(lease_of(pa, "GROQ_API_KEY_2"), kp::outcome::invalid_key());
  ASSERT_TRUE(a.flush(5s));
  ASSERT_TRUE(eventually([&] { return !key_of(pb, "GROQ_API_KEY_2").available(); }));
  ASSERT_FALSE(key_of(pb, "GROQ_API_KEY_1").available());
  EXPECT_EQ(key_of(pb, "GROQ_API_KEY_1").state_name(), "rate_limited");
  EXPECT_EQ(key_of(pb, "GROQ_API_KEY_1").available_in, 30s);
  EXPECT_EQ(key_of(pb, "GROQ_API_KEY_2").state_name(), "invalid");
  EXPECT_EQ(b.status().received, 2u);
  // A backend never applies its own rows back.
  EXPECT_EQ(a.status().received, 0u);

  // Back the other way: B re-enables key 2, A sees the release.
  pb.enable("GROQ_API_KEY_2");
  ASSERT_TRUE(b.flush(5s));
  ASSERT_TRUE(eventually([&] { return key_of(pa, "GROQ_API_KEY_2").available(); }));
  EXPECT_FALSE(key_of(pa, "GROQ_API_KEY_1").available());
}

TEST(sqlite, state_survives_closing_and_reopening_the_file) {
  keypool_test::temp_dir dir;
  kp::clock::manual clk;
  {
    kp::state::sqlite s(options(dir.file("state.db"), clk));
    pool p(keys(), pool_opts(s, clk));
    auto link = s.attach(p);
    p.report(lease_of(p, "GROQ_API_KEY_1"), kp::outcome::rate_limited());
    p.report(lease_of(p, "GROQ_API_KEY_2"), kp::outcome::out_of_credit());
    // Closing writes what is queued (shutdown_flush): no flush() here.
  }
  clk.advance(10s);
  kp::state::sqlite s(options(dir.file("state.db"), clk));
  ASSERT_TRUE(s.ready()) << s.status().last_error;
  pool p(keys(), pool_opts(s, clk));
  auto link = s.attach(p);
  EXPECT_EQ(s.status().loaded, 2u);
  EXPECT_EQ(key_of(p, "GROQ_API_KEY_1").state_name(), "rate_limited");
  EXPECT_EQ(key_of(p, "GROQ_API_KEY_1").available_in, 20s);
  EXPECT_EQ(key_of(p, "GROQ_API_KEY_2").state_name(), "out_of_credit");
  // The re-check time came along: 15 minutes after the disable.
  EXPECT_EQ(key_of(p, "GROQ_API_KEY_2").available_in, 15min - 10s);
  EXPECT_TRUE(key_of(p, "GROQ_API_KEY_3").available());

  // Once over by the clock, a lockout is not loaded again.
  clk.advance(21s);
  pool q(keys(), pool_opts(s, clk));
  auto lq = s.attach(q);
  EXPECT_TRUE(key_of(q, "GROQ_API_KEY_1").available());
  EXPECT_EQ(key_of(q, "GROQ_API_KEY_2").state_name(), "out_of_credit");
}

TEST(sqlite, a_shorter_lockout_never_replaces_a_longer_one_in_the_file) {
  keypool_test::temp_dir dir;
  kp::clock::manual clk;
  kp::state::sqlite a(options(dir.file("state.db"), clk)), b(options(dir.file("state.db"), clk));
  const auto fp = kp::fingerprint(secrets[0]);
  a.publish({"groq", fp, kp::key_status::locked, kp::outcome_kind::rate_limited, clk.wall_now() + 120s});
  ASSERT_TRUE(a.flush(5s));
  b.publish({"groq", fp, kp::key_status::locked, kp::outcome_kind::rate_limited, clk.wall_now() + 5s});
  ASSERT_TRUE(b.flush(5s));
  EXPECT_EQ(b.status().kept, 1u);
  pool p(keys(), pool_opts(b, clk));
  auto link = b.attach(p);
  EXPECT_EQ(key_of(p, "GROQ_API_KEY_1").available_in, 120s);
}

TEST(sqlite, the_file_holds_fingerprints_never_secrets) {
  keypool_test::temp_dir dir;
  kp::clock::manual clk;
  {
    kp::state::sqlite s(options(dir.file("state.db"), clk));
    pool p(keys(5), pool_opts(s, clk));
    for (int i = 0; i < 3; ++i) {
      auto l = p.acquire_or_throw();
      p.report(l, i == 0 ? kp::outcome::invalid_key() : kp::outcome::rate_limited());
    }
    ASSERT_TRUE(s.flush(5s));
  }
  std::string bytes;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) bytes += keypool_test::read_all(e.path());
  EXPECT_NE(bytes.find(kp::fingerprint(secrets[0])), std::string::npos);
  for (const char* s : secrets) {
    EXPECT_EQ(bytes.find(s), std::string::npos);
    EXPECT_EQ(bytes.find(std::string_view(s).substr(4)), std::string::npos);
  }
  EXPECT_EQ(bytes.find("GROQ_API_KEY"), std::string::npos);
}

TEST(sqlite, daily_budget_across_two_pools_never_exceeds_the_limit) {
  for (std::uint32_t chunk : {1u, 8u}) {
    keypool_test::temp_dir dir;
    kp::clock::manual clk;
    kp::state::sqlite a(options(dir.file("state.db"), clk)), b(options(dir.file("state.db"), clk));
    std::vector<kp::key_spec> one{{"GROQ_API_KEY_1", secrets[0], 1, {}, 50}};
    pool pa(one, pool_opts(a, clk, chunk)), pb(one, pool_opts(b, clk, chunk));
    std::atomic<int> picks{0};
    std::vector<std::thread> ts;
    for (pool* p : {&pa, &pb, &pa, &pb})
      ts.emplace_back([&, p] {
        for (int i = 0; i < 100; ++i)
          if (auto l = p->acquire()) {
            ++picks;
            p->report(*l, kp::outcome::success());
          }
      });
    for (auto& t : ts) t.join();
    const auto day = kp::provider_day::at(clk.wall_now());
    EXPECT_EQ(a.daily_used("groq", kp::fingerprint(secrets[0]), day), 50u) << "chunk " << chunk;
    EXPECT_EQ(a.status().budget_unavailable + b.status().budget_unavailable, 0u);
    // Chunk N: each pool may hold up to N-1 units it never used.
    if (chunk == 1)
      EXPECT_EQ(picks.load(), 50);
    else
      EXPECT_GE(picks.load(), 50 - 2 * static_cast<int>(chunk - 1));
    EXPECT_LE(picks.load(), 50) << "chunk " << chunk;

    // A restarted process finds the day's budget spent.
    kp::state::sqlite c(options(dir.file("state.db"), clk));
    pool pc(one, pool_opts(c, clk, chunk));
    auto r = pc.acquire();
    ASSERT_FALSE(r);
    EXPECT_EQ(key_of(pc, "GROQ_API_KEY_1").state_name(), "quota_exhausted");
    // The next provider day starts from zero.
    clk.advance(24h);
    EXPECT_TRUE(pc.acquire());
  }
}

namespace {

/// The pool works in memory with an unusable file: picks, lockouts.
void expect_in_memory(kp::state::sqlite& s, const kp::clock::manual& clk) {
  pool p(keys(), pool_opts(s, clk));
  auto link = s.attach(p);
  p.report(lease_of(p, "GROQ_API_KEY_1"), kp::outcome::rate_limited());
  EXPECT_FALSE(key_of(p, "GROQ_API_KEY_1").available());
  for (int i = 0; i < 10; ++i) {
    auto l = p.acquire_or_throw();
    EXPECT_NE(l.variable(), "GROQ_API_KEY_1");
    p.report(l, kp::outcome::success());
  }
  EXPECT_FALSE(s.flush(10ms));
  EXPECT_EQ(s.status().dropped, 1u);
}

}  // namespace

TEST(sqlite, a_corrupt_file_is_an_error_naming_it_and_the_pool_works_in_memory) {
  keypool_test::temp_dir dir;
  kp::clock::manual clk;
  const auto path = dir.file("state.db");
  std::ofstream(path) << std::string(8192, 'x');
  kp::state::sqlite s(options(path, clk));
  const auto st = s.status();
  EXPECT_TRUE(st.configured);
  EXPECT_FALSE(st.open);
  EXPECT_TRUE(st.degraded);
  EXPECT_FALSE(s.ready());
  EXPECT_NE(st.last_error.find(path), std::string::npos) << st.last_error;
  EXPECT_NE(st.last_error.find("not a database"), std::string::npos) << st.last_error;
  EXPECT_NE(st.last_error.find("in memory"), std::string::npos) << st.last_error;
  expect_in_memory(s, clk);
  EXPECT_EQ(keypool_test::read_all(path), std::string(8192, 'x'));  // left as it was
}

TEST(sqlite, a_damaged_database_is_reported_corrupt) {
  keypool_test::temp_dir dir;
  kp::clock::manual clk;
  const auto path = dir.file("state.db");
  {
    kp::state::sqlite s(options(path, clk));
    pool p(keys(), pool_opts(s, clk));
    for (int i = 0; i < 200; ++i)
      s.publish({"groq", "fp" + std::to_string(i), kp::key_status::disabled, kp::outcome_kind::invalid_key,
                 std::chrono::system_clock::time_point::max()});
    ASSERT_TRUE(s.flush(5s));
    std::string err;
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  // Scribble over the first page after its header: a file that still
  // opens as SQLite, with a broken schema b-tree.
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(100);
  f << std::string(3000, '\x5a');
  f.close();
  kp::state::sqlite s(options(path, clk));
  EXPECT_FALSE(s.status().open);
  EXPECT_NE(s.status().last_error.find(path), std::string::npos) << s.status().last_error;
  std::printf("[ sqlite   ] %s\n", s.status().last_error.c_str());
  expect_in_memory(s, clk);
}

TEST(sqlite, a_directory_path_is_an_error_naming_it) {
  keypool_test::temp_dir dir;
  kp::clock::manual clk;
  kp::state::sqlite s(options(dir.path().string(), clk));
  EXPECT_FALSE(s.status().open);
  EXPECT_NE(s.status().last_error.find("'" + dir.path().string() + "': it is a directory"), std::string::npos)
      << s.status().last_error;
  expect_in_memory(s, clk);
}

TEST(sqlite, another_programs_database_is_refused_untouched) {
  keypool_test::temp_dir dir;
  kp::clock::manual clk;
  const auto path = dir.file("notes.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE notes(t TEXT)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  kp::state::sqlite s(options(path, clk));
  EXPECT_FALSE(s.status().open);
  EXPECT_NE(s.status().last_error.find("not a keypool state file"), std::string::npos) << s.status().last_error;
}

TEST(sqlite, a_missing_directory_is_created) {
  keypool_test::temp_dir dir;
  kp::clock::manual clk;
  kp::state::sqlite s(options(dir.file("a/b/state.db"), clk));
  EXPECT_TRUE(s.ready()) << s.status().last_error;
  EXPECT_TRUE(std::filesystem::exists(dir.file("a/b/state.db")));
}

// Root writes read-only files anyway: the check runs in a child that drops
// to an unprivileged user when the test runs as root.
TEST(sqlite, a_read_only_file_is_an_error_naming_it) {
  keypool_test::temp_dir dir;
  kp::clock::manual clk;
  const auto path = dir.file("state.db");
  {
    kp::state::sqlite s(options(path, clk));
    ASSERT_TRUE(s.ready());
  }
  ::chmod(dir.path().c_str(), 0755);
  ::chmod(path.c_str(), 0444);
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(77);
    kp::state::sqlite s(options(path, clk));
    const auto st = s.status();
    const bool named = st.last_error.find("'" + path + "': it is read-only") != std::string::npos;
    ::_exit(!st.open && st.degraded && named ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "cannot drop root privileges here";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // In this process (maybe root) only the message's shape is checked above;
  // the in-memory fallback is the same code as for a corrupt file.
}

TEST(sqlite, an_inert_handle_does_nothing) {
  kp::state::sqlite s;
  s.publish({"groq", "abc", kp::key_status::locked, kp::outcome_kind::rate_limited, {}});
  EXPECT_FALSE(s.status().configured);
  EXPECT_FALSE(s.ready());
  EXPECT_FALSE(s.reserve_daily("groq", "abc", {}, 10, 1));
}

// Another process holding the write lock longer than busy_timeout: writes
// are retried, status says degraded with the reason meanwhile, and
// everything queued is written once the lock goes. Budget calls give up
// after budget_timeout and the pool counts locally.
TEST(sqlite, a_locked_file_degrades_then_recovers_without_losing_changes) {
  keypool_test::temp_dir dir;
  kp::clock::manual clk;
  const auto path = dir.file("state.db");
  auto o = options(path, clk);
  o.busy_timeout = 10ms;
  o.budget_timeout = 5ms;
  kp::state::sqlite s(o);
  ASSERT_TRUE(s.ready()) << s.status().last_error;
  std::vector<kp::key_spec> metered{{"GROQ_API_KEY_1", secrets[0], 1, {}, 10}};
  pool p(metered, pool_opts(s, clk));

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  s.publish({"groq", "abc", kp::key_status::disabled, kp::outcome_kind::invalid_key,
             std::chrono::system_clock::time_point::max()});
  ASSERT_TRUE(eventually([&] { return s.status().write_retries > 0; }));
  const auto st = s.status();
  EXPECT_TRUE(st.degraded);
  EXPECT_NE(st.last_error.find("cannot write the state file '" + path + "'"), std::string::npos) << st.last_error;
  EXPECT_NE(st.last_error.find("locked"), std::string::npos) << st.last_error;
  EXPECT_EQ(st.queued, 1u);
  // The pick is not stuck behind the lock: the local count decides.
  EXPECT_TRUE(p.acquire());
  EXPECT_GE(s.status().budget_unavailable, 1u);

  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  ASSERT_TRUE(s.flush(5s));
  ASSERT_TRUE(eventually([&] { return s.ready(); }));
  EXPECT_EQ(s.status().last_error, "");
  EXPECT_EQ(s.status().written, 1u);
}

TEST(sqlite, default_path_follows_xdg_state_home) {
  const char* old_xdg = std::getenv("XDG_STATE_HOME");
  const char* old_home = std::getenv("HOME");
  const std::string keep_xdg = old_xdg ? old_xdg : "", keep_home = old_home ? old_home : "";
  ::setenv("XDG_STATE_HOME", "/var/state", 1);
  ::setenv("HOME", "/home/me", 1);
  EXPECT_EQ(kp::state::sqlite_options::default_path(), "/var/state/keypool/state.db");
  ::setenv("XDG_STATE_HOME", "relative/is/ignored", 1);
  EXPECT_EQ(kp::state::sqlite_options::default_path(), "/home/me/.local/state/keypool/state.db");
  ::unsetenv("XDG_STATE_HOME");
  ::unsetenv("HOME");
  EXPECT_EQ(kp::state::sqlite_options::default_path(), "");
  if (old_xdg) ::setenv("XDG_STATE_HOME", keep_xdg.c_str(), 1);
  if (old_home) ::setenv("HOME", keep_home.c_str(), 1);
}

TEST(sqlite, spend_is_added_by_every_backend_and_survives_reopening) {
  keypool_test::temp_dir dir;
  kp::clock::manual clk;
  const kp::state::stored_spend one{"groq", "aaaaaaaaaaaa", "m1", 1, 10, 20, 1500, true};
  const kp::state::stored_spend other{"groq", "aaaaaaaaaaaa", "m2", 2, 5, 5, 0, false};
  {
    kp::state::sqlite a(options(dir.file("state.db"), clk)), b(options(dir.file("state.db"), clk));
    ASSERT_TRUE(a.add_spend({one}));
    ASSERT_TRUE(b.add_spend({one, other}));  // another process's share is added, not replacing
  }
  kp::state::sqlite c(options(dir.file("state.db"), clk));
  const auto rows = c.load_spend();
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  const auto& m1 = (*rows)[0];
  EXPECT_EQ(m1.model, "m1");
  EXPECT_EQ(m1.requests, 2u);
  EXPECT_EQ(m1.input_tokens, 20u);
  EXPECT_EQ(m1.output_tokens, 40u);
  EXPECT_EQ(m1.cost_nusd, 3000u);
  EXPECT_TRUE(m1.priced);
  EXPECT_EQ((*rows)[1].model, "m2");
  EXPECT_FALSE((*rows)[1].priced);
  EXPECT_EQ((*rows)[1].requests, 2u);
}

TEST(sqlite, spend_on_an_unusable_file_is_refused_not_thrown) {
  keypool_test::temp_dir dir;
  kp::clock::manual clk;
  kp::state::sqlite s(options(dir.path().string(), clk));  // a directory
  EXPECT_FALSE(s.add_spend({{"groq", "aaaaaaaaaaaa", "m", 1, 1, 1, 1, true}}));
  EXPECT_FALSE(s.load_spend());
  EXPECT_FALSE(kp::state::sqlite().add_spend({}));
}

namespace {

/// A count(*) query's answer, read with a connection of its own (another
/// process); -1 when it cannot be read.
long long count_rows(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  long long n = -1;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_exec(
        db, sql,
        [](void* out, int, char** v, char**) {
          *static_cast<long long*>(out) = std::atoll(v[0]);
          return 0;
        },
        &n, nullptr);
  }
  sqlite3_close(db);
  return n;
}

}  // namespace

TEST(sqlite, unavailable_models_round_trip_keep_the_later_end_and_expire) {
  keypool_test::temp_dir dir;
  kp::clock::manual clk;
  using sys = std::chrono::system_clock;
  const auto now = std::chrono::floor<std::chrono::milliseconds>(clk.wall_now());  // the file keeps milliseconds
  {
    kp::state::sqlite a(options(dir.file("state.db"), clk)), b(options(dir.file("state.db"), clk));
    ASSERT_TRUE(a.add_unavailable_models({{"groq", "acme", "old-model", now + 1h},
                                          {"groq", "aaaaaaaaaaaa", "gone-model", now + 10min},
                                          {"zai", "bbbbbbbbbbbb", "never-model", sys::time_point::max()},
                                          {"groq", "acme", "past-model", now - 1s}}));  // over: not stored
    // Another process learns the same model with a shorter end: the later stays.
    ASSERT_TRUE(b.add_unavailable_models({{"groq", "acme", "old-model", now + 30min}}));
    ASSERT_TRUE(b.add_unavailable_models({}));
  }
  kp::state::sqlite c(options(dir.file("state.db"), clk));
  auto rows = c.load_unavailable_models();
  ASSERT_TRUE(rows) << c.status().last_error;
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].account, "aaaaaaaaaaaa");
  EXPECT_EQ((*rows)[0].model, "gone-model");
  EXPECT_EQ((*rows)[0].until, now + 10min);
  EXPECT_EQ((*rows)[1].provider, "groq");
  EXPECT_EQ((*rows)[1].account, "acme");
  EXPECT_EQ((*rows)[1].model, "old-model");
  EXPECT_EQ((*rows)[1].until, now + 1h);
  EXPECT_EQ((*rows)[2].provider, "zai");
  EXPECT_EQ((*rows)[2].until, sys::time_point::max());

  // Twenty minutes on: gone-model is over, no longer loaded, and the next
  // write drops it from the file.
  clk.advance(20min);
  rows = c.load_unavailable_models();
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].model, "old-model");
  EXPECT_EQ((*rows)[1].model, "never-model");
  const char* gone = "SELECT count(*) FROM unavailable_model WHERE model = 'gone-model'";
  EXPECT_EQ(count_rows(dir.file("state.db"), gone), 1);
  ASSERT_TRUE(c.add_unavailable_models({{"groq", "acme", "new-model", now + 2h}}));
  EXPECT_EQ(count_rows(dir.file("state.db"), gone), 0);
  EXPECT_EQ(count_rows(dir.file("state.db"), "SELECT count(*) FROM unavailable_model"), 3);
  clk.advance(2h);
  rows = c.load_unavailable_models();
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].model, "never-model");
}

TEST(sqlite, unavailable_models_on_an_unusable_file_are_refused_not_thrown) {
  keypool_test::temp_dir dir;
  kp::clock::manual clk;
  kp::state::sqlite s(options(dir.path().string(), clk));  // a directory
  EXPECT_FALSE(s.add_unavailable_models({{"groq", "acme", "m", clk.wall_now() + 1h}}));
  EXPECT_FALSE(s.load_unavailable_models());
  EXPECT_FALSE(kp::state::sqlite().add_unavailable_models({}));
  EXPECT_FALSE(kp::state::sqlite().load_unavailable_models());
}
