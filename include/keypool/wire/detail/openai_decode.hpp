#pragma once
/// OpenAI Chat Completions answers read from a JSON tree: the whole answer
/// (choices[0].message: content, tool_calls) and the streamed chunks
/// (choices[0].delta: content, tool_calls fragments by index).

#include <keypool/wire/detail/canonical_json.hpp>
#include <keypool/wire/detail/finish_reason.hpp>
#include <keypool/wire/detail/json.hpp>
#include <keypool/wire/detail/tool_call_id.hpp>
#include <keypool/wire/response.hpp>
#include <keypool/wire/sse.hpp>
#include <keypool/wire/tool_call_delta.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::wire::detail {

inline constexpr std::string_view openai_name = "openai_chat";

/// usage: prompt_tokens (cached ones included), completion_tokens (reasoning
/// included) and their *_details.
inline void read_openai_usage(const json::object* u, usage& out) {
  out.input_tokens = count_field(u, "prompt_tokens");
  out.output_tokens = count_field(u, "completion_tokens");
  out.cached_input_tokens = count_field(u ? object_field(*u, "prompt_tokens_details") : nullptr, "cached_tokens");
  out.reasoning_tokens = count_field(u ? object_field(*u, "completion_tokens_details") : nullptr, "reasoning_tokens");
}

/// A function's arguments: JSON text in a string, as the model wrote it;
/// an object (some compatible servers send one) written canonically.
inline std::string openai_arguments(const json::value* a) {
  if (!a || a->is_null()) return {};
  if (const auto* s = a->if_string()) return std::string(s->data(), s->size());
  return canonical_json(*a);
}

/// message.tool_calls[] ({id, type, function: {name, arguments}}) and the
/// deprecated message.function_call ({name, arguments}).
inline std::optional<decode_error> read_openai_tool_calls(const json::object& message, chat_response& out) {
  if (const auto* calls = array_field(message, "tool_calls")) {
    for (std::size_t i = 0; i < calls->size(); ++i) {
      const auto* c = (*calls)[i].if_object();
      const auto type = c ? string_field(*c, "type") : std::nullopt;
      if (type && *type != "function") continue;  // Z.AI's "mcp" calls ran on its side: not the caller's to run
      const auto* fn = c ? object_field(*c, "function") : nullptr;
      const auto name = fn ? string_field(*fn, "name") : std::nullopt;
      if (!name)
        return decode_error{decode_errc::unexpected_shape, std::string(openai_name) +
                                                               ": choices[0].message.tool_calls[" + std::to_string(i) +
                                                               "].function.name is not a string"};
      tool_call t{std::string(string_field(*c, "id").value_or("")), std::string(*name),
                  openai_arguments(field(*fn, "arguments"))};
      if (t.id.empty()) t.id = synthesized_call_id(out.tool_calls.size(), t.name, t.arguments);
      out.tool_calls.push_back(std::move(t));
    }
  } else if (const auto* fn = object_field(message, "function_call")) {
    if (auto name = string_field(*fn, "name")) {
      tool_call t{{}, std::string(*name), openai_arguments(field(*fn, "arguments"))};
      t.id = synthesized_call_id(0, t.name, t.arguments);
      out.tool_calls.push_back(std::move(t));
    }
  }
  return std::nullopt;
}

/// choices[0].message.content: a string, null, or text parts.
inline std::optional<decode_error> read_openai_content(const json::object& message, chat_response& out) {
  const auto* content = field(message, "content");
  if (!content || content->is_null()) return std::nullopt;  // no text (e.g. only tool calls): not malformed
  if (const auto* s = content->if_string()) {
    out.text.assign(s->data(), s->size());
  } else if (const auto* parts = content->if_array()) {
    for (const auto& p : *parts)
      if (const auto* po = p.if_object())
        if (auto t = string_field(*po, "text")) out.text += *t;
  } else {
    return decode_error{decode_errc::unexpected_shape,
                        std::string(openai_name) + ": choices[0].message.content is not a string"};
  }
  return std::nullopt;
}

inline decode_result decode_openai_tree(std::string_view body) {
  constexpr auto name = openai_name;
  scratch<> arena;  // the answer's tree, freed as one
  auto parsed = parse(body, name, arena.get());
  if (!parsed) return unexpected<decode_error>{parsed.error()};
  const auto* root = parsed->if_object();
  if (!root) return decode_fail(name, decode_errc::unexpected_shape, "the body is not a JSON object");
  if (auto e = error_object(*root, name)) return unexpected<decode_error>{*e};
  const auto* choices = array_field(*root, "choices");
  if (!choices) return decode_fail(name, decode_errc::unexpected_shape, "no \"choices\" array");
  if (choices->empty()) return decode_fail(name, decode_errc::no_output, "\"choices\" is empty");
  const auto* choice = (*choices)[0].if_object();
  if (!choice) return decode_fail(name, decode_errc::unexpected_shape, "choices[0] is not an object");
  const auto* message = object_field(*choice, "message");
  if (!message) return decode_fail(name, decode_errc::unexpected_shape, "choices[0].message is missing");
  chat_response out;
  if (auto bad = read_openai_content(*message, out)) return unexpected<decode_error>{*bad};
  if (auto bad = read_openai_tool_calls(*message, out)) return unexpected<decode_error>{*bad};
  if (auto f = string_field(*choice, "finish_reason")) out.finish_reason = *f;
  if (auto m = string_field(*root, "model")) out.model = *m;
  read_openai_usage(object_field(*root, "usage"), out.usage);
  settle_finish(out, openai_finish);
  return out;
}

/// Streamed chunks: {"choices":[{"delta":{"content":..,"tool_calls":[..]},
/// "finish_reason":..}]}, an optional usage chunk, then "data: [DONE]".
class openai_stream_decoder {
 public:
  template <class OnText, class OnToolCall>
  std::optional<decode_error> on_event(const sse_event& e, OnText& on_text, OnToolCall& on_tool_call) {
    if (e.data == "[DONE]") {
      done_ = true;
      return std::nullopt;
    }
    scratch<> arena;  // the event's tree, freed as one
    auto parsed = parse(e.data, openai_name, arena.get());
    if (!parsed) return parsed.error();
    const auto* root = parsed->if_object();
    if (!root)
      return decode_error{decode_errc::unexpected_shape, std::string(openai_name) + ": stream chunk is not an object"};
    if (auto err = error_object(*root, openai_name)) return err;
    if (auto m = string_field(*root, "model")) r_.model = *m;
    if (const auto* choices = array_field(*root, "choices"); choices && !choices->empty()) {
      if (const auto* choice = (*choices)[0].if_object()) {
        if (const auto* delta = object_field(*choice, "delta")) {
          if (auto t = string_field(*delta, "content"); t && !t->empty()) {
            r_.text += *t;
            on_text(*t);
          }
          if (const auto* calls = array_field(*delta, "tool_calls"))
            for (const auto& c : *calls)
              if (const auto* co = c.if_object()) on_call_delta(*co, on_tool_call);
        }
        if (auto f = string_field(*choice, "finish_reason")) r_.finish_reason = *f;
      }
    }
    const json::object* sources[] = {object_field(*root, "usage"), groq_usage(*root)};
    for (const auto* u : sources)
      if (u) read_openai_usage(u, r_.usage);
    return std::nullopt;
  }
  template <class OnText>
  std::optional<decode_error> on_event(const sse_event& e, OnText& on_text) {
    auto ignore = [](const tool_call_delta&) {};
    return on_event(e, on_text, ignore);
  }

  decode_result finish() {
    if (!done_ && r_.finish_reason.empty())
      return decode_fail(openai_name, decode_errc::truncated_stream,
                         "the stream ended before a finish_reason or [DONE]");
    chat_response out = r_;
    for (std::size_t i = 0; i < out.tool_calls.size(); ++i) {
      auto& t = out.tool_calls[i];
      if (t.name.empty())
        return decode_fail(openai_name, decode_errc::unexpected_shape,
                           "streamed tool call " + std::to_string(i) + " has no function.name");
      if (t.id.empty()) t.id = synthesized_call_id(i, t.name, t.arguments);
    }
    settle_finish(out, openai_finish);
    return out;
  }
  const chat_response& partial() const noexcept { return r_; }

 private:
  /// One element of delta.tool_calls: {index, id?, function: {name?,
  /// arguments?}}. A new index (or, without one, a new id) starts a call.
  template <class OnToolCall>
  void on_call_delta(const json::object& c, OnToolCall& on_tool_call) {
    if (foreign(c)) return;
    const auto id = string_field(c, "id").value_or("");
    const std::size_t calls_before = r_.tool_calls.size();
    const std::size_t at = call_slot(index_of(c), id);
    tool_call& t = r_.tool_calls[at];
    tool_call_delta d{at, {}, {}, {}};
    if (t.id.empty() && !id.empty()) d.id = t.id.assign(id);
    if (const auto* fn = object_field(c, "function")) {
      if (auto n = string_field(*fn, "name"); n && t.name.empty()) d.name = t.name.assign(*n);
      if (auto a = string_field(*fn, "arguments")) {
        t.arguments += *a;
        d.arguments = *a;
      }
    }
    // A call that starts empty is still announced, so that indexes reach the
    // caller densely (0, 1, 2, ...) whatever the provider sends first.
    const bool started = r_.tool_calls.size() > calls_before;
    if (started || !d.id.empty() || !d.name.empty() || !d.arguments.empty())
      on_tool_call(static_cast<const tool_call_delta&>(d));
  }

  /// A delta's "index" when it is an integer.
  static std::optional<std::uint64_t> index_of(const json::object& c) {
    const auto* index = field(c, "index");
    if (index && index->is_uint64()) return index->get_uint64();
    if (index && index->is_int64()) return count_of(index->get_int64());
    return std::nullopt;
  }

  /// A call of another type than "function" (Z.AI's "mcp", run on the
  /// provider's side), remembered by its index for its later deltas.
  bool foreign(const json::object& c) {
    const auto key = index_of(c);
    if (auto type = string_field(c, "type"); type && *type != "function") {
      if (key) foreign_.push_back(*key);
      return true;
    }
    return key && std::find(foreign_.begin(), foreign_.end(), *key) != foreign_.end();
  }

  /// The position in r_.tool_calls of the call a delta continues or starts
  /// (searched from the newest: deltas continue the latest call).
  std::size_t call_slot(std::optional<std::uint64_t> key, std::string_view id) {
    if (key) {
      for (std::size_t i = keys_.size(); i-- > 0;)
        if (keys_[i] == *key) return i;
    } else if (!r_.tool_calls.empty() && (id.empty() || id == r_.tool_calls.back().id)) {
      return r_.tool_calls.size() - 1;
    }
    keys_.push_back(key.value_or(~std::uint64_t{0}));
    r_.tool_calls.emplace_back();
    return r_.tool_calls.size() - 1;
  }

  /// Groq reports streamed usage under "x_groq".
  static const json::object* groq_usage(const json::object& root) {
    const auto* x = object_field(root, "x_groq");
    return x ? object_field(*x, "usage") : nullptr;
  }

  chat_response r_;
  std::vector<std::uint64_t> keys_;     // the provider's index of each call in r_.tool_calls
  std::vector<std::uint64_t> foreign_;  // indexes of calls that are not functions
  bool done_ = false;
};

}  // namespace keypool::wire::detail
