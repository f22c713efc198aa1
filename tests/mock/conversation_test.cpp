/// The mock fleet answers whole conversations in all three wire formats,
/// for each of the seven providers, streamed and not: a tool call to the
/// first (or the named) tool when the user spoke last, text quoting a tool's
/// result, a JSON object for a json_schema; streamed fragments reassemble
/// into exactly the non-streamed answer. Raw JSON bodies, no request model.

#include "mock/support.hpp"

#include <gtest/gtest.h>

#include <algorithm>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace mock_conversation_test {
namespace {

using namespace chatmock;

class Conversation : public ::testing::TestWithParam<std::string> {
 protected:
  mock::provider_fleet fleet{quiet_fleet()};
  const std::string id = GetParam();
  const wire_format wire = wire_of(id);

  /// Asks non-streamed and streamed; both must succeed and agree.
  answer ask_both(const std::vector<turn>& turns, asks a) {
    a.stream = false;
    const auto whole = post(fleet, id, request_body(id, turns, a), false);
    EXPECT_EQ(whole.status, 200u) << whole.body;
    EXPECT_EQ(whole.content_type, "application/json");
    a.stream = true;
    const auto streamed = post(fleet, id, request_body(id, turns, a), true);
    EXPECT_EQ(streamed.status, 200u) << streamed.body;
    EXPECT_EQ(streamed.content_type, "text/event-stream");
    const answer one = read_body(wire, whole.body);
    const answer two = read_stream(wire, streamed.body);
    EXPECT_EQ(two.text, one.text);
    EXPECT_EQ(two.arguments, one.arguments);  // byte-identical
    EXPECT_EQ(two.call_id, one.call_id);
    EXPECT_EQ(two.call_name, one.call_name);
    EXPECT_EQ(two.finish, one.finish);
    EXPECT_EQ(two.output_tokens, one.output_tokens);
    last_fragments = two.fragments;
    return one;
  }

  std::size_t last_fragments = 0;

  std::string call_finish() const {
    return wire == wire_format::openai_chat          ? "tool_calls"
           : wire == wire_format::anthropic_messages ? "tool_use"
                                                     : "STOP";
  }
  std::string text_finish() const {
    return wire == wire_format::openai_chat ? "stop" : wire == wire_format::anthropic_messages ? "end_turn" : "STOP";
  }
  /// tool_choice naming `name` in the format's spelling.
  json::value named(const std::string& name) const {
    if (wire == wire_format::openai_chat)
      return json::object{{"type", "function"}, {"function", json::object{{"name", name}}}};
    if (wire == wire_format::anthropic_messages) return json::object{{"type", "tool"}, {"name", name}};
    return json::object{{"mode", "ANY"}, {"allowedFunctionNames", json::array{name}}};
  }
  json::value none() const {
    if (wire == wire_format::openai_chat) return "none";
    if (wire == wire_format::anthropic_messages) return json::object{{"type", "none"}};
    return json::object{{"mode", "NONE"}};
  }
};

const std::vector<turn> weather_question{{turn::user, "What is the weather in Paris?"}};

TEST_P(Conversation, ToolsOfferedAndUserLastGiveACallToTheFirstTool) {
  const answer a = ask_both(weather_question, {{weather_tool(), time_tool()}});
  EXPECT_EQ(a.call_name, "get_weather");
  EXPECT_EQ(a.text, "");
  EXPECT_EQ(a.finish, call_finish());
  // Required properties only: a string from the prompt, an enum's first value.
  EXPECT_EQ(a.arguments, R"({"city":"What is the weather in Paris?","unit":"celsius"})");
  if (wire == wire_format::openai_chat) {
    EXPECT_EQ(a.call_id.rfind(id == "mistral" ? "" : "call_", 0), 0u) << a.call_id;
    EXPECT_GT(last_fragments, 2u);  // the arguments arrive in several pieces
  } else if (wire == wire_format::anthropic_messages) {
    EXPECT_EQ(a.call_id.rfind("toolu_", 0), 0u) << a.call_id;
    EXPECT_GT(last_fragments, 2u);
  } else {
    EXPECT_EQ(a.call_id, "");  // Gemini names calls by function
  }
}

TEST_P(Conversation, TheCallIsDeterministic) {
  const answer one =
      read_body(wire, post(fleet, id, request_body(id, weather_question, {{weather_tool()}}), false).body);
  const answer two =
      read_body(wire, post(fleet, id, request_body(id, weather_question, {{weather_tool()}}), false).body);
  EXPECT_EQ(one.call_id, two.call_id);
  EXPECT_EQ(one.arguments, two.arguments);
  const answer other = read_body(
      wire, post(fleet, id, request_body(id, {{turn::user, "And in Rome?"}}, {{weather_tool()}}), false).body);
  if (wire != wire_format::gemini_generate_content) {
    EXPECT_NE(other.call_id, one.call_id);
  }
  EXPECT_EQ(other.arguments, R"({"city":"And in Rome?","unit":"celsius"})");
}

TEST_P(Conversation, ANamedToolChoiceCallsThatTool) {
  asks a{{weather_tool(), time_tool()}, named("get_time")};
  const answer ans = ask_both(weather_question, a);
  EXPECT_EQ(ans.call_name, "get_time");
  EXPECT_EQ(ans.arguments, R"({"zone":"What is the weather in Paris?"})");
}

TEST_P(Conversation, ToolChoiceNoneGivesText) {
  const answer a = ask_both(weather_question, {{weather_tool()}, none()});
  EXPECT_EQ(a.call_name, "");
  EXPECT_NE(a.text.find("You asked: \"What is the weather in Paris?\""), std::string::npos) << a.text;
  EXPECT_EQ(a.finish, text_finish());
}

/// The conversation so far: the question, the mock's own call, the result.
std::vector<turn> answered(mock::provider_fleet& f, const std::string& id, const std::string& result) {
  const answer call =
      read_body(wire_of(id), post(f, id, request_body(id, weather_question, {{weather_tool()}}), false).body);
  EXPECT_EQ(call.call_name, "get_weather");
  return {weather_question[0],
          {turn::call, "", call.call_id, call.call_name, call.arguments},
          {turn::result, result, call.call_id, call.call_name}};
}

TEST_P(Conversation, AToolResultLastIsQuoted) {
  const auto turns = answered(fleet, id, "22 C and sunny");
  const answer a = ask_both(turns, {{weather_tool()}});  // tools still offered: the result is answered
  EXPECT_EQ(a.call_name, "");
  EXPECT_NE(a.text.find("The tool returned: \"22 C and sunny\""), std::string::npos) << a.text;
  EXPECT_EQ(a.finish, text_finish());
}

TEST_P(Conversation, FiveTurnsCallAgainAfterTheNextQuestion) {
  auto turns = answered(fleet, id, "22 C and sunny");
  const answer reply = read_body(wire, post(fleet, id, request_body(id, turns, {{weather_tool()}}), false).body);
  ASSERT_FALSE(reply.text.empty());
  turns.push_back({turn::reply, reply.text});
  turns.push_back({turn::user, "And in Rome?"});
  const answer a = ask_both(turns, {{weather_tool()}});
  EXPECT_EQ(a.call_name, "get_weather");
  EXPECT_EQ(a.arguments, R"({"city":"And in Rome?","unit":"celsius"})");
}

TEST_P(Conversation, AJsonSchemaGivesAnObjectWithTheRequiredFields) {
  asks a;
  a.schema = json::parse(R"({"type":"object","properties":{"name":{"type":"string"},"count":{"type":"integer"},
      "ok":{"type":"boolean"},"tags":{"type":"array","items":{"type":"string"}},"note":{"type":"string"}},
      "required":["name","count","ok","tags"],"additionalProperties":false})")
                 .as_object();
  const answer ans = ask_both(weather_question, a);
  const auto v = json::parse(ans.text);
  ASSERT_TRUE(v.is_object()) << ans.text;
  EXPECT_EQ(v.at("name"), "What is the weather in Paris?");
  EXPECT_TRUE(v.at("count").is_int64());
  EXPECT_TRUE(v.at("ok").is_bool());
  EXPECT_TRUE(v.at("tags").is_array());
  EXPECT_FALSE(v.as_object().contains("note"));  // not required
  EXPECT_EQ(ans.finish, text_finish());
}

TEST_P(Conversation, APlainPromptStreamsTheSameText) {
  const answer a = ask_both(weather_question, {});
  EXPECT_NE(a.text.find("You asked: \"What is the weather in Paris?\""), std::string::npos) << a.text;
  EXPECT_GT(last_fragments, 1u);
  EXPECT_EQ(a.finish, text_finish());
}

INSTANTIATE_TEST_SUITE_P(Providers, Conversation, ::testing::ValuesIn(all_providers),
                         [](const auto& info) { return info.param; });

// ---- format details ----------------------------------------------------------------

TEST(ConversationFormats, OpenAiStreamCarriesTheCallIdOnceThenArgumentFragments) {
  mock::provider_fleet f{quiet_fleet()};
  asks a{{weather_tool()}};
  a.stream = true;
  const auto r = post(f, "openai", request_body("openai", weather_question, a), true);
  const auto events = sse_data(r.body);
  ASSERT_GT(events.size(), 4u);
  const auto first = json::parse(events[0]).at("choices").at(0).at("delta").at("tool_calls").at(0);
  EXPECT_EQ(first.at("index"), 0);
  EXPECT_EQ(first.at("type"), "function");
  EXPECT_EQ(first.at("function").at("arguments"), "");
  const auto second = json::parse(events[1]).at("choices").at(0).at("delta").at("tool_calls").at(0).as_object();
  EXPECT_FALSE(second.contains("id"));
  EXPECT_EQ(second.at("index"), 0);
  // include_usage: a last chunk with no choices and the usage, then [DONE]
  const auto usage = json::parse(events[events.size() - 2]);
  EXPECT_TRUE(usage.at("choices").as_array().empty());
  EXPECT_TRUE(usage.at("usage").is_object());
}

TEST(ConversationFormats, AnthropicStreamHasTheDocumentedEventSequence) {
  mock::provider_fleet f{quiet_fleet()};
  asks a{{weather_tool()}};
  a.stream = true;
  const auto r = post(f, "anthropic", request_body("anthropic", weather_question, a), true);
  std::vector<std::string> names;
  for (std::size_t pos = 0; (pos = r.body.find("event: ", pos)) != std::string::npos; pos += 7)
    names.push_back(r.body.substr(pos + 7, r.body.find('\n', pos) - pos - 7));
  ASSERT_GE(names.size(), 7u);
  EXPECT_EQ(names[0], "message_start");
  EXPECT_EQ(names[1], "content_block_start");
  EXPECT_EQ(names[names.size() - 3], "content_block_stop");
  EXPECT_EQ(names[names.size() - 2], "message_delta");
  EXPECT_EQ(names.back(), "message_stop");
  const auto start = json::parse(sse_data(r.body)[1]);
  EXPECT_EQ(start.at("content_block").at("type"), "tool_use");
  EXPECT_TRUE(start.at("content_block").at("input").as_object().empty());
}

TEST(ConversationFormats, GeminiWithoutAltSseStreamsAJsonArray) {
  mock::provider_fleet f{quiet_fleet()};
  const auto body = json::serialize(request_body("google", weather_question, {}));
  const auto secret = f.behavior("google")->keys.front().secret;
  const auto r = f.handle(
      "POST", f.base_path("google") + "/models/gemini-2.5-flash:streamGenerateContent",
      [&](std::string_view n) -> std::optional<std::string_view> {
        if (n == "x-goog-api-key") return std::string_view(secret);
        return std::nullopt;
      },
      body);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  const auto chunks = json::parse(r.body);
  ASSERT_TRUE(chunks.is_array());
  EXPECT_GT(chunks.as_array().size(), 1u);
  EXPECT_EQ(chunks.as_array().back().at("candidates").at(0).at("finishReason"), "STOP");
}

TEST(ConversationFormats, GeminiSseEventsEndWithCrLf) {
  mock::provider_fleet f{quiet_fleet()};
  const auto r = post(f, "google", request_body("google", weather_question, {}), true);
  EXPECT_NE(r.body.find("}\r\n\r\ndata: "), std::string::npos);
}

TEST(ConversationFormats, MistralCallIdsAreNineLettersOrDigits) {
  mock::provider_fleet f{quiet_fleet()};
  const answer a =
      read_body(wire_format::openai_chat,
                post(f, "mistral", request_body("mistral", weather_question, {{weather_tool()}}), false).body);
  ASSERT_EQ(a.call_id.size(), 9u) << a.call_id;
  EXPECT_TRUE(std::all_of(a.call_id.begin(), a.call_id.end(), [](char c) { return std::isalnum(c) != 0; }));
}

TEST(ConversationFormats, GeminiQuotesAStructuredResponseAsJson) {
  mock::provider_fleet f{quiet_fleet()};
  auto body = request_body("google", answered(f, "google", "x"), {});
  body["contents"].as_array().back().at("parts").at(0).at("functionResponse").as_object()["response"] =
      json::object{{"temp", 22}, {"sky", "clear"}};
  const answer a = read_body(wire_format::gemini_generate_content, post(f, "google", body, false).body);
  EXPECT_NE(a.text.find(R"({"temp":22,"sky":"clear"})"), std::string::npos) << a.text;
}

// A Gemini request to `model` (the path names it), otherwise as post() sends it.
mock::reply post_gemini(mock::provider_fleet& f, const std::string& model, const json::object& body) {
  const auto headers = request_headers(f, "google");
  return f.handle(
      "POST", f.base_path("google") + "/models/" + model + ":generateContent",
      [&headers](std::string_view n) -> std::optional<std::string_view> {
        for (const auto& [k, v] : headers)
          if (k == n) return std::string_view(v);
        return std::nullopt;
      },
      json::serialize(body));
}

// The first request, the call part the mock answered with, then the next
// request with that call (its signature replaced by `sig`, or none) and its
// response.
json::object gemini_next_turn(const json::object& first, const json::object& call, std::optional<json::value> sig) {
  json::object body = first;
  json::object part{{"functionCall", call.at("functionCall")}};
  if (sig) part["thoughtSignature"] = *sig;
  auto& contents = body["contents"].as_array();
  contents.push_back(json::object{{"role", "model"}, {"parts", json::array{part}}});
  json::object response{{"name", "get_weather"}, {"response", json::object{{"result", "18 C"}}}};
  contents.push_back(
      json::object{{"role", "user"}, {"parts", json::array{json::object{{"functionResponse", response}}}}});
  return body;
}

TEST(ConversationFormats, Gemini3WantsEachCallsThoughtSignatureBackUnchanged) {
  mock::provider_fleet f{quiet_fleet()};
  const json::object first = request_body("google", weather_question, {{weather_tool()}});
  const auto r = post_gemini(f, "gemini-3-flash-preview", first);
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto call = json::parse(r.body).at("candidates").at(0).at("content").at("parts").at(0).as_object();
  ASSERT_TRUE(call.contains("thoughtSignature")) << r.body;
  const auto signature = call.at("thoughtSignature");
  EXPECT_EQ(post_gemini(f, "gemini-3-flash-preview", gemini_next_turn(first, call, signature)).status, 200u);
  const auto missing = post_gemini(f, "gemini-3-flash-preview", gemini_next_turn(first, call, std::nullopt));
  EXPECT_EQ(missing.status, 400u);
  EXPECT_NE(missing.body.find("thought_signature"), std::string::npos) << missing.body;
  // Re-encoded as base64url on the way back: changed, so refused.
  std::string url(signature.as_string());
  for (auto& c : url) c = c == '+' ? '-' : c == '/' ? '_' : c;
  EXPECT_EQ(post_gemini(f, "gemini-3-flash-preview", gemini_next_turn(first, call, json::value(url))).status, 400u);
  EXPECT_EQ(post_gemini(f, "gemini-2.5-flash", gemini_next_turn(first, call, std::nullopt)).status, 200u)
      << "Gemini 2.5 takes a call without its signature";
}

}  // namespace

}  // namespace mock_conversation_test
