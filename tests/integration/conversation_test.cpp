/// A tool-using conversation through the failover client and the mock fleet,
/// for each of the seven providers, whole and streamed: the first key is
/// rate-limited in the middle, and the conversation (the assistant's tool
/// call, the tool's result, the next user turn) reaches the second key
/// intact. The mock validates every turn as the provider does (a tool result
/// must answer a call of the turn before), so an answer quoting the result
/// shows the turns arrived whole.

#include <keypool/chain/chain.hpp>
#include <keypool/clock/manual.hpp>
#include <keypool/core/pool.hpp>
#include <keypool/http/client.hpp>
#include <keypool/mock/fleet.hpp>

#include <gtest/gtest.h>

#include <string>
#include <tuple>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace integration_conversation_test {
namespace {

using namespace std::chrono_literals;
namespace http = keypool::http;
namespace mock = keypool::mock;
namespace wire = keypool::wire;

using manual_pool = keypool::basic_pool<keypool::runtime_provider, keypool::policy::clock<keypool::clock::manual>>;

http::transport_options fast() {
  http::transport_options o;
  o.connect_timeout = 2s;
  o.read_timeout = 5s;
  o.total_timeout = 10s;
  o.proxy = http::proxy_options{};
  return o;
}

const char* const weather_schema =
    R"({"type":"object","properties":{"city":{"type":"string"},)"
    R"("unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city","unit"]})";

struct conversation_case {
  const char* provider;
  bool streamed;
};

class Conversation : public ::testing::TestWithParam<conversation_case> {
 protected:
  Conversation()
      : fleet_(config(GetParam().provider), mock::fleet_clock::from(clk_)),
        pool_(make_pool()),
        chain_(keypool::make_chain(pool_)),
        transport_(fast()),
        client_(chain_, transport_, {{fleet_.descriptor(GetParam().provider), {"some-model"}}}) {}

  /// Two keys; the first may answer one request a minute, so the third
  /// request (round robin: key 1, key 2, key 1) is refused with a 429.
  static mock::fleet_config config(const char* id) {
    mock::provider_behavior p;
    p.id = id;
    p.keys = mock::sample_keys(id, 2);
    p.keys[0].per_minute = 1;
    mock::fleet_config c;
    c.providers.push_back(std::move(p));
    c.threads = 1;
    return c;
  }
  manual_pool make_pool() {
    manual_pool::options o;
    o.clock = clk_;
    return manual_pool(fleet_.descriptor(GetParam().provider).info(), fleet_.key_specs(GetParam().provider), o);
  }

  /// One turn, whole or streamed; when streamed, the deltas joined must give
  /// the same text and arguments as the final answer.
  http::chat_outcome ask(const wire::chat_request& r) {
    if (!GetParam().streamed) return client_.chat(r);
    std::string text;
    std::string arguments;
    http::stream_sinks sinks{[&text](std::string_view t) { text += t; },
                             [&arguments](const wire::tool_call_delta& d) { arguments += d.arguments; }};
    auto out = client_.chat_stream(r, std::move(sinks));
    if (out) {
      EXPECT_EQ(text, out->response.text);
      // Anthropic's fragments are the raw partial_json; the others join to the answer's bytes.
      if (std::string_view(GetParam().provider) != "anthropic" && !out->response.tool_calls.empty()) {
        EXPECT_EQ(arguments, out->response.tool_calls[0].arguments);
      }
    }
    return out;
  }

  keypool::clock::manual clk_;
  mock::fleet fleet_;
  manual_pool pool_;
  using chain_type = decltype(keypool::make_chain(std::declval<manual_pool&>()));
  chain_type chain_;
  http::transport transport_;
  http::client<chain_type> client_;
};

wire::chat_request start() {
  wire::chat_request r;
  r.model = "some-model";
  r.max_tokens = 128;
  r.tools = {{"get_weather", "The weather in a city", weather_schema}};
  r.messages = {wire::message::system("You answer questions about the weather."),
                wire::message::user("What is the weather in Paris?")};
  return r;
}

TEST_P(Conversation, FiveTurnsWithToolsSurviveAFailoverToTheSecondKey) {
  auto r = start();
  // 1: the user asks; the model calls the tool (key 1).
  auto first = ask(r);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->key_variable, fleet_.key_specs(GetParam().provider)[0].variable);
  ASSERT_EQ(first->response.tool_calls.size(), 1u);
  const auto call = first->response.tool_calls[0];
  EXPECT_EQ(call.name, "get_weather");
  EXPECT_EQ(call.arguments, R"({"city":"What is the weather in Paris?","unit":"celsius"})");
  EXPECT_EQ(first->response.finish, wire::finish_kind::tool_calls);

  // 2: the tool's result; the model quotes it (key 2).
  r.messages.push_back(wire::message::assistant("", {call}));
  r.messages.push_back(wire::message::tool_result(call.id, "22 C and sunny"));
  auto second = ask(r);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_NE(second->response.text.find("22 C and sunny"), std::string::npos) << second->response.text;
  EXPECT_TRUE(second->response.tool_calls.empty());

  // 3: five turns after the system prompt; key 1 is refused (429) and the
  // whole conversation goes to key 2, which calls the tool for the new turn.
  r.messages.push_back(wire::message::assistant(second->response.text));
  r.messages.push_back(wire::message::user("And in Rome?"));
  auto third = ask(r);
  ASSERT_TRUE(third) << third.error().message;
  ASSERT_EQ(third->attempts.size(), 2u);
  EXPECT_EQ(third->attempts[0].status, 429u);
  EXPECT_EQ(third->attempts[0].outcome.kind, keypool::outcome_kind::rate_limited);
  EXPECT_EQ(third->key_variable, fleet_.key_specs(GetParam().provider)[1].variable);
  ASSERT_EQ(third->response.tool_calls.size(), 1u);
  EXPECT_EQ(third->response.tool_calls[0].arguments, R"({"city":"And in Rome?","unit":"celsius"})");

  // 4: the second call's result, answered by key 2 while key 1 is locked out.
  r.messages.push_back(wire::message::assistant("", {third->response.tool_calls[0]}));
  r.messages.push_back(wire::message::tool_result(third->response.tool_calls[0].id, "18 C and cloudy"));
  auto fourth = ask(r);
  ASSERT_TRUE(fourth) << fourth.error().message;
  EXPECT_EQ(fourth->attempts.size(), 1u);
  EXPECT_NE(fourth->response.text.find("18 C and cloudy"), std::string::npos) << fourth->response.text;
}

std::string case_name(const ::testing::TestParamInfo<conversation_case>& i) {
  return std::string(i.param.provider) + (i.param.streamed ? "_streamed" : "_whole");
}

INSTANTIATE_TEST_SUITE_P(SevenProviders, Conversation,
                         ::testing::Values(conversation_case{"openai", false}, conversation_case{"openai", true},
                                           conversation_case{"groq", false}, conversation_case{"groq", true},
                                           conversation_case{"mistral", false}, conversation_case{"mistral", true},
                                           conversation_case{"nvidia", false}, conversation_case{"nvidia", true},
                                           conversation_case{"zai", false}, conversation_case{"zai", true},
                                           conversation_case{"anthropic", false}, conversation_case{"anthropic", true},
                                           conversation_case{"google", false}, conversation_case{"google", true}),
                         case_name);

}  // namespace

}  // namespace integration_conversation_test
