// The gateway translating between formats, in front of the mock fleet
// (which validates each translated request as the real provider does: a
// tool result must answer a call of the turn before, Anthropic's turns
// alternate, Gemini's function responses name their function): an
// OpenAI-format tool conversation to an Anthropic and a Gemini provider,
// whole and streamed; /v1/messages to an OpenAI-compatible provider,
// streamed with tools; images; refusals naming the feature and provider;
// failover from a provider whose keys are all revoked.

#include "serve/support/gateway_fixture.hpp"

#include <keypool/core/pool.hpp>
#include <keypool/mock/fleet.hpp>
#include <keypool/wire/anthropic_messages.hpp>
#include <keypool/wire/openai_chat.hpp>
#include <keypool/wire/sse.hpp>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <string>
#include <vector>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace serve_translate_test {
namespace {

namespace json = boost::json;
namespace mock = keypool::mock;
namespace serve = keypool::serve;
namespace wire = keypool::wire;
using keypool::test::answer;
using keypool::test::client;

using fleet_pool = keypool::basic_pool<keypool::runtime_provider>;
using chain_type = keypool::chain<fleet_pool, fleet_pool, fleet_pool>;

/// Anthropic, Google (Gemini) and Groq (openai_chat) at the mock fleet, two
/// keys each, no limits, no latency.
mock::fleet_config fleet_of(mock::key_state anthropic_keys = mock::key_state::active) {
  mock::fleet_config c;
  for (const char* id : {"anthropic", "google", "groq"}) {
    mock::provider_behavior p;
    p.id = id;
    p.keys = mock::sample_keys(id, 2);
    if (std::string_view(id) == "anthropic")
      for (auto& k : p.keys) k.state = anthropic_keys;
    c.providers.push_back(std::move(p));
  }
  c.threads = 1;
  return c;
}

struct translated_gateway {
  mock::fleet fleet;
  fleet_pool anthropic{fleet.descriptor("anthropic").info(), fleet.key_specs("anthropic")};
  fleet_pool google{fleet.descriptor("google").info(), fleet.key_specs("google")};
  fleet_pool groq{fleet.descriptor("groq").info(), fleet.key_specs("groq")};
  chain_type chain{anthropic, google, groq};
  keypool::test::io_thread io;
  serve::gateway<chain_type> gw;
  std::uint16_t port = 0;

  explicit translated_gateway(mock::key_state anthropic_keys = mock::key_state::active)
      : fleet(fleet_of(anthropic_keys)),
        gw(chain, io.transport,
           {{fleet.descriptor("anthropic"), {"claude-test"}},
            {fleet.descriptor("google"), {"gemini-test"}},
            {fleet.descriptor("groq"), {"llama-test"}}},
           port0()) {
    port = gw.listen();
    io.start();
  }
  static serve::gateway_options port0() {
    serve::gateway_options o;
    o.port = 0;  // an ephemeral port
    return o;
  }
  ~translated_gateway() {
    gw.stop();
    io.stop();
  }
};

constexpr const char* weather_tool =
    R"({"type":"function","function":{"name":"get_weather","description":"The weather in a city",)"
    R"("parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}})";

/// The first turn of an OpenAI-format tool conversation.
std::string openai_first_turn(const std::string& model, bool stream) {
  return R"({"model":")" + model + R"(","stream":)" + (stream ? "true" : "false") +
         R"(,"stream_options":{"include_usage":true},"tools":[)" + weather_tool +
         R"(],"messages":[{"role":"system","content":"Answer about the weather."},)"
         R"({"role":"user","content":"Paris"}]})";
}

/// The second turn: the call made, its result.
std::string openai_second_turn(const std::string& model, bool stream, const wire::tool_call& call) {
  json::object body = json::parse(openai_first_turn(model, stream)).as_object();
  auto& msgs = body["messages"].as_array();
  msgs.push_back(json::object{
      {"role", "assistant"},
      {"content", nullptr},
      {"tool_calls",
       json::array{json::object{{"id", call.id},
                                {"type", "function"},
                                {"function", json::object{{"name", call.name}, {"arguments", call.arguments}}}}}}});
  msgs.push_back(json::object{{"role", "tool"}, {"tool_call_id", call.id}, {"content", "22 C and sunny"}});
  return json::serialize(body);
}

/// An answer's body as the provider-neutral response: a chat.completion, or
/// the chunks of a stream (decoded with the existing stream decoder).
template <class Codec>
wire::chat_response read_answer(const answer& a, bool stream) {
  if (!stream) {
    auto r = Codec::decode(a.body);
    EXPECT_TRUE(r) << r.error().message << "\n" << a.body;
    return r ? *r : wire::chat_response{};
  }
  EXPECT_EQ(a.header("content-type"), "text/event-stream");
  wire::chat_stream<Codec> s;
  std::string text;
  s.feed(a.body, [&text](std::string_view t) { text += t; });
  auto r = s.finish();
  EXPECT_TRUE(r) << r.error().message << "\n" << a.body;
  if (r) {
    EXPECT_EQ(text, r->text);
  }
  return r ? *r : wire::chat_response{};
}

struct conversation_case {
  const char* provider;
  bool stream;
  /// Gemini 3 (gemini-3-*) wants each call's thoughtSignature back: it rides
  /// in the call's id through the OpenAI format.
  const char* model = "m";
  const char* tag = "";
};

class OpenAiConversation : public ::testing::TestWithParam<conversation_case> {};

TEST_P(OpenAiConversation, ToolCallThenResultThroughTranslation) {
  translated_gateway g;
  client c(g.port);
  const std::string model = std::string(GetParam().provider) + "/" + GetParam().model;
  const bool stream = GetParam().stream;
  const auto first = c.post("/v1/chat/completions", openai_first_turn(model, stream));
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(first.header("x-keypool-provider"), GetParam().provider);
  EXPECT_EQ(first.header("x-keypool-attempts"), "1");
  EXPECT_NE(first.header("x-keypool-key").find("_API_KEY_"), std::string::npos);
  const auto r1 = read_answer<wire::openai_chat>(first, stream);
  ASSERT_EQ(r1.tool_calls.size(), 1u) << first.body;
  EXPECT_EQ(r1.tool_calls[0].name, "get_weather");
  EXPECT_EQ(json::parse(r1.tool_calls[0].arguments).at("city").as_string(), "Paris");
  EXPECT_EQ(r1.finish, wire::finish_kind::tool_calls);
  if (stream) {
    EXPECT_GT(r1.usage.input_tokens, 0u) << "the usage chunk the caller asked for";
  }

  const auto second = c.post("/v1/chat/completions", openai_second_turn(model, stream, r1.tool_calls[0]));
  ASSERT_EQ(second.status, 200u) << second.body;
  const auto r2 = read_answer<wire::openai_chat>(second, stream);
  EXPECT_NE(r2.text.find("22 C and sunny"), std::string::npos) << second.body;
  EXPECT_TRUE(r2.tool_calls.empty());
  EXPECT_EQ(r2.finish, wire::finish_kind::stop);
}

INSTANTIATE_TEST_SUITE_P(AnthropicAndGemini, OpenAiConversation,
                         ::testing::Values(conversation_case{"anthropic", false}, conversation_case{"anthropic", true},
                                           conversation_case{"google", false}, conversation_case{"google", true},
                                           conversation_case{"google", false, "gemini-3-flash-preview", "_gemini3"},
                                           conversation_case{"google", true, "gemini-3-flash-preview", "_gemini3"}),
                         [](const auto& i) {
                           return std::string(i.param.provider) + i.param.tag +
                                  (i.param.stream ? "_streamed" : "_whole");
                         });

TEST(TranslatedMessages, StreamedToolUseFromAnOpenAiProvider) {
  translated_gateway g;
  client c(g.port);
  const std::string tools =
      R"("tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}])";
  const auto first = c.post("/v1/messages", R"({"model":"groq/m","max_tokens":100,"stream":true,)" + tools +
                                                R"(,"messages":[{"role":"user","content":"Rome"}]})");
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(first.header("x-keypool-provider"), "groq");
  EXPECT_EQ(first.body.find("event: message_start\n"), 0u) << first.body;
  const auto r1 = read_answer<wire::anthropic_messages>(first, true);
  ASSERT_EQ(r1.tool_calls.size(), 1u) << first.body;
  EXPECT_EQ(r1.finish_reason, "tool_use");
  EXPECT_EQ(json::parse(r1.tool_calls[0].arguments).at("city").as_string(), "Rome");

  const auto& call = r1.tool_calls[0];
  const auto second = c.post(
      "/v1/messages",
      R"({"model":"groq/m","max_tokens":100,"stream":true,)" + tools +
          R"(,"messages":[{"role":"user","content":"Rome"},{"role":"assistant","content":[{"type":"tool_use","id":")" +
          call.id + R"(","name":"get_weather","input":)" + call.arguments +
          R"(}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":")" + call.id +
          R"(","content":"18 C"}]}]})");
  ASSERT_EQ(second.status, 200u) << second.body;
  const auto r2 = read_answer<wire::anthropic_messages>(second, true);
  EXPECT_NE(r2.text.find("18 C"), std::string::npos) << second.body;
  EXPECT_EQ(r2.finish_reason, "end_turn");
}

TEST(TranslatedMessages, WholeAnswerFromGemini) {
  translated_gateway g;
  client c(g.port);
  const auto a = c.post("/v1/messages", R"({"model":"google/m","max_tokens":100,"system":"Be brief.",)"
                                        R"("messages":[{"role":"user","content":"Hello there"}]})");
  ASSERT_EQ(a.status, 200u) << a.body;
  const auto r = read_answer<wire::anthropic_messages>(a, false);
  EXPECT_NE(r.text.find("Hello there"), std::string::npos) << a.body;
  EXPECT_EQ(json::parse(a.body).at("type").as_string(), "message");
}

TEST(TranslatedImages, AnInlineImageReachesGemini) {
  translated_gateway g;
  client c(g.port);
  const auto a =
      c.post("/v1/chat/completions",
             R"({"model":"google/m","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},)"
             R"({"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]})");
  ASSERT_EQ(a.status, 200u) << a.body;
  const auto r = read_answer<wire::openai_chat>(a, false);
  EXPECT_NE(r.text.find("1 image (8 bytes)"), std::string::npos) << r.text;
}

TEST(TranslatedRefusals, AFeatureNoProviderCanExpressIsA400NamingIt) {
  translated_gateway g;
  client c(g.port);
  const auto a =
      c.post("/v1/chat/completions", R"({"model":"google/m","messages":[{"role":"user","content":[)"
                                     R"({"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]})");
  EXPECT_EQ(a.status, 400u);
  EXPECT_NE(a.body.find("google"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("image by URL"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("unsupported_feature"), std::string::npos) << a.body;
  EXPECT_EQ(g.fleet.providers().stats("google").requests, 0u);
}

TEST(TranslatedRefusals, AMalformedFieldIsA400NamingIt) {
  translated_gateway g;
  client c(g.port);
  const auto a =
      c.post("/v1/chat/completions",
             R"({"model":"anthropic/m","messages":[{"role":"user","content":"a"},{"role":"robot","content":"b"}]})");
  EXPECT_EQ(a.status, 400u);
  EXPECT_NE(a.body.find("messages[1].role"), std::string::npos) << a.body;
}

TEST(TranslatedRefusals, AProviderThatCannotExpressAFeatureIsSkipped) {
  translated_gateway g;
  client c(g.port);
  // Anthropic has no seed: the chain's next provider (Gemini) answers.
  const auto a =
      c.post("/v1/chat/completions", R"({"model":"auto","seed":3,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(a.status, 200u) << a.body;
  EXPECT_EQ(a.header("x-keypool-provider"), "google");
  EXPECT_EQ(a.header("x-keypool-attempts"), "1");
}

TEST(TranslatedFailover, RevokedKeysFailOverBeforeTheStreamStarts) {
  translated_gateway g(mock::key_state::revoked);
  client c(g.port);
  const auto a = c.post("/v1/chat/completions", openai_first_turn("auto", true));
  ASSERT_EQ(a.status, 200u) << a.body;
  EXPECT_EQ(a.header("x-keypool-provider"), "google");
  EXPECT_EQ(a.header("x-keypool-attempts"), "3");  // both Anthropic keys refused, then Gemini
  const auto r = read_answer<wire::openai_chat>(a, true);
  EXPECT_EQ(r.tool_calls.size(), 1u) << a.body;
}

// ---- scripted upstreams --------------------------------------------------------

using anthropic_then_groq = keypool::test::gateway_over_servers<keypool::basic_pool<keypool::providers::anthropic>,
                                                                keypool::basic_pool<keypool::providers::groq>>;

keypool::test::scripted_reply sse(std::vector<std::string> chunks) {
  keypool::test::scripted_reply r;
  r.content_type = "text/event-stream";
  r.chunks = std::move(chunks);
  return r;
}

TEST(TranslatedFailover, AnUpstreamStreamThatDoesNotDecodeFailsOverBeforeTheFirstByte) {
  anthropic_then_groq g(
      [](const auto&) {
        return sse({"event: message_start\ndata: {\"type\":", "oops}\n\n"});
      },
      [](const auto&) {
        return sse({R"(data: {"choices":[{"index":0,"delta":{"content":"fine"}}]})"
                    "\n\n",
                    R"(data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})"
                    "\n\ndata: [DONE]\n\n"});
      });
  client c(g.port);
  const auto a =
      c.post("/v1/chat/completions", R"({"model":"auto","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(a.status, 200u) << a.body;
  EXPECT_EQ(a.header("x-keypool-provider"), "groq");
  EXPECT_EQ(a.header("x-keypool-attempts"), "2");
  EXPECT_EQ(read_answer<wire::openai_chat>(a, true).text, "fine");
  ASSERT_EQ(g.first.requests().size(), 1u);
  EXPECT_EQ(g.first.requests()[0].header("accept"), "text/event-stream");
  EXPECT_TRUE(json::parse(g.first.requests()[0].body).at("stream").as_bool());
}

TEST(TranslatedStream, AnthropicEventsBecomeOpenAiChunksAsTheyArrive) {
  const std::vector<std::string> events = {
      "event: message_start\ndata: "
      R"({"type":"message_start","message":{"model":"claude","usage":{"input_tokens":7,"output_tokens":1}}})"
      "\n\n",
      "event: content_block_start\ndata: "
      R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"
      "\n\n",
      "event: content_block_delta\ndata: "
      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}})"
      "\n\nevent: content_block_delta\ndata: "
      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo"}})"
      "\n\n",
      "event: message_delta\ndata: "
      R"({"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":2}})"
      "\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"};
  anthropic_then_groq g([&](const auto&) { return sse(events); },
                        [](const auto&) { return keypool::test::scripted_reply::json(keypool::test::openai_ok); });
  client c(g.port);
  const auto a =
      c.post("/v1/chat/completions", R"({"model":"anthropic/claude","stream":true,"stream_options":)"
                                     R"({"include_usage":true},"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(a.status, 200u) << a.body;
  const auto r = read_answer<wire::openai_chat>(a, true);
  EXPECT_EQ(r.text, "Hello");
  EXPECT_EQ(r.finish_reason, "length");
  EXPECT_EQ(r.usage.input_tokens, 7u);
  EXPECT_EQ(r.usage.output_tokens, 2u);
  // One chunk per text delta, not one for the whole text.
  EXPECT_NE(a.body.find(R"("delta":{"content":"Hel"})"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find(R"("delta":{"content":"lo"})"), std::string::npos) << a.body;
}

}  // namespace

}  // namespace serve_translate_test
