/// Providers declared in the .env (TOGETHER_FORMAT + TOGETHER_BASE_URL) are
/// full members of `keys`, `probe` and `ask` (routing, --chain, --model,
/// statistics), against the mock fleet's OpenAI and Anthropic endpoints;
/// an incomplete declaration is an error naming the variable.

#include <keypool/mock/fleet.hpp>
#include "../../tools/keypool/detail/file_config.hpp"
#include "integration/support/cli.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <unistd.h>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace integration_cli_providers_test {
namespace {

using keypool::test::cli::expect_no_secret;
using keypool::test::cli::run;
using keypool::test::cli::run_result;

namespace fs = std::filesystem;
namespace mock = keypool::mock;
namespace bj = boost::json;

/// A .env in a scratch directory, removed afterwards.
struct env_file {
  fs::path dir;
  std::string path;
  explicit env_file(const std::string& text) {
    static std::atomic<int> n{0};
    dir =
        fs::temp_directory_path() / ("keypool_cli_providers_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::create_directories(dir);
    path = (dir / ".env").string();
    std::ofstream(path, std::ios::binary) << text;
  }
  ~env_file() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

/// TOGETHER speaks OpenAI's format at the mock's OpenAI endpoint with its
/// keys; MY_CLAUDE Anthropic's at the mock's Anthropic endpoint.
std::string declared_env(const mock::fleet& f, const std::string& together_format = "openai_chat") {
  std::string env = "TOGETHER_BASE_URL=" + f.base_url("openai") + "\nTOGETHER_FORMAT=" + together_format +
                    "\nTOGETHER_MODELS=gpt-4o-mini\n";
  const auto openai = f.key_specs("openai");
  env += "TOGETHER_API_KEY_1=" + openai.at(0).secret + "\n";
  env += "MY_CLAUDE_BASE_URL=" + f.base_url("anthropic") + "\nMY_CLAUDE_FORMAT=anthropic_messages\n";
  env += "MY_CLAUDE_API_KEY_1=" + f.key_specs("anthropic").at(0).secret + "\n";
  return env;
}

TEST(CliDeclaredProviders, KeysListsThemLikeBuiltInOnes) {
  mock::fleet f;
  const env_file env(declared_env(f));
  const auto r = run({"keys", "--env", env.path, "--ignore-environment", "--json"});
  EXPECT_EQ(r.code, keypool::cli::exit_ok) << r.err;
  expect_no_secret(f, r);
  bool saw = false;
  const auto root = bj::parse(r.out);  // outlives the loop (a temporary's array would not)
  for (const auto& p : root.at("providers").as_array()) {
    if (p.at("id").as_string() != "together") continue;
    saw = true;
    EXPECT_FALSE(p.at("base_url_overridden").as_bool());  // its own URL, not an override
    ASSERT_EQ(p.at("keys").as_array().size(), 1u);
    EXPECT_EQ(p.at("keys").as_array()[0].at("variable").as_string(), "TOGETHER_API_KEY_1");
  }
  EXPECT_TRUE(saw) << r.out;
  const auto text = run({"keys", "--env", env.path, "--ignore-environment"});
  EXPECT_NE(text.out.find("TOGETHER  " + f.base_url("openai")), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("MY_CLAUDE_API_KEY_1"), std::string::npos) << text.out;
}

TEST(CliDeclaredProviders, ProbeSendsEachKeyTheDeclaredModel) {
  mock::fleet f;
  const env_file env(declared_env(f));
  const auto r = run({"probe", "together", "my_claude", "--env", env.path, "--ignore-environment"});
  EXPECT_EQ(r.code, keypool::cli::exit_ok) << r.out << r.err;
  expect_no_secret(f, r);
  EXPECT_NE(r.out.find("together TOGETHER_API_KEY_1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("success (200) gpt-4o-mini"), std::string::npos) << r.out;  // TOGETHER_MODELS
  EXPECT_NE(r.out.find("\xF0\x9F\x94\x91 MY_CLAUDE"), std::string::npos) << r.out;
  EXPECT_EQ(f.providers().stats("openai").successes + f.providers().stats("anthropic").successes, 2u);
}

TEST(CliDeclaredProviders, AskRoutesThroughThemByChainAndModel) {
  mock::fleet f;
  const env_file env(declared_env(f));
  auto r = run({"ask", "--json", "--env", env.path, "--ignore-environment", "--chain", "together", "Hi"});
  ASSERT_EQ(r.code, keypool::cli::exit_ok) << r.out << r.err;
  expect_no_secret(f, r);
  auto root = bj::parse(r.out);
  EXPECT_EQ(root.at("provider").as_string(), "together");
  EXPECT_EQ(root.at("model").as_string(), "gpt-4o-mini");
  EXPECT_EQ(root.at("variable").as_string(), "TOGETHER_API_KEY_1");
  EXPECT_NE(bj::serialize(root.at("statistics")).find("TOGETHER_API_KEY_1"), std::string::npos) << r.out;

  r = run({"ask", "--json", "--env", env.path, "--ignore-environment", "--chain", "my_claude,together", "--model",
           "my_claude=claude-3-5-haiku-latest", "Hi"});
  ASSERT_EQ(r.code, keypool::cli::exit_ok) << r.out << r.err;
  root = bj::parse(r.out);
  EXPECT_EQ(root.at("provider").as_string(), "my_claude");
  EXPECT_EQ(root.at("model").as_string(), "claude-3-5-haiku-latest");

  // The default chain (priority) ends with the declared providers: with only
  // their keys, it reaches them.
  r = run({"ask", "--json", "--env", env.path, "--ignore-environment", "Hi"});
  ASSERT_EQ(r.code, keypool::cli::exit_ok) << r.out << r.err;
  EXPECT_EQ(bj::parse(r.out).at("variable").as_string(), "MY_CLAUDE_API_KEY_1");
}

TEST(CliDeclaredProviders, UndeclaredNamesAreUsageErrorsThatSayHowToDeclare) {
  mock::fleet f;
  const env_file env(declared_env(f));
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"ask", "--chain", "together,nope", "Hi"},
                                             {"ask", "--model", "nope=m", "Hi"},
                                             {"probe", "nope"},
                                             {"keys", "--base-url", "nope=https://example.com/v1"}}) {
    auto full = args;
    full.insert(full.begin() + 1, {"--env", env.path, "--ignore-environment"});
    const auto r = run(full);
    EXPECT_EQ(r.code, keypool::cli::exit_usage) << args[1];
    EXPECT_NE(r.err.find("unknown provider 'nope'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("NOPE_FORMAT=openai_chat and NOPE_BASE_URL"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("together"), std::string::npos) << r.err;  // listed among the known
  }
}

TEST(CliDeclaredProviders, BadFormatOrMissingBaseUrlNamesTheVariable) {
  mock::fleet f;
  const env_file bad(declared_env(f, "openai"));
  auto r = run({"keys", "--env", bad.path, "--ignore-environment"});
  EXPECT_EQ(r.code, keypool::cli::exit_failed);
  EXPECT_NE(r.err.find(bad.path + ":2: error: TOGETHER_FORMAT: must be openai_chat"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("TOGETHER_API_KEY_1"), std::string::npos) << r.out;  // not read
  expect_no_secret(f, r);
  r = run({"ask", "--env", bad.path, "--ignore-environment", "--chain", "together", "Hi"});
  EXPECT_EQ(r.code, keypool::cli::exit_usage);
  EXPECT_NE(r.err.find("unknown provider 'together'"), std::string::npos) << r.err;

  const env_file no_url("TOGETHER_FORMAT=openai_chat\nTOGETHER_API_KEY_1=FAKE-together-key\n");
  r = run({"keys", "--env", no_url.path, "--ignore-environment"});
  EXPECT_EQ(r.code, keypool::cli::exit_failed);
  EXPECT_NE(r.err.find("TOGETHER_FORMAT: needs TOGETHER_BASE_URL"), std::string::npos) << r.err;
}

TEST(CliDeclaredProviders, PlainHttpBaseUrlToARemoteHostIsRefusedAsForBuiltIns) {
  const env_file env(
      "TOGETHER_FORMAT=openai_chat\nTOGETHER_BASE_URL=http://api.together.xyz/v1\n"
      "TOGETHER_API_KEY_1=FAKE-together-key\n");
  const auto r = run({"keys", "--env", env.path, "--ignore-environment"});
  EXPECT_EQ(r.code, keypool::cli::exit_usage);
  EXPECT_NE(r.err.find("TOGETHER_BASE_URL: plain http://"), std::string::npos) << r.err;
}

/// A file beside the env_file's .env.
std::string write_beside(const env_file& env, const std::string& name, const std::string& text) {
  const auto path = (env.dir / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(CliConfigFile, DeclaresProvidersForKeysAndAskWithTheKeysInTheEnv) {
  mock::fleet f;
  const env_file env("TOGETHER_API_KEY_1=" + f.key_specs("openai").at(0).secret + "\n");
  const auto config = write_beside(env, "keypool.json",
                                   R"({"providers": {"together": {"format": "openai_chat", "base_url": ")" +
                                       f.base_url("openai") + R"(", "models": ["gpt-4o-mini"]}}})");
  auto r = run({"keys", "--env", env.path, "--config", config, "--ignore-environment"});
  EXPECT_EQ(r.code, keypool::cli::exit_ok) << r.err;
  EXPECT_NE(r.out.find("TOGETHER  " + f.base_url("openai")), std::string::npos) << r.out;
  r = run(
      {"ask", "--json", "--env", env.path, "--config", config, "--ignore-environment", "--chain", "together", "Hi"});
  ASSERT_EQ(r.code, keypool::cli::exit_ok) << r.out << r.err;
  expect_no_secret(f, r);
  const auto root = bj::parse(r.out);
  EXPECT_EQ(root.at("model").as_string(), "gpt-4o-mini");
  EXPECT_EQ(root.at("variable").as_string(), "TOGETHER_API_KEY_1");
  // Without the file, the same .env declares nothing.
  r = run({"ask", "--env", env.path, "--ignore-environment", "--chain", "together", "Hi"});
  EXPECT_EQ(r.code, keypool::cli::exit_usage) << r.err;
}

TEST(CliConfigFile, MistakesNameTheFileAndTheFieldOrLine) {
  mock::fleet f;
  const env_file env("GROQ_API_KEY_1=" + f.key_specs("groq").at(0).secret + "\n");
  const auto expect_error = [&](const std::string& text, const std::string& message,
                                const std::string& command = "keys") {
    const auto config = write_beside(env, "bad.json", text);
    const auto r = run({command, "--env", env.path, "--config", config, "--ignore-environment", "--state", "none"});
    EXPECT_EQ(r.code, keypool::cli::exit_usage) << text;
    EXPECT_NE(r.err.find(config + message), std::string::npos) << r.err;
    expect_no_secret(f, r);
  };
  expect_error("{\n  \"providers\": {\n    \"together\": {,}\n", ":3:18: not valid JSON");
  expect_error(R"({"providers": {"together": {"fromat": "openai_chat"}}})",
               ": providers.together.fromat: unknown field");
  expect_error(R"({"providers": {"together": {"format": "openai_chat"}}})",
               R"(: providers.together: needs both "format" and "base_url")");
  expect_error(R"({"limits": {"max_in_flight": -3}})", ": limits.max_in_flight: expected a whole number above 0",
               "serve");
  expect_error(R"({"limits": {"header_timeout": "soon"}})", ": limits.header_timeout expects a duration", "serve");
  expect_error(R"({"routes": {"fast": ["nope/some-model"]}})",
               ": routes.fast[0]: provider 'nope' is neither built in nor declared", "serve");
  expect_error(R"({"routes": {"fast": ["groq/a", "groq/b"]}})", ": routes.fast[1]: provider 'groq' named twice",
               "serve");
  expect_error(R"({"listen": "0.0.0.0"})", ": listen", "serve");
}

TEST(CliConfigFile, TheCommandLineWinsOverTheFile) {
  const env_file env("");
  const auto config = write_beside(
      env, "serve.json",
      R"({"listen": "127.0.0.1:9000", "chain": "free-first", "stats_every": "30s", "drain_timeout": "5s"})");
  const auto file = keypool::cli::detail::read_file_config(config);
  auto o = keypool::cli::detail::with_file_config(
      keypool::cli::parse({"serve", "--config", config, "--listen", "127.0.0.1:9001", "--stats-every", "2"}), file);
  EXPECT_EQ(o.listen_port, 9001);
  EXPECT_EQ(o.stats_every, std::chrono::seconds(2));
  EXPECT_EQ(o.chain, "free-first");
  EXPECT_EQ(o.drain_timeout, std::chrono::milliseconds(5000));
  o = keypool::cli::detail::with_file_config(keypool::cli::parse({"serve", "--config", config}), file);
  EXPECT_EQ(o.listen_port, 9000);
  EXPECT_EQ(o.stats_every, std::chrono::seconds(30));
}

}  // namespace

}  // namespace integration_cli_providers_test
