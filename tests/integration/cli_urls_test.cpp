/// `keypool` and the URLs of its configuration (issue 28, items 2, 3, 4 and
/// 6): a base URL with credentials is refused and one with a query printed
/// redacted, a plain-http P_BASE_URL is refused at load as --base-url is, a
/// key pasted as an account is not printed, and malformed --base-url
/// arguments are not quoted back. Every secret in here is fake.

#include "integration/support/cli.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace integration_cli_urls_test {
namespace {

using keypool::test::cli::run;
using keypool::test::cli::run_result;

namespace fs = std::filesystem;
namespace bj = boost::json;

/// A .env file in a scratch directory, removed afterwards.
struct env_file {
  fs::path dir;
  std::string path;
  explicit env_file(const std::string& text) {
    static std::atomic<int> n{0};
    dir = fs::temp_directory_path() / ("keypool_cli_urls_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::create_directories(dir);
    path = (dir / ".env").string();
    std::ofstream(path, std::ios::binary) << text;
  }
  ~env_file() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

constexpr const char* groq_key = "GROQ_API_KEY_1=gsk_fake_key_for_cli_url_tests_0001\n";

run_result keys(const env_file& e, bool json) {
  std::vector<std::string> args{"keys", "--env", e.path, "--ignore-environment"};
  if (json) args.push_back("--json");
  return run(args);
}

TEST(CliKeys, BaseUrlWithCredentialsIsRefusedNamingTheVariable) {
  const env_file e(std::string(groq_key) + "GROQ_BASE_URL=https://user:pAsSwOrD@api.example.com/v1\n");
  for (const bool json : {false, true}) {
    const auto r = keys(e, json);
    EXPECT_EQ(r.code, keypool::cli::exit_failed) << r.err;
    EXPECT_EQ((r.out + r.err).find("pAsSwOrD"), std::string::npos) << r.out << r.err;
    EXPECT_NE((json ? r.out : r.err).find("GROQ_BASE_URL"), std::string::npos) << r.out << r.err;
  }
}

TEST(CliKeys, BaseUrlQueryIsPrintedRedacted) {
  const env_file e(std::string(groq_key) + "GROQ_BASE_URL=https://api.example.com/v1?api_key=QuErYtOkEn\n");
  const auto text = keys(e, false);
  EXPECT_EQ(text.code, keypool::cli::exit_ok) << text.err;
  EXPECT_EQ((text.out + text.err).find("QuErYtOkEn"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("https://api.example.com/v1?<redacted>"), std::string::npos) << text.out;
  const auto json = keys(e, true);
  EXPECT_EQ(json.code, keypool::cli::exit_ok) << json.err;
  EXPECT_EQ((json.out + json.err).find("QuErYtOkEn"), std::string::npos) << json.out;
  bool saw = false;
  const auto root = bj::parse(json.out);
  for (const auto& p : root.at("providers").as_array())
    if (p.at("id").as_string() == "groq") {
      saw = true;
      EXPECT_EQ(p.at("base_url").as_string(), "https://api.example.com/v1?<redacted>");
    }
  EXPECT_TRUE(saw);
}

TEST(CliKeys, PlainHttpBaseUrlInDotenvIsRefusedAtLoadLikeTheOption) {
  for (const char* url : {"http://example.com/openai/v1", "http://10.0.0.1:8080/v1", "https://api.example.com:x/v1"}) {
    const env_file e(std::string(groq_key) + "GROQ_BASE_URL=" + url + "\n");
    for (const char* command : {"keys", "probe", "ask"}) {
      std::vector<std::string> args{command, "--env", e.path, "--ignore-environment"};
      if (std::string(command) == "ask") args.push_back("hello");
      const auto r = run(args);
      EXPECT_EQ(r.code, keypool::cli::exit_usage) << command << " " << url << ": " << r.err;
      EXPECT_NE(r.err.find("GROQ_BASE_URL: "), std::string::npos) << r.err;
    }
  }
  const env_file loopback(std::string(groq_key) + "GROQ_BASE_URL=http://foo.localhost:1/v1\n");
  EXPECT_EQ(keys(loopback, false).code, keypool::cli::exit_ok);
  // --base-url replaces the file's value, so only the option is checked.
  const env_file replaced(std::string(groq_key) + "GROQ_BASE_URL=http://example.com/v1\n");
  EXPECT_EQ(
      run({"keys", "--env", replaced.path, "--ignore-environment", "--base-url", "groq=https://example.com/v1"}).code,
      keypool::cli::exit_ok);
}

TEST(CliKeys, KeyPastedAsAnAccountIsNotPrinted) {
  const env_file e(std::string(groq_key) + "GROQ_API_KEY_1_ACCOUNT=gsk_PaStEdKeY0123456789abcdefXYZ\n");
  for (const bool json : {false, true}) {
    const auto r = keys(e, json);
    EXPECT_EQ(r.code, keypool::cli::exit_failed) << r.err;
    EXPECT_EQ((r.out + r.err).find("PaStEdKeY"), std::string::npos) << r.out << r.err;
    EXPECT_NE((json ? r.out : r.err).find("GROQ_API_KEY_1_ACCOUNT"), std::string::npos) << r.out << r.err;
  }
}

TEST(CliUsage, BaseUrlArgumentIsNeverQuotedBeforeItsLastAt) {
  for (const char* v : {"openai=user:sEcReT@api.example.com/v1", "openai=https//user:sEcReT@api.example.com/v1",
                        "openai=https:/user:sEcReT@api.example.com/v1", "openai=https://user:sEcReT@api.example.com",
                        "openai=https://api.example.com:sEcReT/v1", "https://user:sEcReT@api.example.com/?a=b",
                        "user:sEcReT@api.example.com"}) {
    const auto r = run({"probe", "--base-url", v});
    EXPECT_EQ(r.code, keypool::cli::exit_usage) << v;
    EXPECT_EQ(r.err.find("sEcReT"), std::string::npos) << v << ": " << r.err;
    EXPECT_NE(r.err.find("--base-url"), std::string::npos) << v << ": " << r.err;
  }
}

}  // namespace

}  // namespace integration_cli_urls_test
