#pragma once
/// A mock provider's streamed answer (answer_plan.hpp) in each format's real
/// event shapes, as one body the server sends whole:
///  - OpenAI: `data: {chat.completion.chunk}` events, text in delta.content,
///    a tool call in delta.tool_calls[{index,id,type,function:{name,arguments}}]
///    with the arguments in several fragments, finish_reason on the last
///    chunk, a usage chunk (choices []) with stream_options.include_usage,
///    then `data: [DONE]`.
///  - Anthropic: message_start, content_block_start (text or tool_use), ping,
///    content_block_delta (text_delta or input_json_delta.partial_json
///    fragments), content_block_stop, message_delta (stop_reason, usage),
///    message_stop.
///  - Gemini (streamGenerateContent): GenerateContentResponse chunks, as
///    `data:` events with alt=sse or else as one JSON array; a functionCall
///    arrives whole in one chunk, as Gemini sends it.
/// Fragments concatenated give exactly the non-streamed text and arguments.

#include <keypool/mock/detail/answer_plan.hpp>
#include <keypool/mock/detail/request_shape.hpp>
#include <keypool/mock/detail/schema_instance.hpp>
#include <keypool/mock/detail/success_body.hpp>
#include <keypool/mock/detail/text.hpp>
#include <keypool/providers/descriptor.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::mock::detail {

/// `s` in pieces of at most `n` bytes, never splitting a UTF-8 character;
/// an empty `s` is one empty piece.
inline std::vector<std::string_view> pieces(std::string_view s, std::size_t n) {
  std::vector<std::string_view> out;
  while (s.size() > n) {
    auto p = utf8_prefix(s, n);
    if (p.empty()) p = s.substr(0, n);  // a malformed sequence: cut anyway
    out.push_back(p);
    s.remove_prefix(p.size());
  }
  out.push_back(s);
  return out;
}

inline constexpr std::size_t text_piece = 16;      ///< bytes of text per event
inline constexpr std::size_t argument_piece = 12;  ///< bytes of tool arguments per event

inline void sse_event(std::string& out, std::string_view event, const boost::json::value& data) {
  if (!event.empty()) out.append("event: ").append(event).append("\n");
  out.append("data: ").append(to_text(data)).append("\n\n");
}

// ---- OpenAI ----------------------------------------------------------------

inline boost::json::object openai_delta_call(const planned_call& c) {
  namespace json = boost::json;
  return json::object{
      {"role", "assistant"},
      {"content", nullptr},
      {"tool_calls", json::array{json::object{{"index", 0},
                                              {"id", c.id},
                                              {"type", "function"},
                                              {"function", json::object{{"name", c.name}, {"arguments", ""}}}}}}};
}

inline boost::json::object openai_delta_arguments(std::string_view fragment) {
  namespace json = boost::json;
  return json::object{
      {"tool_calls", json::array{json::object{{"index", 0}, {"function", json::object{{"arguments", fragment}}}}}}};
}

/// Every delta of the answer, in order (the finish chunk excluded).
inline std::vector<boost::json::object> openai_deltas(const answer_plan& a) {
  std::vector<boost::json::object> out;
  if (a.call) {
    out.push_back(openai_delta_call(*a.call));
    for (auto f : pieces(a.call->arguments, argument_piece)) out.push_back(openai_delta_arguments(f));
    return out;
  }
  out.push_back(boost::json::object{{"role", "assistant"}, {"content", ""}});
  for (auto f : pieces(a.text, text_piece)) out.push_back(boost::json::object{{"content", f}});
  return out;
}

inline std::string openai_stream(const parsed_request& p, const answer_plan& a, std::uint64_t id,
                                 std::chrono::system_clock::time_point wall) {
  namespace json = boost::json;
  const json::object base{
      {"id", "chatcmpl-mock-" + std::to_string(id)},
      {"object", "chat.completion.chunk"},
      {"created", std::chrono::duration_cast<std::chrono::seconds>(wall.time_since_epoch()).count()},
      {"model", p.model}};
  auto chunk = [&](json::object delta, json::value finish) {
    json::object c = base;
    c["choices"] = json::array{json::object{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", finish}}};
    return c;
  };
  std::string out;
  for (auto& d : openai_deltas(a)) sse_event(out, {}, chunk(std::move(d), nullptr));
  sse_event(out, {}, chunk(json::object{}, a.call ? "tool_calls" : "stop"));
  if (p.chat.include_usage) {
    json::object c = base;
    c["choices"] = json::array{};
    c["usage"] = json::object{{"prompt_tokens", a.tokens.in},
                              {"completion_tokens", a.tokens.out},
                              {"total_tokens", a.tokens.in + a.tokens.out}};
    sse_event(out, {}, c);
  }
  return out.append("data: [DONE]\n\n");
}

// ---- Anthropic -------------------------------------------------------------

inline boost::json::object anthropic_block_start(const answer_plan& a) {
  namespace json = boost::json;
  json::object block =
      a.call ? json::object{{"type", "tool_use"}, {"id", a.call->id}, {"name", a.call->name}, {"input", json::object{}}}
             : json::object{{"type", "text"}, {"text", ""}};
  return json::object{{"type", "content_block_start"}, {"index", 0}, {"content_block", std::move(block)}};
}

inline boost::json::object anthropic_block_delta(bool call, std::string_view fragment) {
  namespace json = boost::json;
  json::object delta = call ? json::object{{"type", "input_json_delta"}, {"partial_json", fragment}}
                            : json::object{{"type", "text_delta"}, {"text", fragment}};
  return json::object{{"type", "content_block_delta"}, {"index", 0}, {"delta", std::move(delta)}};
}

inline std::string anthropic_stream(const parsed_request& p, const answer_plan& a, std::uint64_t id) {
  namespace json = boost::json;
  std::string out;
  sse_event(out, "message_start",
            json::object{{"type", "message_start"},
                         {"message",
                          json::object{{"id", "msg_mock_" + std::to_string(id)},
                                       {"type", "message"},
                                       {"role", "assistant"},
                                       {"model", p.model},
                                       {"content", json::array{}},
                                       {"stop_reason", nullptr},
                                       {"stop_sequence", nullptr},
                                       {"usage", json::object{{"input_tokens", a.tokens.in}, {"output_tokens", 1}}}}}});
  sse_event(out, "content_block_start", anthropic_block_start(a));
  sse_event(out, "ping", json::object{{"type", "ping"}});
  const std::string_view body = a.call ? std::string_view(a.call->arguments) : std::string_view(a.text);
  for (auto f : pieces(body, a.call ? argument_piece : text_piece))
    sse_event(out, "content_block_delta", anthropic_block_delta(a.call.has_value(), f));
  sse_event(out, "content_block_stop", json::object{{"type", "content_block_stop"}, {"index", 0}});
  sse_event(out, "message_delta",
            json::object{
                {"type", "message_delta"},
                {"delta", json::object{{"stop_reason", a.call ? "tool_use" : "end_turn"}, {"stop_sequence", nullptr}}},
                {"usage", json::object{{"output_tokens", a.tokens.out}}}});
  sse_event(out, "message_stop", json::object{{"type", "message_stop"}});
  return out;
}

// ---- Gemini ----------------------------------------------------------------

inline std::vector<boost::json::object> gemini_chunks(const parsed_request& p, const answer_plan& a, std::uint64_t id) {
  std::vector<boost::json::object> out;
  if (a.call) {
    out.push_back(gemini_response(p, gemini_part(a, {}), true, a.tokens, id));
    return out;
  }
  const auto fragments = pieces(a.text, text_piece);
  for (std::size_t i = 0; i < fragments.size(); ++i)
    out.push_back(gemini_response(p, gemini_part(a, fragments[i]), i + 1 == fragments.size(), a.tokens, id));
  return out;
}

inline std::string gemini_stream(const parsed_request& p, const answer_plan& a, std::uint64_t id) {
  std::string out;
  const bool sse = p.chat.stream == stream_mode::sse;
  if (!sse) out += "[";
  bool first = true;
  for (const auto& c : gemini_chunks(p, a, id)) {
    if (sse) {
      out.append("data: ").append(to_text(c)).append("\r\n\r\n");  // Gemini ends its events with CRLF
    } else {
      out.append(first ? "" : ",\r\n").append(to_text(c));
      first = false;
    }
  }
  return sse ? out : out + "]";
}

/// The streamed answer, and its content type.
inline std::string stream_body(const providers::provider_descriptor& d, const parsed_request& p, const answer_plan& a,
                               std::uint64_t id, std::chrono::system_clock::time_point wall) {
  switch (d.wire) {
    case providers::wire_format::openai_chat: return openai_stream(p, a, id, wall);
    case providers::wire_format::anthropic_messages: return anthropic_stream(p, a, id);
    case providers::wire_format::gemini_generate_content: return gemini_stream(p, a, id);
  }
  return {};
}

}  // namespace keypool::mock::detail
