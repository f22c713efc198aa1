/// The CLI's key state between runs (tools/keypool/detail/state.hpp): a key
/// one `keypool ask` found dead or rate limited is skipped by the next run,
/// a new process sharing the state file; `--state none` forgets; a state
/// file that cannot be used is a warning, never a failed command.
///
/// Every test of this binary gets its own $XDG_STATE_HOME (a listener below),
/// so no test reads another's state, nor the user's. The runs that must be
/// other processes re-execute this binary (/proc/self/exe) as the tool,
/// selected by KEYPOOL_CLI_TEST_AS_TOOL, before gtest starts.

#include <keypool/mock/fleet.hpp>
#include "integration/support/cli.hpp"

#include <keypool/spend/stored.hpp>
#include <keypool/state/sqlite.hpp>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

// Without SQLite the CLI keeps state in memory only: nothing to test here.
#if KEYPOOL_CLI_SQLITE

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace integration_cli_state_test {
namespace {

using keypool::test::cli::run;
using keypool::test::cli::run_result;

namespace fs = std::filesystem;
namespace mock = keypool::mock;
namespace bj = boost::json;

/// In a re-executed child: runs the tool with this process's arguments and exits.
[[maybe_unused]] const bool as_tool = [] {
  if (!std::getenv("KEYPOOL_CLI_TEST_AS_TOOL")) return false;
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (std::size_t i = 0, end; i < all.size(); i = end + 1) {
    end = all.find('\0', i);
    if (end == std::string::npos) end = all.size();
    args.push_back(all.substr(i, end - i));
  }
  args.erase(args.begin());  // the program
  const int code = keypool::cli::run(args, std::cout, std::cerr);
  std::cout.flush();
  std::cerr.flush();
  std::_Exit(code);
}();

fs::path fresh_dir(const std::string& what) {
  static std::atomic<int> n{0};
  auto d =
      fs::temp_directory_path() / ("keypool_" + what + "_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
  fs::create_directories(d);
  return d;
}

/// Each test: a new $XDG_STATE_HOME, and no REDIS_URL from the caller.
class fresh_state_home : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo&) override {
    dir_ = fresh_dir("state_home");
    ::setenv("XDG_STATE_HOME", dir_.c_str(), 1);
    ::unsetenv("REDIS_URL");
  }
  void OnTestEnd(const ::testing::TestInfo&) override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

[[maybe_unused]] const bool listener_added = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new fresh_state_home);
  return true;
}();

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The tool in a new process (this binary re-executed), output through files.
run_result run_process(const std::vector<std::string>& args, const fs::path& dir) {
  static std::atomic<int> n{0};
  const auto out = dir / ("out" + std::to_string(n)), err = dir / ("err" + std::to_string(n++));
  const auto self = fs::read_symlink("/proc/self/exe").string();
  std::vector<std::string> env{"KEYPOOL_CLI_TEST_AS_TOOL=1"};
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  std::vector<char*> argv{const_cast<char*>(self.c_str())}, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  for (auto& e : env) envp.push_back(e.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, self.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return {-1, {}, "posix_spawn failed"};
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

bool blames_key(std::string_view outcome) {
  return outcome == "invalid_key" || outcome == "out_of_credit" || outcome == "rate_limited" ||
         outcome == "quota_exhausted" || outcome == "forbidden";
}

/// Groq with four keys: 1 revoked (401), 2 out of credit (402), 3 and 4 one
/// request a minute (a 429 after their first answer).
mock::fleet_config groq_fleet() {
  mock::fleet_config cfg;
  mock::provider_behavior p;
  p.id = "groq";
  p.keys = mock::sample_keys("groq", 4, 1);
  p.keys[0].state = mock::key_state::revoked;
  p.keys[1].state = mock::key_state::out_of_credit;
  cfg.providers.push_back(p);
  return cfg;
}

struct ask_run {
  run_result r;
  std::vector<std::string> tried;  ///< variables, in attempt order
  std::set<std::string> blamed;    ///< keys an attempt locked or disabled
  std::set<std::string> outcomes;
};

ask_run ask_in_process_of_its_own(const std::string& env, const std::string& state, const fs::path& dir) {
  ask_run a;
  a.r = run_process({"ask", "--json", "--env", env, "--ignore-environment", "--chain", "groq", "--state", state, "Hi"},
                    dir);
  const auto root = bj::parse(a.r.out).as_object();
  for (const auto& at : root.at("attempts").as_array()) {
    const auto& o = at.as_object();
    const std::string var(o.at("variable").as_string()), outcome(o.at("outcome").as_string());
    a.tried.push_back(var);
    a.outcomes.insert(outcome);
    if (blames_key(outcome)) a.blamed.insert(var);
  }
  return a;
}

TEST(CliState, KeysFoundDeadOrLimitedAreSkippedByTheNextRunInANewProcess) {
  mock::fleet f(groq_fleet());
  const auto dir = fresh_dir("cli_state");
  const auto env = (dir / ".env").string();
  f.write_dotenv(env);
  const auto state = (dir / "state.db").string();

  std::set<std::string> blamed, outcomes;
  for (int run = 0; run < 3; ++run) {
    const auto a = ask_in_process_of_its_own(env, state, dir);
    ASSERT_NE(a.r.code, -1) << a.r.err;
    EXPECT_EQ(a.r.err.find("warning"), std::string::npos) << a.r.err;
    for (const auto& v : a.tried) EXPECT_EQ(blamed.count(v), 0u) << "run " << run << " tried " << v << " again";
    blamed.insert(a.blamed.begin(), a.blamed.end());
    outcomes.insert(a.outcomes.begin(), a.outcomes.end());
  }
  // Each kind happened (else the test shows nothing): 401, 402 and 429.
  EXPECT_TRUE(outcomes.count("invalid_key") && outcomes.count("out_of_credit") && outcomes.count("rate_limited"));
  EXPECT_EQ(blamed.size(), 4u);

  // `keys` reads the stored states and says where they live.
  const auto k = run_process({"keys", "--json", "--env", env, "--ignore-environment", "--state", state}, dir);
  const auto root = bj::parse(k.out).as_object();
  EXPECT_EQ(root.at("state").as_object().at("store").as_string(), "sqlite");
  EXPECT_EQ(root.at("state").as_object().at("location").as_string(), state);
  for (const auto& p : root.at("providers").as_array())
    for (const auto& key : p.as_object().at("keys").as_array())
      EXPECT_NE(key.as_object().at("state").as_string(), "available") << key.as_object().at("variable").as_string();

  // --state none forgets: every key is tried again (and found spent or dead).
  const auto none = ask_in_process_of_its_own(env, "none", dir);
  EXPECT_EQ(none.r.code, keypool::cli::exit_failed);
  EXPECT_EQ(std::set<std::string>(none.tried.begin(), none.tried.end()).size(), 4u);

  // The file holds fingerprints, never a secret.
  for (const auto* suffix : {"", "-wal"})
    for (const auto& key : f.key_specs("groq"))
      EXPECT_EQ(slurp(state + suffix).find(key.secret), std::string::npos) << key.variable;
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST(CliState, DefaultFileIsUnderXdgStateHomeAndKeysSaysSo) {
  mock::fleet f(groq_fleet());
  const auto dir = fresh_dir("cli_state");
  const auto env = (dir / ".env").string();
  f.write_dotenv(env);
  const std::string file = std::string(std::getenv("XDG_STATE_HOME")) + "/keypool/state.db";

  const auto first = run({"ask", "--env", env, "--ignore-environment", "--chain", "groq", "Hi"});
  EXPECT_EQ(first.code, keypool::cli::exit_ok) << first.err;
  EXPECT_TRUE(fs::exists(file));
  const auto second = run({"ask", "--json", "--env", env, "--ignore-environment", "--chain", "groq", "Hi"});
  const auto attempts = bj::parse(second.out).as_object().at("attempts").as_array();
  for (const auto& at : attempts) {
    const auto var = at.as_object().at("variable").as_string();
    EXPECT_NE(var, "GROQ_API_KEY_1");  // revoked, found by the first run
    EXPECT_NE(var, "GROQ_API_KEY_2");  // out of credit
  }

  const auto keys = run({"keys", "--env", env, "--ignore-environment"});
  EXPECT_NE(keys.out.find("key state: SQLite file " + file + " ($XDG_STATE_HOME)"), std::string::npos) << keys.out;
  EXPECT_NE(keys.out.find("stored state invalid"), std::string::npos) << keys.out;
  const auto none = run({"keys", "--env", env, "--ignore-environment", "--state", "none"});
  EXPECT_NE(none.out.find("key state: memory only (--state none)"), std::string::npos) << none.out;
  EXPECT_EQ(none.out.find("stored state"), std::string::npos) << none.out;
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST(CliState, UnusableStateFileIsAWarningAndTheAnswerStillComes) {
  mock::fleet f(groq_fleet());
  const auto dir = fresh_dir("cli_state");
  const auto env = (dir / ".env").string();
  f.write_dotenv(env);
  const auto not_db = (dir / "not.db").string();
  std::ofstream(not_db) << "this is not a SQLite database\n" << std::string(4096, 'x');
  for (const auto& bad : {not_db, dir.string()}) {
    const auto r = run({"ask", "--env", env, "--ignore-environment", "--chain", "groq", "--state", bad, "Hi"});
    EXPECT_EQ(r.code, keypool::cli::exit_ok) << r.err;
    EXPECT_NE(r.out.find("served by groq"), std::string::npos) << r.out;
    const auto line = r.err.substr(0, r.err.find('\n'));
    EXPECT_NE(line.find("keypool: warning: "), std::string::npos) << r.err;
    EXPECT_NE(line.find("'" + bad + "'"), std::string::npos) << r.err;
    EXPECT_NE(line.find("memory"), std::string::npos) << r.err;
    const auto k = run({"keys", "--env", env, "--ignore-environment", "--state", bad});
    EXPECT_EQ(k.code, keypool::cli::exit_ok) << k.err;
    EXPECT_NE(k.out.find("key state: memory only (the state file " + bad + " cannot be used)"), std::string::npos)
        << k.out;
  }
  EXPECT_EQ(slurp(not_db).substr(0, 20), "this is not a SQLite");  // left untouched

  // An unreachable Redis: a warning without the password, then memory.
  mock::fleet fresh(groq_fleet());  // the first fleet's answering keys are spent for a minute
  const auto fresh_env = (dir / "fresh.env").string();
  fresh.write_dotenv(fresh_env);
  ::setenv("REDIS_URL", "redis://:FAKEredisPASSWORD@127.0.0.1:1/0", 1);
  const auto r = run({"ask", "--env", fresh_env, "--chain", "groq", "Hi"});
  EXPECT_EQ(r.code, keypool::cli::exit_ok) << r.err;
  EXPECT_NE(r.err.find("keypool: warning: cannot use Redis at redis://127.0.0.1:1/0"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("FAKEredisPASSWORD"), std::string::npos) << r.err;
  // --ignore-environment leaves REDIS_URL unread.
  const auto k = run({"keys", "--env", env, "--ignore-environment"});
  EXPECT_NE(k.out.find("key state: SQLite file"), std::string::npos) << k.out;
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST(CliState, SpendOfEachRunIsAddedToTheFileAndKeysShowsIt) {
  mock::fleet f(groq_fleet());
  const auto dir = fresh_dir("cli_state");
  const auto env = (dir / ".env").string();
  f.write_dotenv(env);
  const auto state = (dir / "state.db").string();
  const std::vector<std::string> ask{"ask",     "--env", env, "--ignore-environment", "--chain", "groq",
                                     "--state", state,   "Hi"};
  ASSERT_EQ(run_process(ask, dir).code, keypool::cli::exit_ok);
  ASSERT_EQ(run_process(ask, dir).code, keypool::cli::exit_ok);  // the other key of the two that answer

  const auto k = run({"keys", "--json", "--env", env, "--ignore-environment", "--state", state});
  std::uint64_t requests = 0, output_tokens = 0;
  const auto doc = bj::parse(k.out);
  for (const auto& p : doc.as_object().at("providers").as_array())
    for (const auto& key : p.as_object().at("keys").as_array()) {
      const auto& sp = key.as_object().at("spend").as_object();
      requests += sp.at("requests").to_number<std::uint64_t>();
      output_tokens += sp.at("output_tokens").to_number<std::uint64_t>();
    }
  EXPECT_EQ(requests, 2u);  // one answered request per run: failed attempts cost nothing
  EXPECT_GT(output_tokens, 0u);
  const auto text = run({"keys", "--env", env, "--ignore-environment", "--state", state});
  EXPECT_NE(text.out.find(" in 1 request"), std::string::npos) << text.out;

  // Read back into a ledger (as `serve` would at start): caps count it.
  keypool::state::sqlite store({.path = state});
  keypool::spend::spend_ledger ledger;
  const auto rows = store.load_spend();
  ASSERT_TRUE(rows) << store.status().last_error;
  for (const auto& r : *rows) ledger.restore(keypool::spend::from_stored(r, r.fingerprint));
  EXPECT_EQ(ledger.snapshot().requests, 2u);
  ledger.set_cap("groq", 0);
  EXPECT_TRUE(ledger.cap_reached(ledger.provider("groq")));
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST(CliState, SpendSinceASnapshotIsWhatToAddToTheStore) {
  keypool::spend::spend_ledger ledger;
  const auto h = ledger.provider("groq");
  ledger.record(h, "GROQ_API_KEY_1", "aaaaaaaaaaaa", "m", {10, 20});
  const auto before = ledger.snapshot();
  ledger.record(h, "GROQ_API_KEY_1", "aaaaaaaaaaaa", "m", {1, 2});
  ledger.record(h, "GROQ_API_KEY_2", "bbbbbbbbbbbb", "m", {3, 4});
  const auto rows = keypool::spend::to_stored(keypool::spend::since(before, ledger.snapshot()));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].fingerprint, "aaaaaaaaaaaa");
  EXPECT_EQ(rows[0].requests, 1u);
  EXPECT_EQ(rows[0].input_tokens, 1u);
  EXPECT_EQ(rows[1].fingerprint, "bbbbbbbbbbbb");
  EXPECT_EQ(rows[1].output_tokens, 4u);
}

/// Groq with one key (no account) that answers every model but one, which
/// it calls retired.
mock::fleet_config retired_model_fleet() {
  mock::fleet_config cfg;
  mock::provider_behavior p;
  p.id = "groq";
  p.keys = mock::sample_keys("groq", 1);
  p.retired = {"retired-model"};
  cfg.providers.push_back(p);
  return cfg;
}

/// The models an `ask --json` run tried, in attempt order.
std::vector<std::string> models_tried(const run_result& r) {
  std::vector<std::string> out;
  const auto root = bj::parse(r.out).as_object();
  for (const auto& at : root.at("attempts").as_array()) out.emplace_back(at.as_object().at("model").as_string());
  return out;
}

TEST(CliState, AModelFoundRetiredIsNotTriedAgainByTheNextRun) {
  mock::fleet f(retired_model_fleet());
  const auto dir = fresh_dir("cli_state");
  const auto env = (dir / ".env").string();
  f.write_dotenv(env);
  const auto state = (dir / "state.db").string();
  const auto ask = [&](const std::string& where) {
    return run_process({"ask", "--json", "--env", env, "--ignore-environment", "--chain", "groq", "--model",
                        "groq=retired-model", "--model", "groq=current-model", "--state", where, "Hi"},
                       dir);
  };
  using models = std::vector<std::string>;
  const auto first = ask(state);
  ASSERT_EQ(first.code, keypool::cli::exit_ok) << first.err;
  EXPECT_EQ(models_tried(first), (models{"retired-model", "current-model"}));
  EXPECT_NE(first.out.find("model_unavailable"), std::string::npos) << first.out;

  // A new process with the same file goes straight to the model that works.
  const auto second = ask(state);
  ASSERT_EQ(second.code, keypool::cli::exit_ok) << second.err;
  EXPECT_EQ(models_tried(second), models{"current-model"});
  // --state none remembers nothing: the retired model is tried again.
  const auto none = ask("none");
  ASSERT_EQ(none.code, keypool::cli::exit_ok) << none.err;
  EXPECT_EQ(models_tried(none), (models{"retired-model", "current-model"}));

  // Stored by provider, the key's fingerprint and the model, for the
  // client's default hour; never the secret.
  keypool::state::sqlite store({.path = state});
  const auto rows = store.load_unavailable_models();
  ASSERT_TRUE(rows) << store.status().last_error;
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].provider, "groq");
  EXPECT_EQ((*rows)[0].model, "retired-model");
  EXPECT_EQ((*rows)[0].account.size(), 12u);
  EXPECT_GT((*rows)[0].until, std::chrono::system_clock::now() + std::chrono::minutes(50));
  for (const auto* suffix : {"", "-wal"})
    EXPECT_EQ(slurp(state + suffix).find(f.key_specs("groq")[0].secret), std::string::npos);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST(CliState, StateOptionIsParsedForTheClientCommandsOnly) {
  EXPECT_EQ(*keypool::cli::parse({"ask", "--state", "none", "Hi"}).state, "none");
  EXPECT_EQ(*keypool::cli::parse({"keys", "--state", "/tmp/x.db"}).state, "/tmp/x.db");
  EXPECT_THROW(keypool::cli::parse({"mock", "--state", "none"}), keypool::cli::usage_error);
  EXPECT_THROW(keypool::cli::parse({"ask", "--state", "", "Hi"}), keypool::cli::usage_error);
}

}  // namespace

#endif  // KEYPOOL_CLI_SQLITE

}  // namespace integration_cli_state_test
