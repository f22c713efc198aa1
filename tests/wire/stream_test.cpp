// Streamed answers: text and tool-call deltas in the three wire formats, the
// byte stream split at every position, compared to the whole answer's
// decode; usage from the final event; cut streams are truncated_stream.

#include "wire/support/answers.hpp"

#include <keypool/wire/anthropic_messages.hpp>
#include <keypool/wire/detail/canonical_json.hpp>
#include <keypool/wire/gemini_generate_content.hpp>
#include <keypool/wire/openai_chat.hpp>
#include <keypool/wire/sse.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

namespace wire = keypool::wire;
using keypool::test::answer;

/// What a caller of chat_stream saw.
struct seen {
  std::string text;
  std::vector<wire::tool_call> calls;  // rebuilt from the deltas alone
  std::vector<std::size_t> order;      // the index of each delta
  wire::decode_result result = ::keypool::unexpected<wire::decode_error>{{wire::decode_errc::internal, ""}};
};

template <class Codec>
seen stream(std::string_view bytes, std::size_t split) {
  wire::chat_stream<Codec> s;
  seen out;
  const auto on_text = [&](std::string_view t) { out.text.append(t); };
  const auto on_call = [&](const wire::tool_call_delta& d) {
    if (d.index >= out.calls.size()) out.calls.resize(d.index + 1);
    auto& c = out.calls[d.index];
    c.id += d.id;
    c.name += d.name;
    c.arguments += d.arguments;
    out.order.push_back(d.index);
  };
  if (s.feed(bytes.substr(0, split), on_text, on_call)) s.feed(bytes.substr(split), on_text, on_call);
  out.result = s.finish();
  return out;
}

/// Anthropic's deltas are the model's raw fragments; the answer holds them
/// written canonically, like a whole answer's `input`.
template <class Codec>
std::string joined_as_answer(const std::string& fragments) {
  if constexpr (std::is_same_v<Codec, wire::anthropic_messages>)
    return wire::detail::canonical_json(fragments, "test").value_or("<not JSON>");
  else
    return fragments;
}

template <class Codec>
void every_split_matches_whole(const std::string& sse, const std::string& whole_json) {
  const auto whole = Codec::decode(whole_json);
  ASSERT_TRUE(whole) << whole.error().message;
  ASSERT_FALSE(whole->tool_calls.empty());
  for (std::size_t split = 0; split <= sse.size(); ++split) {
    const seen s = stream<Codec>(sse, split);
    ASSERT_TRUE(s.result) << "split at " << split << ": " << s.result.error().message;
    ASSERT_EQ(s.result->tool_calls, whole->tool_calls) << "split at " << split;
    ASSERT_EQ(s.result->text, whole->text) << "split at " << split;
    ASSERT_EQ(s.text, whole->text) << "split at " << split;
    ASSERT_EQ(s.result->finish, whole->finish);
    ASSERT_EQ(s.result->finish_reason, whole->finish_reason);
    ASSERT_EQ(s.result->usage, whole->usage) << "usage from the final event";
    ASSERT_EQ(s.calls.size(), whole->tool_calls.size());
    for (std::size_t i = 0; i < s.calls.size(); ++i) {
      EXPECT_EQ(joined_as_answer<Codec>(s.calls[i].arguments), whole->tool_calls[i].arguments);
      EXPECT_EQ(s.calls[i].name, whole->tool_calls[i].name);
      if (!s.calls[i].id.empty()) {
        EXPECT_EQ(s.calls[i].id, whole->tool_calls[i].id);
      }
    }
  }
}

template <class Codec>
void every_cut_is_truncated(const std::string& sse) {
  // A stream cut anywhere before its last event's end: either enough came
  // (OpenAI's finish_reason chunk precedes usage and [DONE]) or the verdict
  // is truncated_stream, never another error or a crash.
  std::size_t truncated = 0;
  for (std::size_t cut = 0; cut < sse.size(); ++cut) {
    wire::chat_stream<Codec> s;
    s.feed(std::string_view(sse).substr(0, cut), [](std::string_view) {});
    const auto r = s.finish();
    if (!r) {
      ASSERT_EQ(r.error().code, wire::decode_errc::truncated_stream) << "cut at " << cut << ": " << r.error().message;
      ++truncated;
    }
  }
  EXPECT_GT(truncated, sse.size() / 2) << "a cut inside the tool call's arguments is truncated";
}

TEST(OpenaiStream, ToolCallsAtEverySplitMatchTheWholeAnswer) {
  every_split_matches_whole<wire::openai_chat>(answer("openai_tool_calls.sse"), answer("openai_tool_calls.json"));
}
TEST(AnthropicStream, ToolUseAtEverySplitMatchesTheWholeAnswer) {
  every_split_matches_whole<wire::anthropic_messages>(answer("anthropic_tool_use.sse"),
                                                      answer("anthropic_tool_use.json"));
}
TEST(GeminiStream, FunctionCallsAtEverySplitMatchTheWholeAnswer) {
  every_split_matches_whole<wire::gemini_generate_content>(answer("gemini_function_call.sse"),
                                                           answer("gemini_function_call.json"));
}

TEST(OpenaiStream, CutStreamsAreTruncated) {
  every_cut_is_truncated<wire::openai_chat>(answer("openai_tool_calls.sse"));
}
TEST(AnthropicStream, CutStreamsAreTruncated) {
  every_cut_is_truncated<wire::anthropic_messages>(answer("anthropic_tool_use.sse"));
}
TEST(GeminiStream, CutStreamsAreTruncated) {
  every_cut_is_truncated<wire::gemini_generate_content>(answer("gemini_function_call.sse"));
}

TEST(OpenaiStream, FirstDeltaCarriesIdAndNameThenFragments) {
  const seen s = stream<wire::openai_chat>(answer("openai_tool_calls.sse"), 0);
  ASSERT_TRUE(s.result);
  // call 0: id+name, 7 fragments; call 1: id+name, 5 fragments.
  const std::vector<std::size_t> expected{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
  EXPECT_EQ(s.order, expected);
  EXPECT_EQ(s.calls[0].id, "call_DdmO9pD3xa9XTPNJ32zg2hcA");
  EXPECT_EQ(s.result->usage, (wire::usage{2006, 300, 1920, 192, 0}));
}

TEST(AnthropicStream, UsageAddsTheCacheAndTakesOutputFromMessageDelta) {
  const seen s = stream<wire::anthropic_messages>(answer("anthropic_tool_use.sse"), 0);
  ASSERT_TRUE(s.result);
  EXPECT_EQ(s.result->usage, (wire::usage{472 + 2048 + 1024, 89, 2048, 0, 1024}));
  EXPECT_EQ(s.result->finish, wire::finish_kind::tool_calls);
}

TEST(AnthropicStream, ArgumentsThatNeverCompleteAreAnError) {
  const std::string sse =
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
      "{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
      "{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\": \"}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  const seen s = stream<wire::anthropic_messages>(sse, 0);
  ASSERT_FALSE(s.result);
  EXPECT_EQ(s.result.error().code, wire::decode_errc::unexpected_shape);
  EXPECT_EQ(s.result.error().message, "anthropic_messages: the streamed input of tool call 0 is not one JSON value");
}

TEST(AnthropicStream, ToolUseWithNoInputIsAnEmptyObject) {
  const std::string sse =
      "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
      "{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"now\",\"input\":{}}}\n\n"
      "data: "
      "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}"
      "\n\n"
      "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"}}\n\n"
      "data: {\"type\":\"message_stop\"}\n\n";
  const seen s = stream<wire::anthropic_messages>(sse, 0);
  ASSERT_TRUE(s.result) << s.result.error().message;
  ASSERT_EQ(s.result->tool_calls.size(), 1u);
  EXPECT_EQ(s.result->tool_calls[0], (wire::tool_call{"t", "now", "{}"}));
}

TEST(OpenaiStream, CallsWithoutIndexAreSeparatedById) {
  // Some OpenAI-compatible servers send each call whole, without "index".
  const std::string sse =
      "data: "
      "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}"
      "\n\n"
      "data: "
      "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"b\",\"function\":{\"name\":\"g\",\"arguments\":\"[]\"}}]}}]}"
      "\n\n"
      "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n";
  const seen s = stream<wire::openai_chat>(sse, 0);
  ASSERT_TRUE(s.result);
  ASSERT_EQ(s.result->tool_calls.size(), 2u);
  EXPECT_EQ(s.result->tool_calls[1], (wire::tool_call{"b", "g", "[]"}));
}

TEST(OpenaiStream, ToolCallWithoutNameIsAnError) {
  const std::string sse =
      "data: "
      "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"arguments\":\"{}\"}}]}}]}"
      "\n\n"
      "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n";
  const seen s = stream<wire::openai_chat>(sse, 0);
  ASSERT_FALSE(s.result);
  EXPECT_EQ(s.result.error().message, "openai_chat: streamed tool call 0 has no function.name");
}

TEST(OpenaiStream, CallsOfAnotherTypeAreSkippedWithTheirLaterDeltas) {
  const std::string sse =
      "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"m\",\"type\":\"mcp\"}]}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"x\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"f1\",\"type\":\"function\","
      "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n";
  const seen s = stream<wire::openai_chat>(sse, 0);
  ASSERT_TRUE(s.result) << s.result.error().message;
  ASSERT_EQ(s.result->tool_calls.size(), 1u);
  EXPECT_EQ(s.result->tool_calls[0], (wire::tool_call{"f1", "f", "{}"}));
  EXPECT_EQ(s.order, (std::vector<std::size_t>{0}));
}

TEST(OpenaiStream, ACallThatStartsEmptyIsStillAnnouncedSoIndexesStayDense) {
  // The first delta of call 0 carries nothing; call 1 must not reach the
  // caller as index 1 before any index 0 was seen.
  const std::string sse =
      "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0}]}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"b\","
      "\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\","
      "\"function\":{\"name\":\"f\",\"arguments\":\"[]\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n";
  const seen s = stream<wire::openai_chat>(sse, 0);
  ASSERT_TRUE(s.result) << s.result.error().message;
  EXPECT_EQ(s.order, (std::vector<std::size_t>{0, 1, 0}));
  ASSERT_EQ(s.calls.size(), 2u);
  EXPECT_EQ(s.calls[0], (wire::tool_call{"a", "f", "[]"}));
  EXPECT_EQ(s.calls, s.result->tool_calls);
}

TEST(ChatStream, TextOnlyCallersCompileUnchanged) {
  wire::chat_stream<wire::openai_chat> s;
  std::string text;
  s.feed(answer("openai_tool_calls.sse"), [&](std::string_view t) { text += t; });
  const auto r = s.finish();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tool_calls.size(), 2u) << "the answer has the calls even when nobody listened to the deltas";
  EXPECT_EQ(s.tool_calls().size(), 2u);
}

}  // namespace
