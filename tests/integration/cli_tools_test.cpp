/// `keypool ask --tools / --json-schema / --stream / --system` against the
/// mock fleet, in process: the mock answers offered tools with a call of the
/// first one and a schema with JSON holding its required properties, in
/// each wire format; unusable files are usage errors naming file and path.

#include <keypool/mock/fleet.hpp>
#include "integration/support/cli.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <unistd.h>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace integration_cli_tools_test {
namespace {

using keypool::test::cli::run;
using keypool::test::cli::run_result;

namespace fs = std::filesystem;
namespace mock = keypool::mock;
namespace bj = boost::json;

struct scratch {
  fs::path dir;
  scratch() {
    static std::atomic<int> n{0};
    dir = fs::temp_directory_path() / ("keypool_cli_tools_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
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

/// One key each for an openai_chat provider, Anthropic and Gemini.
mock::fleet_config three_formats() {
  mock::fleet_config cfg;
  for (const char* id : {"groq", "anthropic", "google"}) {
    mock::provider_behavior p;
    p.id = id;
    p.keys = mock::sample_keys(id, 1);
    cfg.providers.push_back(p);
  }
  return cfg;
}

const std::string weather_schema =
    R"({"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["c","f"]}},)"
    R"("required":["city","unit"]})";

std::vector<std::string> ask_args(const std::string& env, const std::string& provider, std::vector<std::string> more) {
  std::vector<std::string> a{"ask", "--env", env, "--ignore-environment", "--state", "none", "--chain", provider};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

TEST(CliTools, ToolsFileMakesEveryFormatAnswerWithAToolCall) {
  mock::fleet f(three_formats());
  scratch s;
  const auto env = (s.dir / ".env").string();
  f.write_dotenv(env);
  const auto wrapped = s.write("tools.json", R"([{"type":"function","function":{"name":"get_weather",)"
                                             R"("description":"Weather in a city","parameters":)" +
                                                 weather_schema + "}}]");
  const auto bare = s.write("bare.json", R"([{"name":"get_weather","parameters":)" + weather_schema +
                                             R"(},{"name":"get_time","parameters":{"type":"object"}}])");
  for (const std::string provider : {"groq", "anthropic", "google"}) {
    SCOPED_TRACE(provider);
    const auto j = run(ask_args(env, provider, {"--tools", wrapped, "--json", "Weather in Paris?"}));
    ASSERT_EQ(j.code, keypool::cli::exit_ok) << j.err << j.out;
    const auto root = bj::parse(j.out).as_object();
    EXPECT_EQ(root.at("provider").as_string(), provider);
    EXPECT_EQ(root.at("finish").as_string(), "tool_calls");
    EXPECT_FALSE(root.at("finish_reason").as_string().empty());
    const auto& calls = root.at("tool_calls").as_array();
    ASSERT_EQ(calls.size(), 1u);
    const auto& call = calls[0].as_object();
    EXPECT_EQ(call.at("name").as_string(), "get_weather");
    EXPECT_FALSE(call.at("id").as_string().empty());
    const auto& args = call.at("arguments").as_object();  // a JSON value, not a string
    EXPECT_TRUE(args.at("city").is_string());
    EXPECT_EQ(args.at("unit").as_string(), "c");

    const auto t = run(ask_args(env, provider, {"--tools", bare, "Weather in Paris?"}));
    ASSERT_EQ(t.code, keypool::cli::exit_ok) << t.err;
    EXPECT_NE(t.out.find("tool call get_weather({"), std::string::npos) << t.out;
    EXPECT_NE(t.out.find("\"unit\":\"c\""), std::string::npos) << t.out;
  }
}

TEST(CliTools, JsonSchemaFileMakesTheAnswerJsonWithTheRequiredFields) {
  mock::fleet f(three_formats());
  scratch s;
  const auto env = (s.dir / ".env").string();
  f.write_dotenv(env);
  const auto plain = s.write("weather.json", weather_schema);
  const auto wrapped = s.write("w.json", R"({"name":"weather","strict":true,"schema":)" + weather_schema + "}");
  for (const std::string provider : {"groq", "anthropic", "google"})
    for (const auto& file : {plain, wrapped}) {
      SCOPED_TRACE(provider + " " + file);
      const auto r = run(ask_args(env, provider, {"--json-schema", file, "--json", "Weather in Paris?"}));
      ASSERT_EQ(r.code, keypool::cli::exit_ok) << r.err << r.out;
      const auto root = bj::parse(r.out).as_object();
      EXPECT_EQ(root.at("finish").as_string(), "stop");
      EXPECT_TRUE(root.at("tool_calls").as_array().empty());
      const auto answer = bj::parse(root.at("answer").as_string()).as_object();
      EXPECT_TRUE(answer.at("city").is_string());
      EXPECT_EQ(answer.at("unit").as_string(), "c");
    }
}

/// Records what the stream held each time it was flushed.
struct flush_log : std::stringbuf {
  std::vector<std::string> at_flush;
  int sync() override {
    at_flush.push_back(str());
    return 0;
  }
};

TEST(CliTools, StreamPrintsTheTextBeforeTheAnswerIsComplete) {
  mock::fleet f(three_formats());
  scratch s;
  const auto env = (s.dir / ".env").string();
  f.write_dotenv(env);
  for (const std::string provider : {"groq", "anthropic", "google"}) {
    SCOPED_TRACE(provider);
    flush_log buf;
    std::ostream out(&buf);
    std::ostringstream err;
    const int code =
        keypool::cli::run(ask_args(env, provider, {"--stream", "--system", "Be brief.", "Hi there"}), out, err);
    ASSERT_EQ(code, keypool::cli::exit_ok) << err.str();
    // Flushed with text while the chat was still running: before "served by".
    ASSERT_FALSE(buf.at_flush.empty());
    EXPECT_EQ(buf.at_flush.front().rfind("[mock ", 0), 0u) << buf.at_flush.front();
    EXPECT_EQ(buf.at_flush.front().find("served by"), std::string::npos);
    const auto all = buf.str();
    const std::string asked = "You asked: \"Hi there\"\n\nserved by " + provider;
    EXPECT_NE(all.find(asked), std::string::npos) << all;
    EXPECT_EQ(all.find("You asked"), all.rfind("You asked")) << "the text is printed once";
  }
  const auto both = run(ask_args(env, "groq", {"--stream", "--json", "Hi"}));
  EXPECT_EQ(both.code, keypool::cli::exit_usage);
  EXPECT_NE(both.err.find("--stream"), std::string::npos) << both.err;
}

TEST(CliTools, UnusableToolsOrSchemaFileIsAUsageErrorNamingFileAndPath) {
  mock::fleet f(three_formats());
  scratch s;
  const auto env = (s.dir / ".env").string();
  f.write_dotenv(env);
  struct bad_case {
    const char* flag;
    const char* file;
    std::string text;
    const char* says;
  };
  const std::vector<bad_case> cases{
      {"--tools", "tools.json",
       R"([{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"b","parameters":[]}}])",
       "tools.json: [1].function.parameters is not an object"},
      {"--tools", "obj.json", R"({"name":"a"})", "obj.json: expected an array of tools"},
      {"--tools", "noname.json", R"([{"description":"x"}])", "noname.json: [0].name is missing"},
      {"--tools", "type.json", R"([{"type":"retrieval","function":{"name":"a"}}])", "type.json: [0].type is not"},
      {"--tools", "twice.json", R"([{"name":"a"},{"name":"a"}])", "twice.json: [1].name \"a\" is declared twice"},
      {"--tools", "broken.json", "[\n  {\"name\": }\n]", "broken.json:2:12: not valid JSON"},
      {"--json-schema", "schema.json", "[1]", "schema.json: expected a JSON Schema object"},
      {"--json-schema", "wrap.json", R"({"name":"x","schema":"object"})", "wrap.json: schema is not an object"},
      {"--json-schema", "strict.json", R"({"schema":{},"strict":"yes"})", "strict.json: strict is not a boolean"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    const auto path = s.write(c.file, c.text);
    const auto r = run(ask_args(env, "groq", {c.flag, path, "Hi"}));
    EXPECT_EQ(r.code, keypool::cli::exit_usage);
    EXPECT_NE(r.err.find(std::string(c.flag) + " " + (s.dir / c.says).string()), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << "no request was sent";
  }
  const auto missing = run(ask_args(env, "groq", {"--tools", (s.dir / "none.json").string(), "Hi"}));
  EXPECT_EQ(missing.code, keypool::cli::exit_usage);
  EXPECT_NE(missing.err.find("none.json: no such file"), std::string::npos) << missing.err;
}

TEST(CliTools, NewAskOptionsAreParsedForAskOnly) {
  const auto o = keypool::cli::parse(
      {"ask", "--system", "Be brief.", "--tools", "t.json", "--json-schema", "s.json", "--stream", "Hi"});
  EXPECT_EQ(*o.system, "Be brief.");
  EXPECT_EQ(*o.tools_file, "t.json");
  EXPECT_EQ(*o.json_schema_file, "s.json");
  EXPECT_TRUE(o.stream);
  EXPECT_THROW(keypool::cli::parse({"probe", "--stream"}), keypool::cli::usage_error);
  EXPECT_THROW(keypool::cli::parse({"keys", "--tools", "t.json"}), keypool::cli::usage_error);
}

}  // namespace

}  // namespace integration_cli_tools_test
