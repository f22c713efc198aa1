// Decoding an answer with tool calls, per wire format, against Boost.JSON's
// parse of the same body (the floor: a tree and nothing read from it). The
// answer is what a 10-message conversation with 3 tools gets back: a short
// text and three tool calls, with usage details. Each benchmark alternates
// batches of the decoder and of the floor, so both see the same machine
// load, and reports
//
//   decode_ns, parse_ns   thread CPU time per answer
//   ratio                 decode_ns / parse_ns
//
// BM_decode_answer/format:F  Codec::decode of the whole answer
// BM_decode_stream/format:F  chat_stream over the same answer streamed
//                            (SSE, tool-call arguments in fragments);
//                            the floor parses every event's data.
// F: 0 openai_chat, 1 anthropic_messages, 2 gemini_generate_content.
// Built as its own binary keypool_decode_bench.

#include <keypool/wire/anthropic_messages.hpp>
#include <keypool/wire/gemini_generate_content.hpp>
#include <keypool/wire/openai_chat.hpp>
#include <keypool/wire/sse.hpp>

#include <benchmark/benchmark.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <time.h>

#include <chrono>
#include <string>
#include <vector>

namespace {

namespace wire = keypool::wire;
namespace json = boost::json;

const std::string answer_text =
    "I found the weather, two flights and a hotel for your trip. Paris will be cold and dry on the 24th; "
    "the morning flight arrives before noon. Shall I book the flight and the hotel together?";

struct call {
  const char* id;
  const char* name;
  json::value args;
};

std::vector<call> calls() {
  return {{"call_1", "get_weather", {{"location", "Paris, France"}, {"unit", "celsius"}, {"days", 3}}},
          {"call_2",
           "search_flights",
           {{"from", "JFK"}, {"to", "CDG"}, {"date", "2026-12-24"}, {"passengers", 2}, {"cabin", "economy"}}},
          {"call_3",
           "book_hotel",
           {{"city", "Paris"},
            {"check_in", "2026-12-24"},
            {"nights", 4},
            {"guests", 2},
            {"preferences", json::array{"quiet", "breakfast", "near metro"}}}}};
}

std::string openai_body() {
  json::array tc;
  for (const auto& c : calls())
    tc.push_back(
        {{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", json::serialize(c.args)}}}});
  json::object msg{{"role", "assistant"}, {"content", answer_text}, {"tool_calls", tc}};
  json::object u{{"prompt_tokens", 2406},
                 {"completion_tokens", 212},
                 {"total_tokens", 2618},
                 {"prompt_tokens_details", {{"cached_tokens", 1920}}},
                 {"completion_tokens_details", {{"reasoning_tokens", 64}}}};
  return json::serialize(
      json::object{{"id", "chatcmpl-bench"},
                   {"object", "chat.completion"},
                   {"model", "gpt-4.1"},
                   {"choices", json::array{{{"index", 0}, {"message", msg}, {"finish_reason", "tool_calls"}}}},
                   {"usage", u}});
}

std::string anthropic_body() {
  json::array content{{{"type", "text"}, {"text", answer_text}}};
  for (const auto& c : calls())
    content.push_back({{"type", "tool_use"}, {"id", c.id}, {"name", c.name}, {"input", c.args}});
  return json::serialize(json::object{{"id", "msg_bench"},
                                      {"type", "message"},
                                      {"role", "assistant"},
                                      {"model", "claude-sonnet-4-5"},
                                      {"content", content},
                                      {"stop_reason", "tool_use"},
                                      {"usage",
                                       {{"input_tokens", 486},
                                        {"cache_read_input_tokens", 1920},
                                        {"cache_creation_input_tokens", 0},
                                        {"output_tokens", 212}}}});
}

std::string gemini_body() {
  json::array parts{json::object{{"text", answer_text}}};
  for (const auto& c : calls())
    parts.push_back(json::object{{"functionCall", json::object{{"name", c.name}, {"args", c.args}}}});
  return json::serialize(json::object{
      {"candidates",
       json::array{{{"content", {{"role", "model"}, {"parts", parts}}}, {"finishReason", "STOP"}, {"index", 0}}}},
      {"usageMetadata",
       {{"promptTokenCount", 2406},
        {"candidatesTokenCount", 148},
        {"thoughtsTokenCount", 64},
        {"cachedContentTokenCount", 1920}}},
      {"modelVersion", "gemini-2.5-flash"}});
}

/// Splits `s` into pieces of about `n` bytes (argument fragments).
std::vector<std::string> pieces(const std::string& s, std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size(); i += n) out.push_back(s.substr(i, n));
  return out;
}

std::string sse(const json::value& v, const char* event = nullptr) {
  return (event ? std::string("event: ") + event + "\n" : std::string()) + "data: " + json::serialize(v) + "\n\n";
}

std::string openai_stream() {
  std::string out;
  const auto chunk = [&](json::value delta, json::value finish) {
    out += sse(json::object{{"model", "gpt-4.1"},
                            {"choices", json::array{{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}}}});
  };
  for (const auto& p : pieces(answer_text, 24)) chunk({{"content", p}}, nullptr);
  std::size_t i = 0;
  for (const auto& c : calls()) {
    chunk({{"tool_calls", json::array{{{"index", i},
                                       {"id", c.id},
                                       {"type", "function"},
                                       {"function", {{"name", c.name}, {"arguments", ""}}}}}}},
          nullptr);
    for (const auto& p : pieces(json::serialize(c.args), 12))
      chunk({{"tool_calls", json::array{{{"index", i}, {"function", {{"arguments", p}}}}}}}, nullptr);
    ++i;
  }
  chunk(json::object{}, "tool_calls");
  out += sse(json::object{
      {"choices", json::array{}},
      {"usage",
       {{"prompt_tokens", 2406}, {"completion_tokens", 212}, {"prompt_tokens_details", {{"cached_tokens", 1920}}}}}});
  return out + "data: [DONE]\n\n";
}

std::string anthropic_stream() {
  std::string out = sse(json::object{{"type", "message_start"},
                                     {"message",
                                      {{"model", "claude-sonnet-4-5"},
                                       {"usage", {{"input_tokens", 486}, {"cache_read_input_tokens", 1920}}}}}},
                        "message_start");
  out += sse(
      json::object{{"type", "content_block_start"}, {"index", 0}, {"content_block", {{"type", "text"}, {"text", ""}}}},
      "content_block_start");
  for (const auto& p : pieces(answer_text, 24))
    out += sse(
        json::object{{"type", "content_block_delta"}, {"index", 0}, {"delta", {{"type", "text_delta"}, {"text", p}}}},
        "content_block_delta");
  out += sse(json::object{{"type", "content_block_stop"}, {"index", 0}}, "content_block_stop");
  std::size_t block = 1;
  for (const auto& c : calls()) {
    out += sse(json::object{{"type", "content_block_start"},
                            {"index", block},
                            {"content_block",
                             {{"type", "tool_use"}, {"id", c.id}, {"name", c.name}, {"input", json::object{}}}}},
               "content_block_start");
    for (const auto& p : pieces(json::serialize(c.args), 12))
      out += sse(json::object{{"type", "content_block_delta"},
                              {"index", block},
                              {"delta", {{"type", "input_json_delta"}, {"partial_json", p}}}},
                 "content_block_delta");
    out += sse(json::object{{"type", "content_block_stop"}, {"index", block}}, "content_block_stop");
    ++block;
  }
  out += sse(
      json::object{
          {"type", "message_delta"}, {"delta", {{"stop_reason", "tool_use"}}}, {"usage", {{"output_tokens", 212}}}},
      "message_delta");
  return out + sse(json::object{{"type", "message_stop"}}, "message_stop");
}

json::object gemini_chunk(json::array parts) {
  json::object content{{"role", "model"}, {"parts", std::move(parts)}};
  json::object candidate{{"content", std::move(content)}, {"index", 0}};
  return json::object{{"candidates", json::array{candidate}}, {"modelVersion", "gemini-2.5-flash"}};
}

std::string gemini_stream() {
  std::string out;
  for (const auto& p : pieces(answer_text, 48)) out += sse(gemini_chunk(json::array{json::object{{"text", p}}}));
  json::array parts;
  for (const auto& c : calls())
    parts.push_back(json::object{{"functionCall", json::object{{"name", c.name}, {"args", c.args}}}});
  auto last = gemini_chunk(std::move(parts));
  last["candidates"].as_array()[0].as_object()["finishReason"] = "STOP";
  last["usageMetadata"] = json::object{{"promptTokenCount", 2406}, {"candidatesTokenCount", 148}};
  return out + sse(last);
}

/// The data of every event: what the stream floor parses.
std::vector<std::string> event_data(const std::string& stream) {
  std::vector<std::string> out;
  wire::sse_parser p;
  p.feed(stream, [&](const wire::sse_event& e) {
    if (e.data != "[DONE]") out.push_back(e.data);
    return true;
  });
  return out;
}

/// CPU time of this thread: the machine may be shared, and a wall clock
/// would charge whichever side was preempted.
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

constexpr int batch = 32;

/// Alternates a batch of `decode` and a batch of `floor`; reports both per
/// answer and their ratio.
template <class Decode, class Floor>
void alternate(benchmark::State& state, Decode decode, Floor floor) {
  double decode_s = 0, floor_s = 0;
  for (auto _ : state) {
    const double t0 = thread_cpu_s();
    for (int i = 0; i < batch; ++i) decode();
    const double t1 = thread_cpu_s();
    for (int i = 0; i < batch; ++i) floor();
    const double t2 = thread_cpu_s();
    decode_s += t1 - t0;
    floor_s += t2 - t1;
  }
  const double n = static_cast<double>(state.iterations()) * batch;
  state.counters["decode_ns"] = decode_s / n * 1e9;
  state.counters["parse_ns"] = floor_s / n * 1e9;
  state.counters["ratio"] = floor_s > 0 ? decode_s / floor_s : 0;
}

template <class Codec>
void decode_answer(benchmark::State& state, const std::string& body) {
  if (!Codec::decode(body) || Codec::decode(body)->tool_calls.size() != 3)
    state.SkipWithError("the body does not decode");
  alternate(
      state, [&] { benchmark::DoNotOptimize(Codec::decode(body)); },
      [&] { benchmark::DoNotOptimize(json::parse(body)); });
}

template <class Codec>
void decode_stream(benchmark::State& state, const std::string& stream) {
  const auto data = event_data(stream);
  const auto run = [&] {
    wire::chat_stream<Codec> s;
    std::size_t deltas = 0;
    s.feed(
        stream, [&](std::string_view) { ++deltas; }, [&](const wire::tool_call_delta&) { ++deltas; });
    auto r = s.finish();
    benchmark::DoNotOptimize(deltas);
    return r;
  };
  if (const auto r = run(); !r || r->tool_calls.size() != 3) state.SkipWithError("the stream does not decode");
  alternate(
      state, [&] { benchmark::DoNotOptimize(run()); },
      [&] {
        for (const auto& d : data) benchmark::DoNotOptimize(json::parse(d));
      });
}

void BM_decode_answer(benchmark::State& state) {
  static const std::string bodies[] = {openai_body(), anthropic_body(), gemini_body()};
  switch (state.range(0)) {
    case 0: decode_answer<wire::openai_chat>(state, bodies[0]); break;
    case 1: decode_answer<wire::anthropic_messages>(state, bodies[1]); break;
    default: decode_answer<wire::gemini_generate_content>(state, bodies[2]); break;
  }
}

void BM_decode_stream(benchmark::State& state) {
  static const std::string streams[] = {openai_stream(), anthropic_stream(), gemini_stream()};
  switch (state.range(0)) {
    case 0: decode_stream<wire::openai_chat>(state, streams[0]); break;
    case 1: decode_stream<wire::anthropic_messages>(state, streams[1]); break;
    default: decode_stream<wire::gemini_generate_content>(state, streams[2]); break;
  }
}

}  // namespace

BENCHMARK(BM_decode_answer)->DenseRange(0, 2)->ArgNames({"format"});
BENCHMARK(BM_decode_stream)->DenseRange(0, 2)->ArgNames({"format"});
