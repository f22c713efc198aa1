// Decoding whole answers: text, tool calls, finish reasons and usage details
// in the three wire formats, from the providers' published examples
// (answers/README.md) and from hand-made edge cases.

#include "wire/support/answers.hpp"

#include <keypool/wire/anthropic_messages.hpp>
#include <keypool/wire/detail/canonical_json.hpp>
#include <keypool/wire/gemini_generate_content.hpp>
#include <keypool/wire/openai_chat.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

namespace wire = keypool::wire;
using keypool::test::answer;
using wire::finish_kind;

TEST(OpenaiDecode, PublishedToolCallsAnswer) {
  const auto r = wire::openai_chat::decode(answer("openai_tool_calls.json"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->text, "");
  ASSERT_EQ(r->tool_calls.size(), 2u);
  EXPECT_EQ(r->tool_calls[0],
            (wire::tool_call{"call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather", R"({"location":"Paris, France"})"}));
  // The arguments byte for byte as the model wrote them (spaces kept; the
  // \u00e9 escape of the JSON string is the character itself).
  EXPECT_EQ(r->tool_calls[1].arguments, "{\"location\": \"Bogot\xc3\xa1, Colombia\", \"unit\": \"celsius\"}");
  EXPECT_EQ(r->finish_reason, "tool_calls");
  EXPECT_EQ(r->finish, finish_kind::tool_calls);
  EXPECT_EQ(r->model, "gpt-4.1-2025-04-14");
  EXPECT_EQ(r->usage, (wire::usage{2006, 300, 1920, 192, 0}));
}

TEST(OpenaiDecode, FastPathReadsUsageDetailsAndAgreesWithTree) {
  const std::string body =
      R"({"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi","tool_calls":null},)"
      R"("finish_reason":"length"}],"usage":{"prompt_tokens":10,"completion_tokens":5,)"
      R"("prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":2}}})";
  ASSERT_TRUE(wire::detail::scan_openai_answer(body)) << "the common shape must take the fast path";
  const auto fast = wire::openai_chat::decode(body);
  const auto tree = wire::openai_chat::decode_tree(body);
  ASSERT_TRUE(fast && tree);
  EXPECT_EQ(fast->usage, (wire::usage{10, 5, 4, 2, 0}));
  EXPECT_EQ(fast->usage, tree->usage);
  EXPECT_EQ(fast->finish, finish_kind::length);
  EXPECT_EQ(tree->finish, finish_kind::length);
}

TEST(OpenaiDecode, ToolCallsLeaveTheFastPath) {
  const std::string body = R"({"choices":[{"message":{"content":null,"tool_calls":[{"id":"c1","type":"function",)"
                           R"("function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]})";
  EXPECT_FALSE(wire::detail::scan_openai_answer(body));
  const auto r = wire::openai_chat::decode(body);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->tool_calls.size(), 1u);
  EXPECT_EQ(r->tool_calls[0], (wire::tool_call{"c1", "f", "{}"}));
}

TEST(OpenaiDecode, LegacyFunctionCallAndObjectArguments) {
  const auto legacy = wire::openai_chat::decode(
      R"({"choices":[{"message":{"content":null,"function_call":{"name":"f","arguments":"{\"a\":1}"}},)"
      R"("finish_reason":"function_call"}]})");
  ASSERT_TRUE(legacy);
  ASSERT_EQ(legacy->tool_calls.size(), 1u);
  EXPECT_EQ(legacy->tool_calls[0].arguments, R"({"a":1})");
  EXPECT_EQ(legacy->tool_calls[0].id.substr(0, 5), "call_");
  EXPECT_EQ(legacy->finish, finish_kind::tool_calls);
  // Some OpenAI-compatible servers send the arguments as an object.
  const auto object = wire::openai_chat::decode(
      R"({"choices":[{"message":{"tool_calls":[{"id":"x","function":{"name":"f","arguments":{"b": [1, 2.5]}}}]},)"
      R"("finish_reason":"stop"}]})");
  ASSERT_TRUE(object);
  EXPECT_EQ(object->tool_calls[0].arguments, R"({"b":[1,2.5]})");
  EXPECT_EQ(object->finish, finish_kind::tool_calls) << "a normal stop with tool calls is a tool_calls stop";
}

TEST(OpenaiDecode, CallsOfAnotherTypeAreNotTheCallers) {
  // Z.AI lists the MCP calls it ran itself next to the function calls.
  const auto r = wire::openai_chat::decode(
      R"({"choices":[{"message":{"tool_calls":[{"id":"m","type":"mcp","mcp":{"id":"m","type":"mcp_call"}},)"
      R"({"id":"f1","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]})");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->tool_calls.size(), 1u);
  EXPECT_EQ(r->tool_calls[0].id, "f1");
}

TEST(OpenaiDecode, ToolCallWithoutNameIsAnErrorNamingThePlace) {
  const auto r = wire::openai_chat::decode(
      R"({"choices":[{"message":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{}"}},)"
      R"({"id":"b","function":{"arguments":"{}"}}]}}]})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wire::decode_errc::unexpected_shape);
  EXPECT_EQ(r.error().message, "openai_chat: choices[0].message.tool_calls[1].function.name is not a string");
}

TEST(OpenaiDecode, FinishReasonsNormalised) {
  const std::pair<const char*, finish_kind> cases[] = {
      {"stop", finish_kind::stop},
      {"length", finish_kind::length},
      {"model_length", finish_kind::length},  // Mistral
      {"tool_calls", finish_kind::tool_calls},
      {"content_filter", finish_kind::content_filter},
      {"sensitive", finish_kind::content_filter},  // Z.AI
      {"network_error", finish_kind::other},       // Z.AI
      {"error", finish_kind::other},               // Mistral
  };
  for (const auto& [word, kind] : cases) {
    const auto r = wire::openai_chat::decode(
        std::string(R"({"choices":[{"message":{"content":"x"},"finish_reason":")") + word + "\"}]}");
    ASSERT_TRUE(r) << word;
    EXPECT_EQ(r->finish_reason, word);
    EXPECT_EQ(r->finish, kind) << word;
  }
  const auto none = wire::openai_chat::decode(R"({"choices":[{"message":{"content":"x"}}]})");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->finish, finish_kind::none);
}

TEST(AnthropicDecode, PublishedToolUseAnswer) {
  const auto r = wire::anthropic_messages::decode(answer("anthropic_tool_use.json"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->text, "I'll check the current weather in San Francisco for you.");
  ASSERT_EQ(r->tool_calls.size(), 1u);
  EXPECT_EQ(r->tool_calls[0].id, "toolu_01A09q90qw90lq917835lq9");
  EXPECT_EQ(r->tool_calls[0].name, "get_weather");
  // `input` written once, compactly: members in order, numbers as numbers
  // (21.50 reads back as 21.5), the \u00e9 escape as the character.
  EXPECT_EQ(r->tool_calls[0].arguments,
            "{\"location\":\"San Francisco, CA\",\"unit\":\"fahrenheit\",\"days\":3,\"threshold\":21.5,"
            "\"note\":\"caf\xc3\xa9 \\\"quoted\\\"\\n\"}");
  EXPECT_EQ(r->finish_reason, "tool_use");
  EXPECT_EQ(r->finish, finish_kind::tool_calls);
  // input_tokens counts the whole prompt: 472 uncached + 2048 read + 1024 written.
  EXPECT_EQ(r->usage, (wire::usage{472 + 2048 + 1024, 89, 2048, 0, 1024}));
}

TEST(AnthropicDecode, StopReasonsNormalised) {
  const std::pair<const char*, finish_kind> cases[] = {
      {"end_turn", finish_kind::stop},       {"stop_sequence", finish_kind::stop},
      {"max_tokens", finish_kind::length},   {"model_context_window_exceeded", finish_kind::length},
      {"tool_use", finish_kind::tool_calls}, {"refusal", finish_kind::content_filter},
      {"pause_turn", finish_kind::other},
  };
  for (const auto& [word, kind] : cases) {
    const auto r = wire::anthropic_messages::decode(
        std::string(R"({"content":[{"type":"text","text":"x"}],"stop_reason":")") + word + "\"}");
    ASSERT_TRUE(r) << word;
    EXPECT_EQ(r->finish, kind) << word;
  }
}

TEST(AnthropicDecode, ToolUseWithoutIdIsAnError) {
  const auto r = wire::anthropic_messages::decode(R"({"content":[{"type":"tool_use","name":"f","input":{}}]})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wire::decode_errc::unexpected_shape);
  EXPECT_EQ(r.error().message, "anthropic_messages: content[0] (tool_use) has no string id and name");
}

TEST(GeminiDecode, PublishedFunctionCallAnswer) {
  const auto r = wire::gemini_generate_content::decode(answer("gemini_function_call.json"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->text, "Let me look that up.");
  ASSERT_EQ(r->tool_calls.size(), 2u);
  EXPECT_EQ(r->tool_calls[0].name, "get_current_temperature");
  EXPECT_EQ(r->tool_calls[0].arguments, R"({"location":"London"})");
  EXPECT_EQ(r->tool_calls[1].arguments, "{\"location\":\"Z\xc3\xbcrich\",\"unit\":\"celsius\",\"limits\":[-10,40.5]}");
  // Gemini gives no ids here: each gets one derived from the call.
  EXPECT_EQ(r->tool_calls[0].id,
            wire::detail::synthesized_call_id(0, r->tool_calls[0].name, r->tool_calls[0].arguments));
  EXPECT_EQ(r->tool_calls[0].id.size(), 5u + 16u);
  EXPECT_NE(r->tool_calls[0].id, r->tool_calls[1].id);
  EXPECT_EQ(r->finish_reason, "STOP");
  EXPECT_EQ(r->finish, finish_kind::tool_calls) << "Gemini says STOP when it calls a function";
  EXPECT_EQ(r->usage, (wire::usage{3120, 41 + 89, 2048, 89, 0}));
}

TEST(GeminiDecode, GivenIdIsKeptAndSameCallAtAnotherPlaceGetsAnotherId) {
  const auto r = wire::gemini_generate_content::decode(
      R"({"candidates":[{"content":{"parts":[{"functionCall":{"id":"fc-1","name":"f","args":{}}},)"
      R"({"functionCall":{"name":"f"}},{"functionCall":{"name":"f","args":{}}}]},"finishReason":"STOP"}]})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->tool_calls.size(), 3u);
  EXPECT_EQ(r->tool_calls[0].id, "fc-1");
  EXPECT_EQ(r->tool_calls[1].arguments, "{}") << "no args: an empty object";
  EXPECT_NE(r->tool_calls[1].id, r->tool_calls[2].id);
}

TEST(GeminiDecode, FinishReasonsNormalised) {
  const std::pair<const char*, finish_kind> cases[] = {
      {"STOP", finish_kind::stop},
      {"MAX_TOKENS", finish_kind::length},
      {"SAFETY", finish_kind::content_filter},
      {"RECITATION", finish_kind::content_filter},
      {"PROHIBITED_CONTENT", finish_kind::content_filter},
      {"MALFORMED_FUNCTION_CALL", finish_kind::other},
      {"OTHER", finish_kind::other},
  };
  for (const auto& [word, kind] : cases) {
    const auto r = wire::gemini_generate_content::decode(
        std::string(R"({"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":")") + word + "\"}]}");
    ASSERT_TRUE(r) << word;
    EXPECT_EQ(r->finish, kind) << word;
  }
}

TEST(CanonicalJson, SameValueSameBytes) {
  using wire::detail::canonical_json;
  EXPECT_EQ(canonical_json(R"( { "a" : [ 1 , -2 , 3.0e0 , true , null ] , "b" : "\/\u0041\t" } )", "t"),
            R"({"a":[1,-2,3,true,null],"b":"/A\t"})");
  EXPECT_EQ(canonical_json(R"({"big":18446744073709551615,"neg":-9223372036854775808,"e":1e300})", "t"),
            R"({"big":18446744073709551615,"neg":-9223372036854775808,"e":1e+300})");
  EXPECT_FALSE(canonical_json(R"({"a":)", "t"));
}

}  // namespace
