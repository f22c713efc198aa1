// Translation between the caller-facing formats: OpenAI and Anthropic
// request bodies decoded to the provider-neutral request (and re-encoded for
// the other formats), answers written back in both formats and read by the
// existing decoders, and streamed answers re-encoded event by event that
// the existing stream decoders read back, split at every position.

#include <keypool/wire/answer_encode.hpp>
#include <keypool/wire/anthropic_messages.hpp>
#include <keypool/wire/anthropic_request.hpp>
#include <keypool/wire/gemini_generate_content.hpp>
#include <keypool/wire/openai_chat.hpp>
#include <keypool/wire/openai_request.hpp>
#include <keypool/wire/sse.hpp>
#include <keypool/wire/stream_encode.hpp>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <string>
#include <vector>

namespace {

namespace wire = keypool::wire;
namespace json = boost::json;

constexpr const char* fake_key = "test-FAKE-key-not-real-0000";

// An agent's conversation as the OpenAI SDK sends it: a system prompt, a
// user turn with an inline PNG and an image URL, the assistant's two tool
// calls, their results, and the next user turn.
constexpr const char* openai_conversation = R"({
  "model": "gpt-4o", "temperature": 0.5, "top_p": 0.9, "seed": 7, "max_completion_tokens": 300,
  "user": "u-1", "stop": ["END"], "stream": true, "stream_options": {"include_usage": true},
  "parallel_tool_calls": true, "presence_penalty": 0.25,
  "messages": [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": [
      {"type": "text", "text": "What is in these, and the weather?"},
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
      {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "low"}}]},
    {"role": "assistant", "content": null, "tool_calls": [
      {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
      {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "18 C"},
    {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "noon"}]},
    {"role": "user", "content": "Thanks. And tomorrow?"}],
  "tools": [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}, "strict": true}},
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}],
  "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
  "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}, "strict": true}}
})";

TEST(OpenaiRequest, DecodesAWholeToolConversation) {
  const auto d = wire::decode_openai_request(openai_conversation);
  ASSERT_TRUE(d) << d.error().message;
  const auto& r = d->chat;
  EXPECT_TRUE(d->stream);
  EXPECT_TRUE(d->include_usage);
  EXPECT_EQ(r.model, "gpt-4o");
  EXPECT_EQ(r.max_tokens, 300u);
  EXPECT_EQ(r.temperature, 0.5);
  EXPECT_EQ(r.top_p, 0.9);
  EXPECT_EQ(r.seed, 7);
  EXPECT_EQ(r.user, "u-1");
  EXPECT_EQ(r.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(r.parallel_tool_calls, true);
  ASSERT_EQ(r.messages.size(), 6u);
  EXPECT_EQ(r.messages[0].role, wire::role::system);
  const auto& user = r.messages[1];
  ASSERT_EQ(user.content.size(), 3u);
  EXPECT_EQ(user.content[1].kind, wire::content_part::kind_t::image);
  EXPECT_EQ(user.content[1].image.bytes, std::string("\x89PNG\r\n\x1a\n"));
  EXPECT_EQ(user.content[1].image.mime_type, "image/png");
  EXPECT_EQ(user.content[2].kind, wire::content_part::kind_t::image_url);
  EXPECT_EQ(user.content[2].url, "https://example.com/cat.jpg");
  ASSERT_EQ(r.messages[2].tool_calls.size(), 2u);
  EXPECT_EQ(r.messages[2].tool_calls[0], (wire::tool_call{"call_1", "get_weather", R"({"city":"Paris"})"}));
  EXPECT_EQ(r.messages[3].tool_call_id, "call_1");
  EXPECT_EQ(r.messages[4].content.at(0).text, "noon");
  ASSERT_EQ(r.tools.size(), 2u);
  EXPECT_EQ(r.tools[0].strict, true);
  EXPECT_EQ(json::parse(r.tools[0].parameters).at("required").at(0).as_string(), "city");
  ASSERT_TRUE(r.tool_choice);
  EXPECT_EQ(r.tool_choice->mode, wire::tool_choice_mode::named);
  ASSERT_TRUE(r.response_format);
  EXPECT_EQ(r.response_format->kind, wire::response_format_kind::json_schema);
  EXPECT_EQ(r.response_format->name, "w");
  EXPECT_EQ(json::parse(r.extra), json::parse(R"({"presence_penalty":0.25})"));
}

TEST(OpenaiRequest, ReEncodesForAnthropic) {
  auto d = wire::decode_openai_request(openai_conversation);
  ASSERT_TRUE(d) << d.error().message;
  d->chat.seed.reset();  // Anthropic has none: the gateway skips it for such requests
  const auto e = wire::anthropic_messages::encode(d->chat, fake_key);
  ASSERT_TRUE(e) << e.error().message;
  const auto b = json::parse(e->body).as_object();
  EXPECT_EQ(b.at("system").as_string(), "You are terse.");
  EXPECT_EQ(b.at("max_tokens").as_int64(), 300);
  const auto& msgs = b.at("messages").as_array();
  ASSERT_EQ(msgs.size(), 3u);  // user, assistant, user (the tool results and the next user turn, merged)
  const auto& img = msgs[0].at("content").at(1).as_object();
  EXPECT_EQ(img.at("source").at("data").as_string(), "iVBORw0KGgo=");
  EXPECT_EQ(msgs[0].at("content").at(2).at("source").at("url").as_string(), "https://example.com/cat.jpg");
  EXPECT_EQ(msgs[1].at("content").at(0).at("type").as_string(), "tool_use");
  EXPECT_EQ(msgs[1].at("content").at(0).at("input").at("city").as_string(), "Paris");
  EXPECT_EQ(msgs[2].at("content").at(0).at("tool_use_id").as_string(), "call_1");
  EXPECT_EQ(msgs[2].at("content").at(1).at("tool_use_id").as_string(), "call_2");
  EXPECT_EQ(msgs[2].at("content").at(2).at("text").as_string(), "Thanks. And tomorrow?");
  EXPECT_EQ(b.at("tool_choice").at("name").as_string(), "get_weather");
  EXPECT_EQ(b.at("tools").at(0).at("input_schema").at("type").as_string(), "object");
  EXPECT_EQ(b.at("stop_sequences").at(0).as_string(), "END");
}

TEST(OpenaiRequest, GeminiRefusesTheImageUrlAndEncodesTheRest) {
  auto d = wire::decode_openai_request(openai_conversation);
  ASSERT_TRUE(d) << d.error().message;
  const auto refused = wire::gemini_generate_content::unsupported(d->chat, {});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, wire::encode_errc::unsupported);
  EXPECT_NE(refused->message.find("messages[1].content[2]"), std::string::npos) << refused->message;
  d->chat.messages[1].content.pop_back();
  d->chat.user.clear();
  const auto e = wire::gemini_generate_content::encode(d->chat, fake_key);
  ASSERT_TRUE(e) << e.error().message;
  const auto b = json::parse(e->body).as_object();
  const auto& contents = b.at("contents").as_array();
  EXPECT_EQ(contents[0].at("parts").at(1).at("inlineData").at("data").as_string(), "iVBORw0KGgo=");
  EXPECT_EQ(contents[1].at("role").as_string(), "model");
  EXPECT_EQ(contents[1].at("parts").at(0).at("functionCall").at("name").as_string(), "get_weather");
  // The tool results name their function, found through the call's id.
  EXPECT_EQ(contents[2].at("parts").at(1).at("functionResponse").at("name").as_string(), "get_time");
  EXPECT_EQ(b.at("systemInstruction").at("parts").at(0).at("text").as_string(), "You are terse.");
}

TEST(OpenaiRequest, ErrorsNameTheField) {
  const auto bad_url = wire::decode_openai_request(
      R"({"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},)"
      R"({"role":"user","content":[{"type":"text","text":"c"},{"type":"image_url","image_url":{"url":"http://x/y.png"}}]}]})");
  ASSERT_FALSE(bad_url);
  EXPECT_EQ(bad_url.error().field, "messages[2].content[1].image_url");
  EXPECT_NE(bad_url.error().message.find("https://"), std::string::npos);
  const auto bad_role = wire::decode_openai_request(R"({"messages":[{"role":"robot","content":"x"}]})");
  ASSERT_FALSE(bad_role);
  EXPECT_EQ(bad_role.error().field, "messages[0].role");
  const auto bad_base64 = wire::decode_openai_request(
      R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,@@"}}]}]})");
  ASSERT_FALSE(bad_base64);
  EXPECT_EQ(bad_base64.error().field, "messages[0].content[0].image_url");
  EXPECT_EQ(wire::decode_openai_request(R"({"messages":[]})").error().field, "messages");
  EXPECT_EQ(wire::decode_openai_request(R"({"messages":[{"role":"user","content":"x"}],"n":2})").error().field, "n");
  EXPECT_EQ(
      wire::decode_openai_request(R"({"messages":[{"role":"user","content":"x"}],"temperature":"hot"})").error().field,
      "temperature");
  EXPECT_EQ(wire::decode_openai_request("[1]").error().field, "");
  EXPECT_EQ(wire::decode_openai_request("{").error().field, "");
}

constexpr const char* anthropic_conversation = R"({
  "model": "claude-haiku-4-5", "max_tokens": 200, "temperature": 0.2, "top_p": 0.8, "stream": true,
  "stop_sequences": ["STOP"], "metadata": {"user_id": "u-2"}, "top_k": 5,
  "system": [{"type": "text", "text": "Be kind.", "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": "Be brief."}],
  "messages": [
    {"role": "user", "content": [
      {"type": "text", "text": "Look"},
      {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
      {"type": "image", "source": {"type": "url", "url": "https://example.com/dog.png"}}]},
    {"role": "assistant", "content": [
      {"type": "thinking", "thinking": "hm", "signature": "s"},
      {"type": "text", "text": "Let me check."},
      {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "dog"}}]},
    {"role": "user", "content": [
      {"type": "tool_result", "tool_use_id": "toolu_1", "content": "a corgi"},
      {"type": "text", "text": "So?"}]}],
  "tools": [{"name": "lookup", "description": "Search", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}],
  "tool_choice": {"type": "any", "disable_parallel_tool_use": true}
})";

TEST(AnthropicRequest, DecodesAToolConversation) {
  const auto d = wire::decode_anthropic_request(anthropic_conversation);
  ASSERT_TRUE(d) << d.error().message;
  const auto& r = d->chat;
  EXPECT_TRUE(d->stream);
  EXPECT_EQ(r.system, "Be kind.\n\nBe brief.");
  EXPECT_EQ(r.max_tokens, 200u);
  EXPECT_EQ(r.stop, std::vector<std::string>{"STOP"});
  EXPECT_EQ(r.user, "u-2");
  ASSERT_EQ(r.messages.size(), 4u);  // user, assistant, tool, user
  EXPECT_EQ(r.messages[0].content[1].image.mime_type, "image/png");
  EXPECT_EQ(r.messages[0].content[2].url, "https://example.com/dog.png");
  EXPECT_EQ(r.messages[1].content.size(), 1u) << "the thinking block is dropped";
  EXPECT_EQ(r.messages[1].tool_calls.at(0), (wire::tool_call{"toolu_1", "lookup", R"({"q":"dog"})"}));
  EXPECT_EQ(r.messages[2].role, wire::role::tool);
  EXPECT_EQ(r.messages[2].tool_call_id, "toolu_1");
  EXPECT_EQ(r.messages[3].content.at(0).text, "So?");
  EXPECT_EQ(r.tool_choice->mode, wire::tool_choice_mode::required);
  EXPECT_EQ(r.parallel_tool_calls, false);
}

TEST(AnthropicRequest, ReEncodesForOpenAi) {
  const auto d = wire::decode_anthropic_request(anthropic_conversation);
  ASSERT_TRUE(d) << d.error().message;
  const auto e = wire::openai_chat::encode(d->chat, fake_key);
  ASSERT_TRUE(e) << e.error().message;
  const auto b = json::parse(e->body).as_object();
  const auto& msgs = b.at("messages").as_array();
  ASSERT_EQ(msgs.size(), 5u);  // system, user, assistant, tool, user
  EXPECT_EQ(msgs[0].at("role").as_string(), "system");
  EXPECT_EQ(msgs[1].at("content").at(1).at("image_url").at("url").as_string(), "data:image/png;base64,iVBORw0KGgo=");
  EXPECT_EQ(msgs[2].at("tool_calls").at(0).at("function").at("arguments").as_string(), R"({"q":"dog"})");
  EXPECT_EQ(msgs[3].at("tool_call_id").as_string(), "toolu_1");
  EXPECT_EQ(b.at("tool_choice").as_string(), "required");
  EXPECT_EQ(b.at("parallel_tool_calls").as_bool(), false);
}

TEST(AnthropicRequest, ErrorsNameTheField) {
  const auto bad = wire::decode_anthropic_request(
      R"({"max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"ftp://x"}}]}]})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "messages[0].content[0].source.url");
  const auto doc =
      wire::decode_anthropic_request(R"({"messages":[{"role":"user","content":[{"type":"document","source":{}}]}]})");
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().field, "messages[0].content[0].type");
  const auto server_tool = wire::decode_anthropic_request(
      R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"web_search_20250305","name":"web_search"}]})");
  ASSERT_FALSE(server_tool);
  EXPECT_EQ(server_tool.error().field, "tools[0].type");
}

// ---- answers ------------------------------------------------------------------

wire::chat_response tool_answer() {
  wire::chat_response r;
  r.text = "Checking \"both\" ✓";
  r.model = "m";
  r.tool_calls = {{"call_a", "get_weather", R"({"city":"Paris"})"}, {"call_b", "get_time", "{}"}};
  r.finish = wire::finish_kind::tool_calls;
  r.usage.input_tokens = 120;
  r.usage.output_tokens = 30;
  r.usage.cached_input_tokens = 100;
  return r;
}

TEST(AnswerEncode, OpenAiAnswerReadsBack) {
  const auto r = tool_answer();
  const auto body = wire::openai_answer_json(r, {"chatcmpl-1", "groq/m", 1700000000});
  const auto back = wire::openai_chat::decode(body);
  ASSERT_TRUE(back) << back.error().message << "\n" << body;
  EXPECT_EQ(back->text, r.text);
  EXPECT_EQ(back->tool_calls, r.tool_calls);
  EXPECT_EQ(back->finish_reason, "tool_calls");
  EXPECT_EQ(back->usage.input_tokens, 120u);
  EXPECT_EQ(back->usage.cached_input_tokens, 100u);
  const auto v = json::parse(body);
  EXPECT_EQ(v.at("object").as_string(), "chat.completion");
  EXPECT_EQ(v.at("created").as_int64(), 1700000000);
  EXPECT_EQ(v.at("model").as_string(), "groq/m");
}

TEST(AnswerEncode, AnthropicAnswerReadsBack) {
  auto r = tool_answer();
  const auto body = wire::anthropic_answer_json(r, {"msg_1", "claude", 0});
  const auto back = wire::anthropic_messages::decode(body);
  ASSERT_TRUE(back) << back.error().message << "\n" << body;
  EXPECT_EQ(back->text, r.text);
  EXPECT_EQ(back->tool_calls, r.tool_calls);
  EXPECT_EQ(back->finish_reason, "tool_use");
  EXPECT_EQ(back->usage, r.usage);
  r.finish = wire::finish_kind::length;
  r.tool_calls.clear();
  EXPECT_EQ(wire::anthropic_messages::decode(wire::anthropic_answer_json(r, {"msg_1", "claude", 0}))->finish_reason,
            "max_tokens");
  EXPECT_EQ(wire::openai_chat::decode(wire::openai_answer_json(r, {"c", "m", 0}))->finish_reason, "length");
}

TEST(AnswerEncode, ArgumentsThatAreNotAnObjectStayReadable) {
  auto r = tool_answer();
  r.tool_calls[0].arguments = "{\"city\": \"Par";  // a model cut off mid-call
  const auto v = json::parse(wire::anthropic_answer_json(r, {"msg_1", "claude", 0}));
  EXPECT_EQ(v.at("content").at(1).at("input").at("_arguments").as_string(), "{\"city\": \"Par");
  EXPECT_TRUE(v.at("content").at(2).at("input").as_object().empty());
}

// ---- streams --------------------------------------------------------------------

/// The pieces of a streamed answer, as a decoder hands them out.
struct piece {
  bool call = false;
  std::string text;  // text delta
  std::size_t index = 0;
  std::string id, name, arguments;
};

piece text_piece(std::string t) { return {false, std::move(t), 0, {}, {}, {}}; }
piece call_piece(std::size_t i, std::string id, std::string name, std::string args) {
  return {true, {}, i, std::move(id), std::move(name), std::move(args)};
}

std::vector<piece> pieces_of_an_answer() {
  return {text_piece("Chec"),
          text_piece("king \"both\" ✓"),
          call_piece(0, "call_a", "get_weather", ""),
          call_piece(0, "", "", "{\"city\":"),
          call_piece(0, "", "", "\"Paris\"}"),
          call_piece(1, "call_b", "get_time", "{}")};
}

template <class Encoder>
std::string encode_stream(Encoder e, const wire::chat_response& final) {
  std::string out;
  for (const auto& p : pieces_of_an_answer())
    if (p.call)
      e.tool_call(out, wire::tool_call_delta{p.index, p.id, p.name, p.arguments});
    else
      e.text(out, p.text);
  e.finish(out, final);
  return out;
}

template <class Codec>
void decodes_back_at_every_split(const std::string& bytes, const wire::chat_response& want) {
  for (std::size_t split = 0; split <= bytes.size(); ++split) {
    wire::chat_stream<Codec> s;
    std::string text;
    std::vector<wire::tool_call> calls;
    const auto on_text = [&](std::string_view t) { text.append(t); };
    const auto on_call = [&](const wire::tool_call_delta& d) {
      if (d.index >= calls.size()) calls.resize(d.index + 1);
      calls[d.index].id += d.id;
      calls[d.index].name += d.name;
      calls[d.index].arguments += d.arguments;
    };
    ASSERT_TRUE(s.feed(std::string_view(bytes).substr(0, split), on_text, on_call)) << split;
    ASSERT_TRUE(s.feed(std::string_view(bytes).substr(split), on_text, on_call)) << split;
    const auto r = s.finish();
    ASSERT_TRUE(r) << "split at " << split << ": " << r.error().message << "\n" << bytes;
    ASSERT_EQ(text, want.text) << split;
    ASSERT_EQ(calls, want.tool_calls) << split;
    ASSERT_EQ(r->tool_calls, want.tool_calls) << split;
    ASSERT_EQ(r->finish, want.finish) << split;
    ASSERT_EQ(r->usage.input_tokens, want.usage.input_tokens) << split;
    ASSERT_EQ(r->usage.output_tokens, want.usage.output_tokens) << split;
    ASSERT_EQ(r->usage.cached_input_tokens, want.usage.cached_input_tokens) << split;
  }
}

TEST(StreamEncode, OpenAiChunksDecodeBackAtEverySplit) {
  const auto want = tool_answer();
  const auto bytes = encode_stream(wire::openai_stream_encoder({"chatcmpl-1", "m", 1}, true), want);
  EXPECT_EQ(bytes.rfind("data: [DONE]\n\n"), bytes.size() - 14);
  EXPECT_NE(bytes.find(R"("delta":{"role":"assistant","content":""})"), std::string::npos);
  EXPECT_NE(bytes.find(R"("choices":[],"usage":)"), std::string::npos);
  decodes_back_at_every_split<wire::openai_chat>(bytes, want);
}

TEST(StreamEncode, OpenAiUsageChunkOnlyWhenAsked) {
  const auto bytes = encode_stream(wire::openai_stream_encoder({"chatcmpl-1", "m", 1}, false), tool_answer());
  EXPECT_EQ(bytes.find("\"usage\""), std::string::npos);
  EXPECT_NE(bytes.find(R"("finish_reason":"tool_calls")"), std::string::npos);
}

TEST(StreamEncode, AnthropicEventsDecodeBackAtEverySplit) {
  const auto want = tool_answer();
  const auto bytes = encode_stream(wire::anthropic_stream_encoder({"msg_1", "claude", 0}), want);
  EXPECT_EQ(bytes.find("event: message_start\n"), 0u);
  EXPECT_NE(bytes.find(R"("index":2,"delta":{"type":"input_json_delta")"), std::string::npos) << bytes;
  const std::string last = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  EXPECT_EQ(bytes.substr(bytes.size() - last.size()), last);
  decodes_back_at_every_split<wire::anthropic_messages>(bytes, want);
}

TEST(StreamEncode, AnEmptyAnswerIsStillAWholeStream) {
  wire::chat_response r;
  r.finish = wire::finish_kind::stop;
  std::string a, o;
  wire::anthropic_stream_encoder({"msg_1", "claude", 0}).finish(a, r);
  wire::openai_stream_encoder({"c", "m", 0}, false).finish(o, r);
  wire::chat_stream<wire::anthropic_messages> sa;
  wire::chat_stream<wire::openai_chat> so;
  sa.feed(a, [](std::string_view) {});
  so.feed(o, [](std::string_view) {});
  EXPECT_TRUE(sa.finish()) << a;
  EXPECT_TRUE(so.finish()) << o;
}

// Gemini's thoughtSignature (ai.google.dev/gemini-api/docs/thought-signatures):
// kept with its call, sent back in the part it came in, and carried inside
// the call's id through the OpenAI and Anthropic formats.
constexpr const char* signed_gemini_answer =
    R"({"candidates":[{"content":{"role":"model","parts":[)"
    R"({"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"+/++IG1vY2s="},)"
    R"({"functionCall":{"name":"get_time","args":{}}}]},"finishReason":"STOP"}]})";

wire::chat_request next_turn_with(const std::vector<wire::tool_call>& calls) {
  wire::chat_request r;
  r.model = "gemini-3-flash-preview";
  r.messages.push_back(wire::message::user("Weather and time?"));
  r.messages.push_back(wire::message::assistant("", calls));
  for (const auto& c : calls) r.messages.push_back(wire::message::tool_result(c.id, "ok"));
  return r;
}

TEST(ThoughtSignature, StaysWithItsCallAndGoesBackInThePartItCameIn) {
  const auto a = wire::gemini_generate_content::decode(signed_gemini_answer);
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_EQ(a->tool_calls.size(), 2u);
  EXPECT_EQ(a->tool_calls[0].signature, "+/++IG1vY2s=");
  EXPECT_EQ(a->tool_calls[1].signature, "") << "Gemini signs the first of parallel calls only";
  const auto e = wire::gemini_generate_content::encode(next_turn_with(a->tool_calls), fake_key);
  ASSERT_TRUE(e) << e.error().message;
  const auto parts = json::parse(e->body).at("contents").at(1).at("parts").as_array();
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].at("thoughtSignature").as_string(), "+/++IG1vY2s=");
  EXPECT_EQ(parts[0].at("functionCall").at("name").as_string(), "get_weather");
  EXPECT_FALSE(parts[1].as_object().contains("thoughtSignature"));
}

TEST(ThoughtSignature, AStreamedGeminiCallHandsItOn) {
  wire::chat_stream<wire::gemini_generate_content> s;
  std::string first;
  const auto on_text = [](std::string_view) {};
  const auto on_call = [&](const wire::tool_call_delta& d) {
    if (d.index == 0) first = d.signature;
  };
  ASSERT_TRUE(s.feed(std::string("data: ") + signed_gemini_answer + "\n\n", on_text, on_call));
  const auto r = s.finish();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(first, "+/++IG1vY2s=");
  EXPECT_EQ(r->tool_calls.at(0).signature, "+/++IG1vY2s=");
}

TEST(ThoughtSignature, RoundTripsThroughAnIdAtEveryPaddingLength) {
  for (const std::string sig : {"+/8=", "+/++IG1vY2s=", "AAAA+/++", "ab+/cQ=="}) {
    const auto id = wire::detail::id_with_signature("call_1", sig);
    EXPECT_EQ(id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"),
              std::string::npos)
        << id << ": not a valid Anthropic tool_use id";
    const auto back = wire::detail::split_signature(id);
    EXPECT_EQ(back.id, "call_1");
    EXPECT_EQ(back.signature, sig);
  }
  EXPECT_EQ(wire::detail::id_with_signature("call_1", ""), "call_1");
  EXPECT_EQ(wire::detail::split_signature("call_1").signature, "");
}

TEST(ThoughtSignature, RidesInTheOpenAiIdAndComesBackToGemini) {
  auto a = wire::gemini_generate_content::decode(signed_gemini_answer);
  ASSERT_TRUE(a) << a.error().message;
  const auto body = wire::openai_answer_json(*a, {"chatcmpl-1", "google/gemini-3-flash-preview", 1});
  const auto calls = json::parse(body).at("choices").at(0).at("message").at("tool_calls").as_array();
  const std::string carried(calls[0].at("id").as_string());
  EXPECT_EQ(carried, wire::detail::id_with_signature(a->tool_calls[0].id, "+/++IG1vY2s="));
  EXPECT_EQ(calls[1].at("id").as_string(), a->tool_calls[1].id) << "an unsigned call keeps its plain id";
  // The OpenAI SDK sends the assistant message back as it came, then the result.
  const std::string next = R"({"model":"google/gemini-3-flash-preview","messages":[)"
                           R"({"role":"user","content":"Weather?"},)"
                           R"({"role":"assistant","content":null,"tool_calls":[{"id":")" +
                           carried +
                           R"(","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},)"
                           R"({"role":"tool","tool_call_id":")" +
                           carried + R"(","content":"18 C"}]})";
  auto d = wire::decode_openai_request(next);
  ASSERT_TRUE(d) << d.error().message;
  const auto& turns = d->chat.messages;
  ASSERT_EQ(turns.size(), 3u);
  EXPECT_EQ(turns[1].tool_calls.at(0).id, a->tool_calls[0].id);
  EXPECT_EQ(turns[1].tool_calls.at(0).signature, "+/++IG1vY2s=");
  EXPECT_EQ(turns[2].tool_call_id, a->tool_calls[0].id) << "the result answers the plain id";
  d->chat.model = "gemini-3-flash-preview";  // the route's model, as the gateway sets it
  const auto e = wire::gemini_generate_content::encode(d->chat, fake_key);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(json::parse(e->body).at("contents").at(1).at("parts").at(0).at("thoughtSignature").as_string(),
            "+/++IG1vY2s=");
}

TEST(ThoughtSignature, RidesInTheAnthropicToolUseIdAndItsStreamedStart) {
  auto a = wire::gemini_generate_content::decode(signed_gemini_answer);
  ASSERT_TRUE(a) << a.error().message;
  const auto body = wire::anthropic_answer_json(*a, {"msg_1", "google/gemini-3-flash-preview", 0});
  const auto content = json::parse(body).at("content").as_array();
  std::string carried;
  for (const auto& b : content)
    if (b.at("type").as_string() == "tool_use" && carried.empty()) carried = b.at("id").as_string();
  EXPECT_EQ(wire::detail::split_signature(carried).signature, "+/++IG1vY2s=");
  const std::string next = R"({"model":"m","max_tokens":64,"messages":[{"role":"user","content":"Weather?"},)"
                           R"({"role":"assistant","content":[{"type":"tool_use","id":")" +
                           carried +
                           R"(","name":"get_weather","input":{}}]},)"
                           R"({"role":"user","content":[{"type":"tool_result","tool_use_id":")" +
                           carried + R"(","content":"18 C"}]}]})";
  const auto d = wire::decode_anthropic_request(next);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->chat.messages.at(1).tool_calls.at(0).signature, "+/++IG1vY2s=");
  EXPECT_EQ(d->chat.messages.at(2).tool_call_id, a->tool_calls[0].id);
  // Streamed: the call's first delta carries the signature into the id.
  std::string out;
  wire::anthropic_stream_encoder enc({"msg_1", "m", 0});
  enc.tool_call(out, wire::tool_call_delta{0, "call_a", "get_weather", "{}", "+/8="});
  EXPECT_NE(out.find("\"id\":\"" + wire::detail::id_with_signature("call_a", "+/8=") + "\""), std::string::npos) << out;
  std::string oa;
  wire::openai_stream_encoder oenc({"chatcmpl-1", "m", 1}, false);
  oenc.tool_call(oa, wire::tool_call_delta{0, "call_a", "get_weather", "{}", "+/8="});
  EXPECT_NE(oa.find("\"id\":\"" + wire::detail::id_with_signature("call_a", "+/8=") + "\""), std::string::npos) << oa;
}

}  // namespace
