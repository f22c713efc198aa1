/// The `keypool` command-line tool against the mock fleet, called in
/// process (keypool::cli::run): keys --json, probe --json, ask, exit codes,
/// and that no secret ever reaches its output.

#include "integration/support/cli.hpp"
#include <keypool/mock/fleet.hpp>
#include "../../tools/keypool/commands/ask.hpp"
#include "http/support/test_server.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace integration_cli_test {
namespace {

using keypool::test::cli::expect_no_secret;
using keypool::test::cli::run;
using keypool::test::cli::run_result;

namespace fs = std::filesystem;
namespace mock = keypool::mock;
namespace bj = boost::json;

/// A scratch directory, removed afterwards.
struct scratch {
  fs::path dir;
  scratch() {
    static std::atomic<int> n{0};
    dir = fs::temp_directory_path() / ("keypool_cli_test_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::create_directories(dir);
  }
  ~scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name, std::ios::binary) << text;
    return (dir / name).string();
  }
};

const bj::object* find_key(const bj::array& keys, std::string_view variable) {
  for (const auto& k : keys)
    if (k.as_object().at("variable").as_string() == variable) return &k.as_object();
  return nullptr;
}

void expect_key_fields(const bj::object& k) {
  for (const char* f :
       {"provider", "variable", "redacted", "fingerprint", "state", "available_in_ms", "requests", "failures"})
    EXPECT_TRUE(k.contains(f)) << "missing field " << f;
  EXPECT_EQ(k.at("fingerprint").as_string().size(), 12u);
}

TEST(CliKeys, JsonListsKeysAndRejectedLinesWithFileAndLine) {
  mock::fleet f;
  scratch s;
  const auto env = s.write(".env", f.dotenv() + "GROQ_API_KEY_9=has a space\nGROQ_API_KEY_X=whatever\n");
  auto r = run({"keys", "--env", env, "--ignore-environment", "--json"});
  EXPECT_EQ(r.code, keypool::cli::exit_failed) << r.err;
  expect_no_secret(f, r);
  const auto root = bj::parse(r.out).as_object();
  EXPECT_EQ(root.at("key_count").to_number<std::uint64_t>(), 16u);
  EXPECT_FALSE(root.at("ok").as_bool());
  EXPECT_EQ(root.at("rejected").to_number<std::uint64_t>(), 2u);
  bool saw_groq = false;
  for (const auto& p : root.at("providers").as_array()) {
    const auto& po = p.as_object();
    if (po.at("id").as_string() != "groq") continue;
    saw_groq = true;
    EXPECT_TRUE(po.at("base_url_overridden").as_bool());
    const auto& keys = po.at("keys").as_array();
    ASSERT_EQ(keys.size(), 3u);
    for (const auto& k : keys) {
      expect_key_fields(k.as_object());
      EXPECT_EQ(k.as_object().at("state").as_string(), "available");
      EXPECT_EQ(k.as_object().at("requests").as_int64(), 0);
    }
    EXPECT_EQ(keys[0].as_object().at("redacted").as_string(), keypool::redact(f.key_specs("groq")[0].secret));
  }
  EXPECT_TRUE(saw_groq);
  const auto& diags = root.at("diagnostics").as_array();
  ASSERT_GE(diags.size(), 2u);
  bool saw_space = false;
  for (const auto& d : diags) {
    const auto& dobj = d.as_object();
    EXPECT_EQ(dobj.at("file").as_string(), env);
    EXPECT_GT(dobj.at("line").as_int64(), 0);
    saw_space = saw_space || dobj.at("variable").as_string() == "GROQ_API_KEY_9";
  }
  EXPECT_TRUE(saw_space);

  // The text form names file:line of the rejected line on stderr.
  auto text = run({"keys", "--env", env, "--ignore-environment"});
  EXPECT_EQ(text.code, keypool::cli::exit_failed);
  EXPECT_NE(text.err.find(env + ":"), std::string::npos) << text.err;
  EXPECT_NE(text.out.find("GROQ_API_KEY_3"), std::string::npos);
  expect_no_secret(f, text);
}

TEST(CliKeys, CleanFileExitsZero) {
  mock::fleet f;
  scratch s;
  auto r = run({"keys", "--env", s.write(".env", f.dotenv()), "--ignore-environment", "--json"});
  EXPECT_EQ(r.code, keypool::cli::exit_ok) << r.err;
  EXPECT_TRUE(bj::parse(r.out).as_object().at("ok").as_bool());
}

TEST(CliProbe, JsonReportsEachKeysOutcomeAndState) {
  mock::fleet f;  // sample fleet: GOOGLE_API_KEY_2 revoked
  scratch s;
  const auto env = s.write(".env", f.dotenv());
  auto r = run({"probe", "groq", "google", "--env", env, "--ignore-environment", "--json"});
  EXPECT_EQ(r.code, keypool::cli::exit_failed) << r.err;
  expect_no_secret(f, r);
  EXPECT_NE(r.err.find("[1/5] groq GROQ_API_KEY_1"), std::string::npos) << r.err;  // progress on stderr
  const auto root = bj::parse(r.out).as_object();
  const auto& keys = root.at("keys").as_array();
  ASSERT_EQ(keys.size(), 5u);
  for (const auto& k : keys) expect_key_fields(k.as_object());
  const auto* g1 = find_key(keys, "GROQ_API_KEY_1");
  ASSERT_NE(g1, nullptr);
  EXPECT_EQ(g1->at("state").as_string(), "available");
  EXPECT_EQ(g1->at("outcome").as_string(), "success");
  EXPECT_EQ(g1->at("requests").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(g1->at("failures").to_number<std::uint64_t>(), 0u);
  EXPECT_EQ(g1->at("status").to_number<std::uint64_t>(), 200u);
  const auto* bad = find_key(keys, "GOOGLE_API_KEY_2");
  ASSERT_NE(bad, nullptr);
  EXPECT_EQ(bad->at("state").as_string(), "invalid");
  EXPECT_EQ(bad->at("outcome").as_string(), "invalid_key");
  EXPECT_EQ(bad->at("failures").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(root.at("failed").to_number<std::uint64_t>(), 1u);
  EXPECT_FALSE(root.at("ok").as_bool());

  auto good = run({"probe", "groq", "--env", env, "--ignore-environment", "--json"});
  EXPECT_EQ(good.code, keypool::cli::exit_ok) << good.err;
}

TEST(CliProbe, RetiredModelFallsBackAndBaseUrlOverride) {
  mock::fleet f;  // NVIDIA's first catalog model is retired in the sample fleet
  scratch s;
  std::string env;
  for (const auto& k : f.key_specs("nvidia")) env += k.variable + "=" + k.secret + "\n";
  const auto path = s.write(".env", env);
  auto r = run({"probe", "nvidia", "--env", path, "--ignore-environment", "--base-url",
                "nvidia=" + f.base_url("nvidia"), "--json"});
  EXPECT_EQ(r.code, keypool::cli::exit_ok) << r.err << r.out;
  const auto parsed = bj::parse(r.out);
  for (const auto& k : parsed.as_object().at("keys").as_array())
    EXPECT_EQ(k.as_object().at("model").as_string(), "meta/llama-3.2-90b-vision-instruct");
}

TEST(CliAsk, SendsImagesThroughTheChain) {
  mock::fleet f;
  scratch s;
  const auto env = s.write(".env", f.dotenv());
  const auto img = s.write("photo.png", std::string("\x89PNG\r\n\x1a\n not really a png", 26));
  auto r = run(
      {"ask", "--image", img, "--env", env, "--ignore-environment", "--chain", "groq,nvidia", "What", "is", "this?"});
  EXPECT_EQ(r.code, keypool::cli::exit_ok) << r.err;
  EXPECT_NE(r.out.find("served by groq qwen/qwen3.6-27b with GROQ_API_KEY_1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("I see 1 image"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("API KEY STATISTICS"), std::string::npos) << r.out;
  expect_no_secret(f, r);

  auto j = run({"ask", "--json", "--image", img, "--env", env, "--ignore-environment", "--chain", "google", "Hi"});
  EXPECT_EQ(j.code, keypool::cli::exit_ok) << j.err;
  const auto root = bj::parse(j.out).as_object();
  EXPECT_TRUE(root.at("ok").as_bool());
  EXPECT_EQ(root.at("provider").as_string(), "google");
  EXPECT_FALSE(root.at("attempts").as_array().empty());
}

/// `ask --json` against a fresh sample fleet with `chain` (none: the default).
run_result ask_fresh_fleet(std::optional<std::string> chain) {
  mock::fleet f;
  scratch s;
  std::vector<std::string> args{"ask", "--json", "--env", s.write(".env", f.dotenv()), "--ignore-environment"};
  if (chain) args.insert(args.end(), {"--chain", *chain});
  args.push_back("Hi");
  return run(args);
}

/// Who served and every attempt, without the latencies.
std::string served_and_attempts(const run_result& r) {
  const auto root = bj::parse(r.out).as_object();
  std::string out = bj::serialize(root.at("provider")) + " " + bj::serialize(root.at("model"));
  for (const auto& a : root.at("attempts").as_array())
    out += "; " + std::string(a.at("variable").as_string()) + " " + std::string(a.at("outcome").as_string());
  return out;
}

TEST(CliAsk, ChainPriorityIsTheDefaultAndSeedIsADeprecatedAlias) {
  namespace d = keypool::cli::detail;
  EXPECT_EQ(keypool::cli::parse({"ask", "Hi"}).chain, "priority");
  EXPECT_EQ(d::chain_order("priority"), d::chain_order("seed"));
  for (const auto& p : keypool::providers::builtin_descriptors())
    EXPECT_EQ(d::models_for(p.id, "priority"), d::models_for(p.id, "seed")) << p.id;

  const auto by_default = ask_fresh_fleet(std::nullopt);
  const auto priority = ask_fresh_fleet("priority");
  const auto seed = ask_fresh_fleet("seed");
  for (const auto* r : {&by_default, &priority, &seed}) ASSERT_EQ(r->code, keypool::cli::exit_ok) << r->err;
  EXPECT_EQ(by_default.err, "");
  EXPECT_EQ(priority.err, "");
  EXPECT_EQ(seed.err, "keypool: --chain seed is deprecated; use --chain priority (the same order)\n");
  EXPECT_EQ(served_and_attempts(priority), served_and_attempts(by_default));
  EXPECT_EQ(served_and_attempts(seed), served_and_attempts(priority));
  EXPECT_EQ(bj::parse(priority.out).at("provider").as_string(), "anthropic");  // priority 1: Claude 3.5 Sonnet
}

TEST(CliAsk, FailureExitsNonZeroWithTheSeedMessage) {
  mock::fleet_config cfg;
  mock::provider_behavior p;
  p.id = "groq";
  p.keys = mock::sample_keys("groq", 2);
  for (auto& k : p.keys) k.state = mock::key_state::revoked;
  cfg.providers.push_back(p);
  mock::fleet f(cfg);
  scratch s;
  auto r = run({"ask", "--env", s.write(".env", f.dotenv()), "--ignore-environment", "--chain", "groq", "Hello"});
  EXPECT_EQ(r.code, keypool::cli::exit_failed);
  EXPECT_NE(r.err.find("All GROQ API keys are invalid"), std::string::npos) << r.err;
  expect_no_secret(f, r);
}

TEST(CliUsage, BadArgumentsExitTwo) {
  EXPECT_EQ(run({}).code, keypool::cli::exit_usage);
  EXPECT_EQ(run({"frobnicate"}).code, keypool::cli::exit_usage);
  EXPECT_EQ(run({"probe", "--base-url", "nosuch=http://127.0.0.1:1"}).code, keypool::cli::exit_usage);
  EXPECT_EQ(run({"probe", "--base-url", "groq=ftp://x"}).code, keypool::cli::exit_usage);
  EXPECT_EQ(run({"keys", "--env", "/nonexistent/keypool/.env"}).code, keypool::cli::exit_usage);
  EXPECT_EQ(run({"ask"}).code, keypool::cli::exit_usage);
  EXPECT_EQ(run({"ask", "--image", "x.bmp", "hi"}).code, keypool::cli::exit_usage);
  EXPECT_EQ(run({"mock", "--config", "/nonexistent/fleet.json"}).code, keypool::cli::exit_usage);
  const auto help = run({"help"});
  EXPECT_EQ(help.code, keypool::cli::exit_ok);
  EXPECT_NE(help.out.find("keypool <command>"), std::string::npos);
}

/// parse_fleet_config's error message for `text`, or "no error".
std::string config_error_of(const char* text) {
  try {
    mock::parse_fleet_config(text);
  } catch (const mock::config_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(MockConfig, JsonFileRoundTripsAndErrorsNameThePath) {
  const auto cfg = mock::parse_fleet_config(R"({"port": 0, "threads": 1, "providers": {
      "groq": {"latency_ms": 5, "retired": ["old"], "faults": {"error_rate": 0.5},
               "keys": [{"secret": "gsk_fake_key_one_0000000000", "per_minute": 30, "per_day": 14400},
                        {"secret": "gsk_fake_key_two_0000000000", "state": "revoked", "account": "acme"}]}}})");
  ASSERT_EQ(cfg.providers.size(), 1u);
  const auto& g = cfg.providers[0];
  EXPECT_EQ(g.keys[0].variable, "GROQ_API_KEY_1");
  EXPECT_EQ(g.keys[0].per_minute, 30u);
  EXPECT_EQ(g.keys[1].state, mock::key_state::revoked);
  EXPECT_EQ(g.keys[1].account, "acme");
  EXPECT_EQ(g.faults.error_rate, 0.5);
  EXPECT_NE(config_error_of(R"({"providers":{"groq":{"keys":[{"secret":"a","per_minte":3}]}}})")
                .find("providers.groq.keys[0].per_minte: unknown field"),
            std::string::npos);
  EXPECT_NE(config_error_of(R"({"providers":{"nope":{}}})").find("unknown provider"), std::string::npos);
  EXPECT_NE(config_error_of(R"({"providers":{"groq":{"faults":{"error_rate":2}}}})").find("from 0 to 1"),
            std::string::npos);
  EXPECT_NE(config_error_of(R"({"providers":{"groq":{"keys":[{"per_day":1}]}}})").find("secret: required"),
            std::string::npos);
  // A member given twice is an error, not silently the last one.
  EXPECT_EQ(config_error_of(R"({"threads":1,"threads":2})"), "threads: given twice");
  EXPECT_EQ(config_error_of(R"({"providers":{"groq":{"keys":[]},"groq":{"keys":[]}}})"), "providers.groq: given twice");
}

// ---- command-line parsing -----------------------------------------------------------

/// The usage_error parse() throws, or "no error".
std::string usage_message(std::vector<std::string> args) {
  try {
    keypool::cli::parse(args);
  } catch (const keypool::cli::usage_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(CliUsage, TimeoutAndPortMustBeWholeNumbersInRange) {
  for (const char* v :
       {"5s", "1e3", "12.5", "0", "-5", "", " 5", "+5", "86400001", "9223372036854775807", "99999999999999999999"}) {
    const auto m = usage_message({"probe", "--timeout", v});
    EXPECT_NE(m.find("--timeout"), std::string::npos) << "'" << v << "': " << m;
    EXPECT_NE(m.find("'" + std::string(v) + "'"), std::string::npos) << "'" << v << "': " << m;
  }
  for (const char* v : {"8080xyz", "65536", "-1", "0x50", "80 ", ""}) {
    const auto m = usage_message({"mock", "--port", v});
    EXPECT_NE(m.find("--port"), std::string::npos) << "'" << v << "': " << m;
    EXPECT_NE(m.find("'" + std::string(v) + "'"), std::string::npos) << "'" << v << "': " << m;
  }
  EXPECT_EQ(keypool::cli::parse({"probe", "--timeout", "1"}).timeout, std::chrono::milliseconds(1));
  EXPECT_EQ(*keypool::cli::parse({"mock", "--port", "8080"}).port, 8080);
  EXPECT_EQ(*keypool::cli::parse({"mock", "--port", "0"}).port, 0);

  // The largest timeout still gives positive deadlines (no overflow).
  const auto o = keypool::cli::parse({"ask", "--timeout", "86400000", "hi"});
  EXPECT_EQ(o.timeout, std::chrono::milliseconds(86'400'000));
  const auto t = keypool::cli::detail::transport_options_for(o);
  EXPECT_GT(t.total_timeout, t.read_timeout);
  EXPECT_GT(o.timeout * 2, o.timeout);

  // Through run(): exit 2 (no keys: nothing is sent even if parsing let it through).
  scratch s;
  const auto empty = s.write("empty.env", "");
  EXPECT_EQ(run({"probe", "--env", empty, "--ignore-environment", "--timeout", "5s"}).code, keypool::cli::exit_usage);
}

TEST(CliUsage, DoubleDashEndsTheOptions) {
  const auto o = keypool::cli::parse({"ask", "--json", "--", "-5 degrees, what to wear?", "--json", "--"});
  EXPECT_TRUE(o.json);
  EXPECT_EQ(o.positional, (std::vector<std::string>{"-5 degrees, what to wear?", "--json", "--"}));
  EXPECT_NE(usage_message({"ask", "-5 degrees"}).find("unknown option"), std::string::npos);

  mock::fleet f;
  scratch s;
  auto r = run({"ask", "--env", s.write(".env", f.dotenv()), "--ignore-environment", "--chain", "groq", "--",
                "-5 degrees, what to wear?"});
  EXPECT_EQ(r.code, keypool::cli::exit_ok) << r.err;
  EXPECT_NE(r.out.find("served by groq"), std::string::npos) << r.out;
}

TEST(CliUsage, PlainHttpBaseUrlOnlyToLoopback) {
  for (const char* url : {"groq=http://example.com/openai/v1", "groq=http://10.0.0.1:8080/openai/v1",
                          "groq=http://localhost.example.com/v1", "groq=http://[2001:db8::1]/v1"}) {
    const auto m = usage_message({"probe", "--base-url", url});
    EXPECT_NE(m.find("loopback"), std::string::npos) << url << ": " << m;
  }
  for (const char* url : {"groq=http://127.0.0.1:8080/groq/openai/v1", "groq=http://localhost:1/v1",
                          "groq=http://[::1]:1/v1", "groq=https://example.com/openai/v1"})
    EXPECT_EQ(usage_message({"probe", "--base-url", url}), "no error") << url;
  scratch s;
  const auto empty = s.write("empty.env", "");
  const auto r =
      run({"probe", "--env", empty, "--ignore-environment", "--base-url", "groq=http://example.com/openai/v1"});
  EXPECT_EQ(r.code, keypool::cli::exit_usage) << r.err;
}

/// The commands that read an option, from the table: "probe, ask".
std::string applies_to(const keypool::cli::option_scope& s) {
  std::string where;
  for (const auto c : s.used_by) {
    if (c.empty()) continue;
    if (!where.empty()) where += ", ";
    where += c;
  }
  return where;
}

/// "--image does not apply to 'keys' (it applies to: ask)".
std::string not_applicable(const keypool::cli::option_scope& s, std::string_view command) {
  return std::string(s.option) + " does not apply to '" + std::string(command) + "' (it applies to: " + applies_to(s) +
         ")";
}

TEST(CliUsage, OptionTheCommandDoesNotReadIsRefusedNamingBoth) {
  EXPECT_EQ(usage_message({"mock", "--model", "groq=m"}),
            "--model does not apply to 'mock' (it applies to: probe, ask, serve)");
  EXPECT_EQ(usage_message({"keys", "--image", "x.png"}), "--image does not apply to 'keys' (it applies to: ask)");
  EXPECT_EQ(usage_message({"probe", "--chain", "groq"}),
            "--chain does not apply to 'probe' (it applies to: ask, serve)");
  EXPECT_EQ(usage_message({"probe", "--wait"}), "--wait does not apply to 'probe' (it applies to: ask)");
  EXPECT_EQ(usage_message({"keys", "--timeout", "5000"}),
            "--timeout does not apply to 'keys' (it applies to: probe, ask, serve)");
  EXPECT_EQ(usage_message({"mock", "--env", "mock.env"}),
            "--env does not apply to 'mock' (it applies to: keys, probe, ask, serve)");
  EXPECT_EQ(usage_message({"mock", "--json"}), "--json does not apply to 'mock' (it applies to: keys, probe, ask)");
  EXPECT_EQ(usage_message({"probe", "--tls"}), "--tls does not apply to 'probe' (it applies to: mock)");
  // Refused before its value is looked at (a missing or bad value is not the problem).
  EXPECT_EQ(usage_message({"mock", "--base-url", "nonsense"}),
            "--base-url does not apply to 'mock' (it applies to: keys, probe, ask, serve)");
  EXPECT_EQ(usage_message({"keys", "--port"}), "--port does not apply to 'keys' (it applies to: mock)");
  // Options that apply are still checked as before.
  EXPECT_NE(usage_message({"probe", "--base-url", "nonsense"}).find("expects PROVIDER=VALUE"), std::string::npos);
  // keys and mock take no arguments (probe takes providers, ask a prompt).
  EXPECT_EQ(usage_message({"keys", "groq"}), "'keys' takes no arguments, got 'groq'");
  EXPECT_EQ(usage_message({"mock", "--port", "0", "8080"}), "'mock' takes no arguments, got '8080'");
  EXPECT_EQ(usage_message({"probe", "groq"}), "no error");

  // Through run(): exit 2, the message and the usage on stderr, nothing on stdout.
  scratch s;
  const auto empty = s.write("empty.env", "");
  const auto r = run({"keys", "--env", empty, "--ignore-environment", "--chain", "groq"});
  EXPECT_EQ(r.code, keypool::cli::exit_usage) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("keypool: --chain does not apply to 'keys' (it applies to: ask, serve)\n\n", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(keypool::cli::usage_text), std::string::npos) << r.err;

  // An unknown command is still reported as such; after -- everything is an
  // argument; --help still shows the usage.
  const auto unknown = run({"stats", "--image", "x.png"});
  EXPECT_EQ(unknown.code, keypool::cli::exit_usage);
  EXPECT_NE(unknown.err.find("unknown command 'stats'"), std::string::npos) << unknown.err;
  EXPECT_EQ(usage_message({"ask", "--", "--model", "--port", "--tls"}), "no error");
  const auto help = run({"mock", "--help"});
  EXPECT_EQ(help.code, keypool::cli::exit_ok) << help.err;
  EXPECT_NE(help.out.find("keypool <command>"), std::string::npos);
}

TEST(CliUsage, EveryOptionIsAcceptedExactlyByTheCommandsThatReadIt) {
  // A valid value for each option that takes one; an option added to the
  // table without one here fails below.
  const std::map<std::string_view, std::vector<std::string>> sample{
      {"--json", {}},
      {"--env", {"x.env"}},
      {"--ignore-environment", {}},
      {"--base-url", {"groq=https://example.com/openai/v1"}},
      {"--model", {"groq=m"}},
      {"--image", {"x.png"}},
      {"--chain", {"groq"}},
      {"--max-attempts", {"20"}},
      {"--deadline", {"30s"}},
      {"--wait", {}},
      {"--system", {"Be brief."}},
      {"--tools", {"tools.json"}},
      {"--json-schema", {"schema.json"}},
      {"--stream", {}},
      {"--state", {"none"}},
      {"--ca-file", {"ca.pem"}},
      {"--timeout", {"5000"}},
      {"--config", {"fleet.json"}},
      {"--port", {"0"}},
      {"--tls", {}},
      {"--write-env", {"mock.env"}},
      {"--ca-out", {"ca.pem"}},
      {"--listen", {"127.0.0.1:0"}},
      {"--stats-every", {"5"}},
      {"--drain-timeout", {"10s"}},
      {"--tls-cert", {"cert.pem"}},
      {"--tls-key", {"key.pem"}},
  };
  const auto& commands = keypool::cli::commands;
  for (const auto& s : keypool::cli::option_scopes) {
    const auto value = sample.find(s.option);
    if (value == sample.end()) {
      ADD_FAILURE() << s.option << ": no sample value in this test";
      continue;
    }
    bool used = false;
    for (const auto c : s.used_by)
      if (!c.empty()) {
        used = true;
        EXPECT_NE(std::find(commands.begin(), commands.end(), c), commands.end()) << s.option << ": " << c;
      }
    EXPECT_TRUE(used) << s.option << " applies to no command";
    for (const auto command : commands) {
      std::vector<std::string> args{std::string(command), std::string(s.option)};
      args.insert(args.end(), value->second.begin(), value->second.end());
      if (std::find(s.used_by.begin(), s.used_by.end(), command) != s.used_by.end())
        EXPECT_EQ(usage_message(args), "no error") << s.option << " for " << command;
      else
        EXPECT_EQ(usage_message(args), not_applicable(s, command)) << s.option << " for " << command;
    }
  }

  // Real command lines, every option each command reads.
  const auto keys = keypool::cli::parse({"keys", "--env", "a.env", "--ignore-environment", "--base-url",
                                         "groq=http://127.0.0.1:8080/groq/openai/v1", "--json"});
  EXPECT_EQ(*keys.env_file, "a.env");
  EXPECT_TRUE(keys.ignore_environment && keys.json);
  EXPECT_EQ(keys.base_urls.at("groq"), "http://127.0.0.1:8080/groq/openai/v1");
  const auto probe = keypool::cli::parse({"probe", "groq", "nvidia", "--env", "a.env", "--ignore-environment",
                                          "--base-url", "nvidia=https://example.com/v1", "--model", "groq=m",
                                          "--ca-file", "ca.pem", "--timeout", "5000", "--json"});
  EXPECT_EQ(probe.positional, (std::vector<std::string>{"groq", "nvidia"}));
  EXPECT_EQ(probe.models.at("groq"), (std::vector<std::string>{"m"}));
  EXPECT_EQ(*probe.ca_file, "ca.pem");
  EXPECT_EQ(probe.timeout, std::chrono::milliseconds(5000));
  const auto ask =
      keypool::cli::parse({"ask", "--image", "a.png", "--image", "b.jpg", "--env", "a.env", "--ignore-environment",
                           "--chain", "free-first", "--base-url", "groq=https://example.com/v1", "--ca-file", "ca.pem",
                           "--timeout", "5000", "--json", "--", "-5 degrees?"});
  EXPECT_EQ(ask.images, (std::vector<std::string>{"a.png", "b.jpg"}));
  EXPECT_EQ(ask.chain, "free-first");
  EXPECT_EQ(ask.positional, (std::vector<std::string>{"-5 degrees?"}));
  const auto mock = keypool::cli::parse(
      {"mock", "--config", "fleet.json", "--port", "8080", "--tls", "--write-env", "mock.env", "--ca-out", "ca.pem"});
  EXPECT_EQ(*mock.config_file, "fleet.json");
  EXPECT_EQ(*mock.port, 8080);
  EXPECT_TRUE(mock.tls);
  EXPECT_EQ(*mock.write_env, "mock.env");
  EXPECT_EQ(*mock.ca_out, "ca.pem");
}

TEST(CliUsage, DocsOptionTableMatchesTheParser) {
  // docs/cli.md: "| `--env FILE` | keys, probe, ask | ..." for every option.
  std::ifstream in(std::string(KEYPOOL_SOURCE_DIR) + "/docs/cli.md");
  ASSERT_TRUE(in) << "docs/cli.md";
  std::map<std::string, std::string> documented;
  const std::regex row(R"(^\| `(--[a-z-]+)[^`]*` \| ([a-z, ]+) \|)");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, row)) documented[m[1].str()] = m[2].str();
  }
  EXPECT_EQ(documented.size(), keypool::cli::option_scopes.size());
  for (const auto& s : keypool::cli::option_scopes) {
    const auto it = documented.find(std::string(s.option));
    ASSERT_NE(it, documented.end()) << s.option << " is not in docs/cli.md's option table";
    EXPECT_EQ(it->second, applies_to(s)) << s.option;
  }
}

// ---- keypool mock, in process ----------------------------------------------------------

/// run(args) for `mock`, which runs until SIGINT/SIGTERM: `while_running`
/// runs on another thread, then SIGTERM goes to this thread; without it,
/// SIGTERM comes after `limit` (a mock that should have returned at once).
/// This thread's signal mask is restored and a SIGTERM left over consumed.
run_result run_mock(std::vector<std::string> args, std::function<void()> while_running = {},
                    std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, &old);  // a SIGTERM for this thread stays pending until taken
  const pthread_t self = pthread_self();
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread stopper([&] {
    if (while_running) while_running();
    std::unique_lock lock(mu);
    if (!while_running) cv.wait_for(lock, limit, [&] { return done; });
    if (!done) pthread_kill(self, SIGTERM);
  });
  auto r = run(std::move(args));
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  stopper.join();
  const timespec zero{0, 0};
  while (sigtimedwait(&term, nullptr, &zero) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return r;
}

TEST(CliMock, CaOutWithoutTlsIsAUsageError) {
  scratch s;
  const auto ca = (s.dir / "ca.pem").string();
  const auto r = run_mock({"mock", "--ca-out", ca});
  EXPECT_EQ(r.code, keypool::cli::exit_usage) << r.out << r.err;
  EXPECT_NE(r.err.find("--ca-out needs --tls"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("listening"), std::string::npos) << r.out;
}

TEST(CliMock, ClientOptionsAreRefusedBeforeTheFleetStarts) {
  const auto r = run_mock({"mock", "--port", "0", "--env", "mock.env"});
  EXPECT_EQ(r.code, keypool::cli::exit_usage) << r.out << r.err;
  EXPECT_NE(r.err.find("--env does not apply to 'mock' (it applies to: keys, probe, ask, serve)"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.out.find("listening"), std::string::npos) << r.out;
}

TEST(CliMock, UnwritableCaOutFailsInsteadOfClaimingSuccess) {
  scratch s;
  const auto ca = (s.dir / "no" / "such" / "dir" / "ca.pem").string();
  const auto r = run_mock({"mock", "--tls", "--ca-out", ca});
  EXPECT_EQ(r.code, keypool::cli::exit_failed) << r.out << r.err;
  EXPECT_NE(r.err.find(ca), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("wrote the CA certificate"), std::string::npos) << r.out;

  // A writable one: written, and the fleet runs until SIGTERM.
  const auto good = (s.dir / "ca.pem").string();
  const auto ok = run_mock({"mock", "--tls", "--ca-out", good},
                           [] { std::this_thread::sleep_for(std::chrono::milliseconds(200)); });
  EXPECT_EQ(ok.code, keypool::cli::exit_ok) << ok.err;
  EXPECT_NE(ok.out.find("wrote the CA certificate to " + good), std::string::npos) << ok.out;
  std::ifstream in(good);
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, "-----BEGIN CERTIFICATE-----");
}

TEST(CliMock, StopSummaryCountsEveryCategoryIncludingForbidden) {
  scratch s;
  const auto config = s.write("fleet.json", R"({"threads": 1, "providers": {
      "openai": {"keys": [{"secret": "sk-proj-fake-forbidden-1", "state": "forbidden"},
                          {"secret": "sk-proj-fake-active-2"}]},
      "groq": {"keys": [{"secret": "gsk_mock0fake0revoked0key0000001", "state": "revoked"}]}}})");
  const auto env = (s.dir / "mock.env").string();
  run_result probe{};
  const auto r = run_mock({"mock", "--config", config, "--write-env", env}, [&] {
    // The .env is written once the fleet listens.
    for (int i = 0; i < 500; ++i) {
      std::ifstream in(env);
      std::stringstream text;
      text << in.rdbuf();
      if (text.str().find("GROQ_API_KEY_1=gsk_mock0fake0revoked0key0000001\n") != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    probe = run({"probe", "--env", env, "--ignore-environment", "--json"});
  });
  EXPECT_EQ(probe.code, keypool::cli::exit_failed) << probe.err;
  EXPECT_EQ(r.code, keypool::cli::exit_ok) << r.err;
  const auto at = r.out.find("stopped; requests served:");
  ASSERT_NE(at, std::string::npos) << r.out;
  // "  openai: 2 requests, 1 ok, 0 rate limited, ..., 1 forbidden, ..." — the
  // categories add up to the requests.
  std::istringstream summary(r.out.substr(at));
  std::string line;
  std::getline(summary, line);
  int lines = 0;
  while (std::getline(summary, line)) {
    if (line.empty()) continue;
    ++lines;
    const std::regex number(R"((\d+) ([a-z0-9 ]+))");
    std::uint64_t requests = 0, sum = 0;
    for (std::sregex_iterator it(line.begin(), line.end(), number), end; it != end; ++it) {
      const auto n = std::stoull((*it)[1].str());
      if ((*it)[2].str() == "requests")
        requests = n;
      else
        sum += n;
    }
    EXPECT_EQ(sum, requests) << line;
    if (line.find("openai:") != std::string::npos) {
      EXPECT_NE(line.find("2 requests, 1 ok"), std::string::npos) << line;
      EXPECT_NE(line.find(", 1 forbidden,"), std::string::npos) << line;
    }
    if (line.find("groq:") != std::string::npos) {
      EXPECT_NE(line.find("1 requests"), std::string::npos) << line;
      EXPECT_NE(line.find("1 auth errors"), std::string::npos) << line;
    }
  }
  EXPECT_EQ(lines, 2) << r.out;
}

TEST(MockConfig, DuplicateVariableNamesAreErrorsNamingBothKeys) {
  // keys[1]'s default name is GROQ_API_KEY_2, which keys[0] took explicitly.
  const auto m = config_error_of(R"({"providers":{"groq":{"keys":[
      {"variable": "GROQ_API_KEY_2", "secret": "gsk_mock0fake0a0000000000001"},
      {"secret": "gsk_mock0fake0b0000000000002"}]}}})");
  EXPECT_NE(m.find("providers.groq.keys[1].variable"), std::string::npos) << m;
  EXPECT_NE(m.find("providers.groq.keys[0]"), std::string::npos) << m;
  EXPECT_NE(m.find("GROQ_API_KEY_2"), std::string::npos) << m;
  EXPECT_EQ(m.find("gsk_mock0fake0"), std::string::npos) << m;  // never a secret
  // Across providers too: one .env holds them all.
  const auto across = config_error_of(R"({"providers":{
      "groq": {"keys":[{"variable": "SHARED_KEY", "secret": "gsk_mock0fake0a0000000000001"}]},
      "openai": {"keys":[{"variable": "SHARED_KEY", "secret": "sk-proj-mock0fake0b00000000002"}]}}})");
  EXPECT_NE(across.find("SHARED_KEY"), std::string::npos) << across;
  EXPECT_NE(across.find("providers.groq.keys[0]"), std::string::npos) << across;
  EXPECT_NE(across.find("providers.openai.keys[0]"), std::string::npos) << across;
  // Distinct names (explicit or default) are fine.
  EXPECT_EQ(config_error_of(R"({"providers":{"groq":{"keys":[
      {"variable": "GROQ_API_KEY_7", "secret": "gsk_mock0fake0a0000000000001"},
      {"secret": "gsk_mock0fake0b0000000000002"}]}}})"),
            "no error");
  // Through the CLI: exit 2.
  scratch s;
  const auto cfg = s.write("dup.json", R"({"providers":{"groq":{"keys":[
      {"variable": "GROQ_API_KEY_2", "secret": "gsk_mock0fake0a0000000000001"},
      {"secret": "gsk_mock0fake0b0000000000002"}]}}})");
  EXPECT_EQ(run_mock({"mock", "--config", cfg}).code, keypool::cli::exit_usage);
}

// ---- ask: the attempt budget and its options (issue 28, item 8) ------------------------

constexpr int exit_ok = keypool::cli::exit_ok;
constexpr int exit_failed = keypool::cli::exit_failed;
constexpr int exit_usage = keypool::cli::exit_usage;

/// The sample fleet with every key of the providers before Groq in the
/// priority order refused: 8 keys, as many as the client's default budget.
void revoke_before_groq(mock::fleet& f) {
  for (const char* id : {"anthropic", "openai", "google", "zai"})
    for (const auto& k : f.key_specs(id)) f.providers().set_key_state(id, k.variable, mock::key_state::revoked);
}

TEST(CliAsk, DefaultBudgetTriesEveryKeyOfTheChain) {
  mock::fleet f;
  revoke_before_groq(f);
  scratch s;
  const auto env = s.write(".env", f.dotenv());
  const auto r = run({"ask", "--json", "--env", env, "--ignore-environment", "Hi"});
  ASSERT_EQ(r.code, exit_ok) << r.err << r.out;
  const auto root = bj::parse(r.out).as_object();
  EXPECT_EQ(root.at("provider").as_string(), "groq");
  EXPECT_EQ(root.at("attempts").as_array().size(), 9u);  // 8 keys refused, then Groq's first
  expect_no_secret(f, r);

  // The budget: each key of the chain with each model of its provider, and
  // one more to reach the chain's own error when every key failed.
  namespace d = keypool::cli::detail;
  const auto o = keypool::cli::parse({"ask", "--env", env, "--ignore-environment", "Hi"});
  const auto cfg = d::load_keys(o);
  std::size_t every = 0;
  for (const auto& p : cfg.providers) every += p.keys.size() * d::models_for(p.provider.id, "priority").size();
  const auto pools = d::make_ask_pools(o, cfg);
  EXPECT_EQ(d::attempt_budget(o, pools), every + 1);
  EXPECT_GT(every, 8u);
  EXPECT_EQ(d::failover_for(o, pools).deadline, std::chrono::milliseconds(120'000));  // twice --timeout
  EXPECT_FALSE(d::failover_for(o, pools).wait_for_key);
  const auto capped = keypool::cli::parse({"ask", "--max-attempts", "3", "--wait", "--deadline", "1m30s", "Hi"});
  EXPECT_EQ(d::failover_for(capped, pools).max_attempts, 3u);
  EXPECT_EQ(d::failover_for(capped, pools).deadline, std::chrono::milliseconds(90'000));
  EXPECT_TRUE(d::failover_for(capped, pools).wait_for_key);
  // With --wait, keys are tried again after waiting: only the deadline ends it.
  const auto waiting = keypool::cli::parse({"ask", "--wait", "Hi"});
  EXPECT_EQ(d::attempt_budget(waiting, pools), std::numeric_limits<unsigned>::max());
}

TEST(CliAsk, MaxAttemptsGivesUpSayingWhatIsLeft) {
  mock::fleet f;
  revoke_before_groq(f);
  scratch s;
  const auto env = s.write(".env", f.dotenv());
  const auto r = run({"ask", "--max-attempts", "3", "--env", env, "--ignore-environment", "Hi"});
  EXPECT_EQ(r.code, exit_failed) << r.out;
  EXPECT_NE(r.err.find("gave up after 3 attempts"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("13 keys still available (raise --max-attempts or --deadline)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("next available in 15 min (ANTHROPIC_API_KEY_1)"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("  4. "), std::string::npos) << r.out;
}

TEST(CliAsk, DeadlineTakesADurationWithAUnit) {
  using std::chrono::milliseconds;
  EXPECT_EQ(*keypool::cli::parse({"ask", "--deadline", "30s", "hi"}).deadline, milliseconds(30'000));
  EXPECT_EQ(*keypool::cli::parse({"ask", "--deadline", "2m", "hi"}).deadline, milliseconds(120'000));
  EXPECT_EQ(*keypool::cli::parse({"ask", "--deadline", "1m30s", "hi"}).deadline, milliseconds(90'000));
  EXPECT_EQ(*keypool::cli::parse({"ask", "--deadline", "500ms", "hi"}).deadline, milliseconds(500));
  EXPECT_EQ(*keypool::cli::parse({"ask", "--deadline", "24h", "hi"}).deadline, milliseconds(86'400'000));
  for (const char* v : {"30", "", "s", "5x", "0s", "25h", "-1s", "1.5s", "30 s", "9999999999s"}) {
    const auto m = usage_message({"ask", "--deadline", v, "hi"});
    EXPECT_NE(m.find("--deadline expects a duration"), std::string::npos) << "'" << v << "': " << m;
  }
  for (const char* v : {"0", "-1", "x", "100001"}) {
    const auto m = usage_message({"ask", "--max-attempts", v, "hi"});
    EXPECT_NE(m.find("--max-attempts expects"), std::string::npos) << "'" << v << "': " << m;
  }

  // A deadline that passes during the first request ends the chat with the
  // library's error and the attempt.
  mock::fleet_config cfg;
  mock::provider_behavior p;
  p.id = "groq";
  p.keys = mock::sample_keys("groq", 1);
  p.latency = milliseconds(2000);
  cfg.providers.push_back(p);
  mock::fleet f(cfg);
  scratch s;
  const auto start = std::chrono::steady_clock::now();
  const auto r = run({"ask", "--deadline", "300ms", "--env", s.write(".env", f.dotenv()), "--ignore-environment",
                      "--chain", "groq", "Hi"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1800));
  EXPECT_EQ(r.code, exit_failed);
  EXPECT_NE(r.err.find("last: groq qwen/qwen3.6-27b with GROQ_API_KEY_1"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("No provider configured"), std::string::npos) << r.err;
}

/// A fleet of one Groq key allowing one request a minute, already spent.
struct spent_groq_key {
  mock::fleet fleet{[] {
    mock::fleet_config cfg;
    mock::provider_behavior p;
    p.id = "groq";
    p.keys = mock::sample_keys("groq", 1, 1);
    cfg.providers.push_back(p);
    return cfg;
  }()};
  scratch dir;
  std::string env = dir.write(".env", fleet.dotenv());
  spent_groq_key() { EXPECT_EQ(run({"ask", "--env", env, "--ignore-environment", "--chain", "groq", "Hi"}).code, 0); }
};

TEST(CliAsk, AllKeysLockedSaysWhenTheEarliestFreesAndWaitWaitsWithinTheDeadline) {
  spent_groq_key g;
  const std::regex next(R"(All GROQ API keys are rate limited; next available in [0-9]+ (s|min))");
  const auto r = run({"ask", "--env", g.env, "--ignore-environment", "--chain", "groq", "Hi"});
  EXPECT_EQ(r.code, exit_failed);
  EXPECT_TRUE(std::regex_search(r.err, next)) << r.err;
  EXPECT_NE(r.err.find("; --wait waits for it"), std::string::npos) << r.err;

  // The key frees after the deadline: --wait does not wait for it.
  const auto start = std::chrono::steady_clock::now();
  const auto w =
      run({"ask", "--wait", "--deadline", "2s", "--env", g.env, "--ignore-environment", "--chain", "groq", "Hi"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
  EXPECT_EQ(w.code, exit_failed);
  EXPECT_TRUE(std::regex_search(w.err, next)) << w.err;
  EXPECT_NE(w.err.find(", after the deadline of 2 s"), std::string::npos) << w.err;
}

TEST(CliAsk, ModelOptionGivesAProvidersModelsInOrder) {
  mock::fleet_config cfg;
  mock::provider_behavior p;
  p.id = "groq";
  p.keys = mock::sample_keys("groq", 1);
  p.retired = {"gone-model"};
  cfg.providers.push_back(p);
  mock::fleet f(cfg);
  scratch s;
  const auto env = s.write(".env", f.dotenv());
  const auto r = run({"ask", "--json", "--env", env, "--ignore-environment", "--chain", "groq", "--model",
                      "groq=gone-model", "--model", "groq=vision-model", "Hi"});
  ASSERT_EQ(r.code, exit_ok) << r.err;
  EXPECT_EQ(served_and_attempts(r),
            "\"groq\" \"vision-model\"; GROQ_API_KEY_1 model_unavailable; GROQ_API_KEY_1 success");
  const auto outside =
      run({"ask", "--env", env, "--ignore-environment", "--chain", "groq", "--model", "nvidia=m", "Hi"});
  EXPECT_EQ(outside.code, exit_usage);
  EXPECT_NE(outside.err.find("--model nvidia=m: nvidia is not in the chain (--chain groq)"), std::string::npos)
      << outside.err;
}

// ---- ask: transient failures name the error, not "No provider configured" (item 9) ----

TEST(CliAsk, TransientFailureReportsTheLibrarysErrorAndTheLastAttempt) {
  struct fault_case {
    const char* name;
    mock::fault_config faults;
  };
  std::vector<fault_case> cases(5);
  cases[0] = {"invalid JSON", {}};
  cases[0].faults.malformed_rate = 1;
  cases[1] = {"truncated body", {}};
  cases[1].faults.truncate_rate = 1;
  cases[2] = {"connection reset", {}};
  cases[2].faults.reset_rate = 1;
  cases[3] = {"500", {}};
  cases[3].faults.error_rate = 1;
  cases[4] = {"stall past the timeout", {}};
  cases[4].faults.stall_rate = 1;
  cases[4].faults.stall = std::chrono::milliseconds(3000);
  for (const auto& c : cases) {
    mock::fleet_config cfg;
    mock::provider_behavior p;
    p.id = "groq";
    p.keys = mock::sample_keys("groq", 1);
    p.faults = c.faults;
    cfg.providers.push_back(p);
    mock::fleet f(cfg);
    scratch s;
    const auto env = s.write(".env", f.dotenv());
    const auto r = run({"ask", "--timeout", "400", "--env", env, "--ignore-environment", "--chain", "groq", "Hi"});
    EXPECT_EQ(r.code, exit_failed) << c.name;
    EXPECT_EQ(r.err.find("No provider configured"), std::string::npos) << c.name << ": " << r.err;
    EXPECT_NE(r.err.find("last: groq qwen/qwen3.6-27b with GROQ_API_KEY_1"), std::string::npos)
        << c.name << ": " << r.err;
    const auto j =
        run({"ask", "--json", "--timeout", "400", "--env", env, "--ignore-environment", "--chain", "groq", "Hi"});
    const auto error = bj::parse(j.out).at("error").as_object();
    const std::string message(error.at("message").as_string());
    EXPECT_NE(message.find("last: groq qwen/qwen3.6-27b with GROQ_API_KEY_1"), std::string::npos)
        << c.name << ": " << message;
    expect_no_secret(f, r);
  }
}

// ---- configuration mistakes users make (item 11) ------------------------------------

/// Runs in `dir` as the working directory, then goes back.
struct in_directory {
  fs::path old = fs::current_path();
  explicit in_directory(const fs::path& dir) { fs::current_path(dir); }
  ~in_directory() { fs::current_path(old); }
};

TEST(CliKeys, NoDotEnvSaysWhereItLookedAndHowToStart) {
  scratch s;
  const in_directory here(s.dir);
  const auto where = fs::current_path().string();
  for (const auto& args : std::vector<std::vector<std::string>>{{"keys", "--ignore-environment"},
                                                                {"probe", "--ignore-environment"},
                                                                {"ask", "--ignore-environment", "Hi"}}) {
    const auto r = run(args);
    EXPECT_NE(r.err.find("keypool: no .env in " + where + " (the environment was not read: --ignore-environment)"),
              std::string::npos)
        << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("`keypool mock --write-env .env`"), std::string::npos) << args[0] << ": " << r.err;
  }
  s.write(".env", "GROQ_API_KEY_1=gsk_test_key_in_dot_env_0001\n");
  EXPECT_EQ(run({"keys", "--ignore-environment"}).err, "");
}

TEST(CliKeys, GeminiNamesAreGoogleKeysAndANearMissPrefixIsNamed) {
  mock::fleet f;
  scratch s;
  const auto google = f.key_specs("google");
  const auto env = s.write(".env", "GEMINI_API_KEY=" + google[0].secret + "\nGOOGLE_BASE_URL=" + f.base_url("google") +
                                       "\nGROK_API_KEY_1=gsk_test_misspelt_0001\n");
  const auto keys = run({"keys", "--env", env, "--ignore-environment"});
  EXPECT_EQ(keys.code, exit_ok) << keys.err;
  EXPECT_NE(keys.out.find("GEMINI_API_KEY"), std::string::npos) << keys.out;
  EXPECT_NE(keys.out.find(env + ":3: warning: GROK_API_KEY_1: no provider has the prefix GROK: not read; did you "
                                "mean GROQ_API_KEY_1?"),
            std::string::npos)
      << keys.out;
  EXPECT_EQ(keys.out.find("gsk_test_misspelt"), std::string::npos);

  const auto r = run({"ask", "--json", "--env", env, "--ignore-environment", "--chain", "google", "Hi"});
  ASSERT_EQ(r.code, exit_ok) << r.err;
  EXPECT_EQ(bj::parse(r.out).at("variable").as_string(), "GEMINI_API_KEY");
  EXPECT_NE(r.err.find("did you mean GROQ_API_KEY_1?"), std::string::npos) << r.err;  // ask shows it too
  expect_no_secret(f, r);
}

TEST(CliProbe, DisabledKeyIsReCheckedNotAvailable) {
  mock::fleet f;  // GOOGLE_API_KEY_2 revoked
  scratch s;
  const auto r = run({"probe", "google", "--env", s.write(".env", f.dotenv()), "--ignore-environment"});
  EXPECT_EQ(r.code, exit_failed);
  EXPECT_NE(r.out.find("GOOGLE_API_KEY_2: 1 requests, 1 failures (invalid, re-checked in 15 min)"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("invalid, available in"), std::string::npos) << r.out;
}

TEST(CliAsk, ImageDirectoryOrOverTheProvidersLimitIsAUsageError) {
  mock::fleet f;
  scratch s;
  const auto env = s.write(".env", f.dotenv());
  fs::create_directories(s.dir / "shots.png");
  const auto dir = run({"ask", "--image", (s.dir / "shots.png").string(), "--env", env, "--ignore-environment",
                        "--chain", "groq", "Hi"});
  EXPECT_EQ(dir.code, exit_usage) << dir.err;
  EXPECT_NE(dir.err.find("shots.png: is a directory, not a file"), std::string::npos) << dir.err;

  std::vector<std::string> args{"ask", "--env", env, "--ignore-environment", "--chain", "groq"};
  for (int i = 0; i < 6; ++i)
    args.insert(args.end(), {"--image", s.write("p" + std::to_string(i) + ".png", "\x89PNG\r\n\x1a\n tiny")});
  args.push_back("Hi");
  const auto six = run(args);
  EXPECT_EQ(six.code, exit_usage) << six.err;
  EXPECT_NE(six.err.find("--image: 6 images, but groq takes at most 5 per request"), std::string::npos) << six.err;
  args[5] = "nvidia";  // states no limit
  EXPECT_EQ(run(args).code, exit_ok);
}

TEST(CliUsage, MissingCaFileIsExitTwo) {
  scratch s;
  const auto empty = s.write("empty.env", "");
  const auto missing = (s.dir / "no-such-ca.pem").string();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"probe", "--env", empty, "--ignore-environment", "--ca-file", missing},
           {"ask", "--env", empty, "--ignore-environment", "--ca-file", missing, "Hi"},
           {"ask", "--env", empty, "--ignore-environment", "--ca-file", s.dir.string(), "Hi"}}) {
    const auto r = run(args);
    EXPECT_EQ(r.code, exit_usage) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("keypool: --ca-file " + args[5] + ": "), std::string::npos) << r.err;
  }
}

TEST(CliUsage, VersionIsTheProjectVersion) {
  // VERSION is the one place the version is written (CMake and Meson read it).
  std::ifstream in(std::string(KEYPOOL_SOURCE_DIR) + "/VERSION");
  std::string version;
  ASSERT_TRUE(std::getline(in, version));
  ASSERT_TRUE(std::regex_match(version, std::regex(R"([0-9]+\.[0-9]+\.[0-9]+)"))) << version;
  const auto r = run({"--version"});
  EXPECT_EQ(r.code, exit_ok);
  EXPECT_EQ(r.out, "keypool " + version + "\n");
  EXPECT_NE(run({"help"}).out.find("--version"), std::string::npos);
}

TEST(CliUsage, DocsNameOnlyCommandsThatExist) {
  // `keypool check` was documented but never existed.
  const std::regex command("`keypool ([a-z-]+)");
  for (const auto& entry : fs::directory_iterator(std::string(KEYPOOL_SOURCE_DIR) + "/docs")) {
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    const std::string doc = text.str();
    for (std::sregex_iterator it(doc.begin(), doc.end(), command), end; it != end; ++it) {
      const auto name = (*it)[1].str();
      const bool known =
          name == "help" || name == "--version" ||
          std::find(keypool::cli::commands.begin(), keypool::cli::commands.end(), name) != keypool::cli::commands.end();
      EXPECT_TRUE(known) << entry.path().filename() << ": `keypool " << name << "`";
    }
  }
}

// ============================================ hostile servers (docs/security.md)

/// A .env with one Groq key, and the --base-url that sends it to `s`.
std::vector<std::string> hostile_args(const scratch& dir, const keypool::test::test_server& s, const std::string& key,
                                      std::vector<std::string> args) {
  const auto env = dir.write(".env", "GROQ_API_KEY_1=" + key + "\n");
  for (const auto& a : {std::string("--env"), env, std::string("--ignore-environment"), std::string("--base-url"),
                        "groq=" + s.base_url() + "/openai/v1"})
    args.push_back(a);
  return args;
}

void expect_no_key_run(std::string text, const std::string& key, std::string_view where) {
  const std::string mask = keypool::redact(key);
  for (auto at = text.find(mask); at != std::string::npos; at = text.find(mask, at)) text.erase(at, mask.size());
  for (std::size_t j = 0; j + 8 <= key.size(); ++j)
    if (text.find(key.substr(j, 8)) != std::string::npos) {
      ADD_FAILURE() << where << ": '" << key.substr(j, 8) << "' of the key is left in: " << text;
      return;
    }
}

/// probe scrubs what the server sends: a 401 whose code is the key (the
/// classifier keeps 48 characters of it) and whose message echoes it cut.
TEST(CliProbe, KeyEchoedByTheServerIsMaskedInTextAndJson) {
  std::string key = "gsk_";
  for (int i = 0; key.size() < 120; ++i) key += "Zq8Xw3Rt5Yp1Lk7Vn2Bc9Md4"[i % 24];
  keypool::test::test_server s([](const keypool::test::received_request& rq) {
    const std::string k = rq.header("Authorization").substr(7);
    return keypool::test::scripted_reply::json(
        R"({"error":{"message":"bad key )" + k.substr(0, 50) + R"(","code":")" + k + R"("}})", 401);
  });
  scratch dir;
  auto j = run(hostile_args(dir, s, key, {"probe", "groq", "--json"}));
  EXPECT_EQ(j.code, keypool::cli::exit_failed) << j.err;
  expect_no_key_run(j.out, key, "probe --json stdout");
  expect_no_key_run(j.err, key, "probe --json stderr");
  const auto keys = bj::parse(j.out).as_object().at("keys").as_array();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].as_object().at("outcome").as_string(), "invalid_key");
  auto t = run(hostile_args(dir, s, key, {"probe", "groq"}));
  expect_no_key_run(t.out, key, "probe stdout");
  expect_no_key_run(t.err, key, "probe stderr");
}

/// ask's attempt lines carry no terminal control sequence from the server,
/// and --json stays valid UTF-8 wherever the 200-byte cut of the provider's
/// message falls.
TEST(CliAsk, ProviderTextIsPrintableAndCutAtCharacterBoundaries) {
  std::atomic<std::size_t> pad{0};
  keypool::test::test_server s([&](const keypool::test::received_request&) {
    return keypool::test::scripted_reply::json(R"({"error":{"message":"\u001b]0;pwned\u0007\u001b[2J)" +
                                               std::string(pad.load(), 'a') +
                                               "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x94\x91 tail\"}}");
  });
  scratch dir;
  const std::string key = "gsk_test_FAKE_cli_control_characters_0001";
  for (std::size_t p = 170; p < 200; ++p) {
    pad = p;
    auto t = run(hostile_args(dir, s, key, {"ask", "--chain", "groq", "Hi"}));
    EXPECT_NE(t.code, keypool::cli::exit_ok);
    EXPECT_NE(t.out.find("attempts:"), std::string::npos) << t.out;
    for (const auto* text : {&t.out, &t.err}) {
      EXPECT_EQ(text->find('\x1b'), std::string::npos) << p << ": " << *text;
      EXPECT_EQ(text->find('\x07'), std::string::npos) << p << ": " << *text;
    }
    auto j = run(hostile_args(dir, s, key, {"ask", "--json", "--chain", "groq", "Hi"}));
    boost::system::error_code ec;
    const auto root = bj::parse(j.out, ec);
    ASSERT_FALSE(ec) << p << ": --json output is not valid JSON (UTF-8): " << ec.message();
    EXPECT_FALSE(root.as_object().at("ok").as_bool());
  }
}

}  // namespace

}  // namespace integration_cli_test
