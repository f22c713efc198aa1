#pragma once
/// A provider-neutral answer (chat_response) written back in a caller's
/// format: OpenAI's chat.completion and Anthropic's message, with the tool
/// calls, the finish mapped to the format's word and the usage (cached and
/// reasoning tokens where the format has a field for them). The gateway
/// answers a translated request with these.

#include <keypool/wire/detail/finish_word.hpp>
#include <keypool/wire/detail/json_check.hpp>
#include <keypool/wire/detail/json_writer.hpp>
#include <keypool/wire/detail/tool_call_id.hpp>
#include <keypool/wire/response.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace keypool::wire {

/// What an answer says about itself besides the response: its id, the model
/// to report and the creation time (seconds since the epoch, OpenAI only).
struct answer_meta {
  std::string id;
  std::string model;
  std::int64_t created = 0;
};

namespace detail {

inline void write_openai_usage(json_writer& w, const usage& u) {
  w.key("usage").begin_object();
  w.key("prompt_tokens").value(u.input_tokens).key("completion_tokens").value(u.output_tokens);
  w.key("total_tokens").value(u.input_tokens + u.output_tokens);
  if (u.cached_input_tokens)
    w.key("prompt_tokens_details").begin_object().key("cached_tokens").value(u.cached_input_tokens).end_object();
  if (u.reasoning_tokens)
    w.key("completion_tokens_details").begin_object().key("reasoning_tokens").value(u.reasoning_tokens).end_object();
  w.end_object();
}

inline void write_anthropic_usage(json_writer& w, const usage& u) {
  const auto cache = u.cached_input_tokens + u.cache_creation_input_tokens;
  w.key("usage").begin_object();
  w.key("input_tokens").value(u.input_tokens > cache ? u.input_tokens - cache : 0);
  w.key("output_tokens").value(u.output_tokens);
  if (u.cached_input_tokens) w.key("cache_read_input_tokens").value(u.cached_input_tokens);
  if (u.cache_creation_input_tokens) w.key("cache_creation_input_tokens").value(u.cache_creation_input_tokens);
  w.end_object();
}

/// A call's arguments as the JSON object Anthropic's `input` must be: the
/// text itself when it is one, {} when empty, else the text kept under
/// "_arguments" (a model wrote something that is not a JSON object).
inline void write_call_input(json_writer& w, std::string_view arguments) {
  if (arguments.find_first_not_of(" \t\r\n") == std::string_view::npos)
    w.begin_object().end_object();
  else if (json_kind_of(arguments) == json_kind::object)
    w.raw(arguments);
  else
    w.begin_object().key("_arguments").value(arguments).end_object();
}

}  // namespace detail

/// `r` as an OpenAI chat.completion body.
inline std::string openai_answer_json(const chat_response& r, const answer_meta& m) {
  std::string out;
  out.reserve(256 + r.text.size());
  detail::json_writer w(out);
  w.begin_object().key("id").value(m.id).key("object").value("chat.completion");
  w.key("created").value(m.created).key("model").value(m.model);
  w.key("choices").begin_array().begin_object().key("index").value(0);
  w.key("message").begin_object().key("role").value("assistant").key("content");
  if (r.text.empty() && !r.tool_calls.empty())
    w.null();
  else
    w.value(r.text);
  if (!r.tool_calls.empty()) {
    w.key("tool_calls").begin_array();
    for (const auto& c : r.tool_calls) {
      w.begin_object().key("id").value(detail::id_with_signature(c.id, c.signature)).key("type").value("function");
      w.key("function").begin_object().key("name").value(c.name).key("arguments").value(c.arguments);
      w.end_object().end_object();
    }
    w.end_array();
  }
  w.end_object().key("finish_reason").value(detail::openai_finish_word(r.finish)).end_object().end_array();
  detail::write_openai_usage(w, r.usage);
  w.end_object();
  return out;
}

/// `r` as an Anthropic message body: a text block (when there is text), then
/// a tool_use block per call.
inline std::string anthropic_answer_json(const chat_response& r, const answer_meta& m) {
  std::string out;
  out.reserve(256 + r.text.size());
  detail::json_writer w(out);
  w.begin_object().key("id").value(m.id).key("type").value("message").key("role").value("assistant");
  w.key("model").value(m.model).key("content").begin_array();
  if (!r.text.empty() || r.tool_calls.empty())
    w.begin_object().key("type").value("text").key("text").value(r.text).end_object();
  for (const auto& c : r.tool_calls) {
    w.begin_object().key("type").value("tool_use").key("id").value(detail::id_with_signature(c.id, c.signature));
    w.key("name").value(c.name).key("input");
    detail::write_call_input(w, c.arguments);
    w.end_object();
  }
  w.end_array().key("stop_reason").value(detail::anthropic_stop_word(r.finish));
  w.key("stop_sequence").null();
  detail::write_anthropic_usage(w, r.usage);
  w.end_object();
  return out;
}

}  // namespace keypool::wire
