// Request encoding per wire format: a 10-message tool-using conversation
// with 3 tools, encoded by each codec (checks included: UTF-8, every
// schema and argument text validated as a JSON object), against the floor of
// Boost.JSON serializing the same body from a ready tree. The ratio
// encode / floor is in docs/benchmarks.md ("Request encoding").
//
//   build/benchmarks/keypool_encode_bench --benchmark_min_time=0.5

#include <keypool/wire/anthropic_messages.hpp>
#include <keypool/wire/gemini_generate_content.hpp>
#include <keypool/wire/openai_chat.hpp>

#include <benchmark/benchmark.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <string>

namespace {

namespace wire = keypool::wire;
namespace json = boost::json;

constexpr const char* bench_key = "test-FAKE-bench-key-0000";

wire::tool make_tool(std::string name, std::string what) {
  return {
      std::move(name), "Gets the " + what + " for a given location.",
      R"({"type":"object","properties":{"location":{"type":"string","description":"The city and state, e.g. San Francisco, CA"},)"
      R"("unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["location"],"additionalProperties":false})",
      true};
}

/// system, user, assistant (call), tool, assistant, user, assistant (two
/// calls), tool, tool, user: ten turns, three tools.
wire::chat_request conversation(std::string model) {
  using wire::message;
  wire::chat_request r;
  r.model = std::move(model);
  r.messages = {
      message::system("You are a travel assistant. Use the tools to answer; be brief and cite the tool results."),
      message::user("What's the weather like in San Francisco right now, and should I bring a jacket tonight?"),
      message::assistant("Let me check.", {{"call_a1", "get_weather", R"({"location":"San Francisco, CA"})"}}),
      message::tool_result("call_a1", R"({"temperature":15,"unit":"celsius","conditions":"fog"})"),
      message::assistant("It is 15 °C with fog in San Francisco: bring a jacket for the evening."),
      message::user("And what time is it in Tokyo and Paris? I have calls with both offices tomorrow."),
      message::assistant("", {{"call_b1", "get_time", R"({"location":"Tokyo, Japan"})"},
                              {"call_b2", "get_time", R"({"location":"Paris, France"})"}}),
      message::tool_result("call_b1", R"({"time":"2026-12-08T02:14:00+09:00"})"),
      message::tool_result("call_b2", R"({"time":"2026-12-07T18:14:00+01:00"})"),
      message::user("Thanks. Also the air quality in Paris, please, if you can get it."),
  };
  r.tools = {make_tool("get_weather", "current weather"), make_tool("get_time", "local time"),
             make_tool("get_air_quality", "air quality index")};
  r.tool_choice = wire::tool_choice{};
  r.temperature = 0.3;
  return r;
}

template <class Codec>
void BM_encode(benchmark::State& state) {
  const auto r = conversation("bench-model");
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto e = Codec::encode(r, bench_key);
    bytes = e->body.size();
    benchmark::DoNotOptimize(e);
  }
  state.counters["body_bytes"] = static_cast<double>(bytes);
}

/// The floor: the same body as a Boost.JSON tree, serialized.
template <class Codec>
void BM_serialize_floor(benchmark::State& state) {
  const auto tree = json::parse(Codec::encode(conversation("bench-model"), bench_key)->body);
  for (auto _ : state) {
    auto s = json::serialize(tree);
    benchmark::DoNotOptimize(s);
  }
}

BENCHMARK(BM_encode<wire::openai_chat>)->Name("encode/openai_chat");
BENCHMARK(BM_serialize_floor<wire::openai_chat>)->Name("floor_serialize/openai_chat");
BENCHMARK(BM_encode<wire::anthropic_messages>)->Name("encode/anthropic_messages");
BENCHMARK(BM_serialize_floor<wire::anthropic_messages>)->Name("floor_serialize/anthropic_messages");
BENCHMARK(BM_encode<wire::gemini_generate_content>)->Name("encode/gemini_generate_content");
BENCHMARK(BM_serialize_floor<wire::gemini_generate_content>)->Name("floor_serialize/gemini_generate_content");

}  // namespace
