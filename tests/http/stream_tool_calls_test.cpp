/// Streamed tool calls through the failover client: the deltas reach the
/// caller's stream_sinks::on_tool_call, the answer holds the reassembled
/// calls, and a tool-call delta counts as delivered output (no failover
/// after it). Answers from tests/wire/answers/ (the providers' examples).

#include "support/client_fixtures.hpp"
#include "support/test_server.hpp"

#include <keypool/chain/chain.hpp>
#include <keypool/core/pool.hpp>
#include <keypool/http/client.hpp>
#include <keypool/providers/builtin.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace http_stream_tool_calls_test {
namespace {

namespace http = keypool::http;
namespace wire = keypool::wire;
namespace providers = keypool::providers;
using keypool::test::fast_options;
using keypool::test::keys;
using keypool::test::received_request;
using keypool::test::scripted_reply;
using keypool::test::test_server;
using keypool::test::vision;

std::string wire_answer(const char* file) {
  std::ifstream in(std::string(KEYPOOL_SOURCE_DIR) + "/tests/wire/answers/" + file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The stream in pieces of `n` bytes, as a server would flush them.
std::vector<std::string> in_pieces(const std::string& s, std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size(); i += n) out.push_back(s.substr(i, n));
  return out;
}

scripted_reply streamed(const char* file, std::size_t piece) {
  scripted_reply r;
  r.content_type = "text/event-stream";
  r.chunks = in_pieces(wire_answer(file), piece);
  return r;
}

http::route anthropic_route(const test_server& s) {
  return {providers::anthropic::descriptor().with_base_url(s.base_url() + "/v1"), {"claude-test"}};
}
http::route groq_route(const test_server& s) {
  return {providers::groq::descriptor().with_base_url(s.base_url() + "/openai/v1"), {"llama-test"}};
}

TEST(ClientStreamToolCalls, DeltasReachTheCallerAndTheAnswerHoldsTheCalls) {
  test_server anthropic([](const received_request&) { return streamed("anthropic_tool_use.sse", 97); });
  keypool::basic_pool<providers::anthropic> ap(keys("ANTHROPIC", 1));
  auto chain = keypool::make_chain(ap);
  http::transport t(fast_options());
  http::client c(chain, t, {anthropic_route(anthropic)});
  std::string text, id, name, fragments;
  std::size_t deltas = 0;
  http::stream_sinks sinks{[&](std::string_view d) { text += d; },
                           [&](const wire::tool_call_delta& d) {
                             ++deltas;
                             EXPECT_EQ(d.index, 0u);
                             id += d.id;
                             name += d.name;
                             fragments += d.arguments;
                           }};
  auto r = c.chat_stream(vision(), std::move(sinks));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(text, "I'll check the current weather in San Francisco for you.");
  EXPECT_EQ(deltas, 6u) << "content_block_start, then five non-empty input_json_delta fragments";
  EXPECT_EQ(id, "toolu_01A09q90qw90lq917835lq9");
  EXPECT_EQ(name, "get_weather");
  EXPECT_EQ(fragments.substr(0, 12), R"({"location":)");
  ASSERT_EQ(r->response.tool_calls.size(), 1u);
  EXPECT_EQ(r->response.tool_calls[0].id, id);
  EXPECT_EQ(r->response.finish, wire::finish_kind::tool_calls);
  EXPECT_EQ(r->response.usage.cached_input_tokens, 2048u);
}

TEST(ClientStreamToolCalls, BrokenStreamAfterAToolCallDeltaIsNotRetried) {
  test_server groq([](const received_request&) {
    auto r = streamed("openai_tool_calls.sse", 1 << 20);
    // The first event (the call's id and name), then the connection drops.
    const auto& all = r.chunks[0];
    const auto first_event = all.find("\n\n", all.find("\n\n") + 2) + 2;
    r.chunks = {all.substr(0, first_event), all.substr(first_event)};
    r.cut_after = 1;
    return r;
  });
  std::size_t other_calls = 0;
  test_server anthropic([&](const received_request&) {
    ++other_calls;
    return streamed("anthropic_tool_use.sse", 4096);
  });
  keypool::basic_pool<providers::groq> gp(keys("GROQ", 1));
  keypool::basic_pool<providers::anthropic> ap(keys("ANTHROPIC", 1));
  auto chain = keypool::make_chain(gp, ap);
  http::transport t(fast_options());
  http::client c(chain, t, {groq_route(groq), anthropic_route(anthropic)});
  std::size_t deltas = 0;
  auto r = c.chat_stream(vision(), http::stream_sinks{{}, [&](const wire::tool_call_delta&) { ++deltas; }});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::failover_errc::stream_failed) << r.error().message;
  EXPECT_EQ(deltas, 1u);
  EXPECT_EQ(other_calls, 0u);
}

TEST(ClientStreamToolCalls, TextOnlySinkStillStreams) {
  test_server groq([](const received_request&) { return streamed("openai_tool_calls.sse", 64); });
  keypool::basic_pool<providers::groq> gp(keys("GROQ", 1));
  auto chain = keypool::make_chain(gp);
  http::transport t(fast_options());
  http::client c(chain, t, {groq_route(groq)});
  auto r = c.chat_stream(vision(), [](std::string_view) {});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->response.tool_calls.size(), 2u);
  EXPECT_EQ(r->response.tool_calls[0].arguments, R"({"location":"Paris, France"})");
  EXPECT_EQ(r->response.usage.reasoning_tokens, 192u);
}

}  // namespace

}  // namespace http_stream_tool_calls_test
