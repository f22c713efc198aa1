#pragma once
/// Gemini generateContent answers read from a JSON tree: the whole answer
/// (candidates[0].content.parts[]: text, functionCall) and the streamed
/// chunks (each a GenerateContentResponse; a functionCall part comes whole).

#include <keypool/wire/detail/canonical_json.hpp>
#include <keypool/wire/detail/finish_reason.hpp>
#include <keypool/wire/detail/json.hpp>
#include <keypool/wire/detail/tool_call_id.hpp>
#include <keypool/wire/response.hpp>
#include <keypool/wire/sse.hpp>
#include <keypool/wire/tool_call_delta.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace keypool::wire::detail {

inline constexpr std::string_view gemini_name = "gemini_generate_content";

/// A part's functionCall {name, args, id?}: args (a JSON object) written
/// canonically; without an id, one derived from the call; the part's
/// thoughtSignature kept. `index` is the call's position in the whole answer.
inline std::optional<tool_call> gemini_call(const json::object& part, const json::object& fc, std::size_t index) {
  auto name = string_field(fc, "name");
  if (!name) return std::nullopt;
  const auto* args = field(fc, "args");
  tool_call t{std::string(string_field(fc, "id").value_or("")), std::string(*name),
              args && !args->is_null() ? canonical_json(*args) : "{}",
              std::string(string_field(part, "thoughtSignature").value_or(""))};
  if (t.id.empty()) t.id = synthesized_call_id(index, t.name, t.arguments);
  return t;
}

/// The parts of candidates[0].content: text (thought summaries skipped) and
/// function calls; `first_call` numbers the calls of a streamed answer.
inline std::optional<decode_error> read_gemini_parts(const json::array& parts, std::size_t first_call,
                                                     chat_response& out) {
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto* po = parts[i].if_object();
    if (!po) continue;
    const auto* thought = field(*po, "thought");
    if (thought && thought->is_bool() && thought->get_bool()) continue;  // reasoning summary, not the answer
    if (auto t = string_field(*po, "text")) out.text += *t;
    if (const auto* fc = object_field(*po, "functionCall")) {
      auto call = gemini_call(*po, *fc, first_call + out.tool_calls.size());
      if (!call)
        return decode_error{decode_errc::unexpected_shape, std::string(gemini_name) + ": candidates[0].content.parts[" +
                                                               std::to_string(i) +
                                                               "].functionCall.name is not a string"};
      out.tool_calls.push_back(std::move(*call));
    }
  }
  return std::nullopt;
}

/// Reads modelVersion and usageMetadata into `out`: promptTokenCount
/// includes cachedContentTokenCount; output is candidates + thoughts.
inline void read_gemini_meta(const json::object& root, chat_response& out) {
  if (auto m = string_field(root, "modelVersion")) out.model = *m;
  const auto* u = object_field(root, "usageMetadata");
  out.usage.input_tokens = count_field(u, "promptTokenCount");
  out.usage.reasoning_tokens = count_field(u, "thoughtsTokenCount");
  out.usage.output_tokens = count_field(u, "candidatesTokenCount") + out.usage.reasoning_tokens;
  out.usage.cached_input_tokens = count_field(u, "cachedContentTokenCount");
}

/// Reads one GenerateContentResponse object into `out`.
inline std::optional<decode_error> read_gemini_response(const json::object& root, std::size_t first_call,
                                                        chat_response& out) {
  const auto* candidates = array_field(root, "candidates");
  if (!candidates || candidates->empty()) {
    std::string why = "no candidates";
    if (const auto* fb = object_field(root, "promptFeedback"))
      if (auto reason = string_field(*fb, "blockReason")) why = "prompt blocked: " + clip(*reason, 60);
    return decode_error{decode_errc::no_output, std::string(gemini_name) + ": " + why};
  }
  const auto* cand = (*candidates)[0].if_object();
  if (!cand)
    return decode_error{decode_errc::unexpected_shape, std::string(gemini_name) + ": candidates[0] is not an object"};
  if (const auto* content = object_field(*cand, "content"))
    if (const auto* parts = array_field(*content, "parts"))
      if (auto bad = read_gemini_parts(*parts, first_call, out)) return bad;
  if (auto f = string_field(*cand, "finishReason")) out.finish_reason = *f;
  read_gemini_meta(root, out);
  return std::nullopt;
}

/// A stream chunk with usageMetadata but no candidates: Google may send the
/// totals alone. A blocked prompt carries usage too, so it is not one.
inline bool gemini_usage_only(const json::object& root) {
  const auto* candidates = array_field(root, "candidates");
  if ((candidates && !candidates->empty()) || !object_field(root, "usageMetadata")) return false;
  const auto* fb = object_field(root, "promptFeedback");
  return !(fb && string_field(*fb, "blockReason"));
}

inline decode_result decode_gemini_tree(std::string_view body) {
  constexpr auto name = gemini_name;
  scratch<> arena;  // the answer's tree, freed as one
  auto parsed = parse(body, name, arena.get());
  if (!parsed) return unexpected<decode_error>{parsed.error()};
  const auto* root = parsed->if_object();
  if (!root) return decode_fail(name, decode_errc::unexpected_shape, "the body is not a JSON object");
  if (auto e = error_object(*root, name)) return unexpected<decode_error>{*e};
  chat_response out;
  if (auto bad = read_gemini_response(*root, 0, out)) return unexpected<decode_error>{*bad};
  settle_finish(out, gemini_finish);
  return out;
}

/// Streamed events: each is a GenerateContentResponse carrying the next
/// piece of text or whole function calls; the last has finishReason and the
/// final usageMetadata, or a chunk of usageMetadata alone follows it.
class gemini_stream_decoder {
 public:
  template <class OnText, class OnToolCall>
  std::optional<decode_error> on_event(const sse_event& e, OnText& on_text, OnToolCall& on_tool_call) {
    scratch<> arena;  // the event's tree, freed as one
    auto parsed = parse(e.data, gemini_name, arena.get());
    if (!parsed) return parsed.error();
    const auto* root = parsed->if_object();
    if (!root)
      return decode_error{decode_errc::unexpected_shape, std::string(gemini_name) + ": stream chunk is not an object"};
    if (auto err = error_object(*root, gemini_name)) return err;
    chat_response piece;
    if (gemini_usage_only(*root))
      read_gemini_meta(*root, piece);
    else if (auto bad = read_gemini_response(*root, r_.tool_calls.size(), piece))
      return bad;
    if (!piece.text.empty()) {
      r_.text += piece.text;
      on_text(std::string_view(piece.text));
    }
    for (auto& t : piece.tool_calls) {
      r_.tool_calls.push_back(std::move(t));
      const tool_call& c = r_.tool_calls.back();
      on_tool_call(static_cast<const tool_call_delta&>(
          tool_call_delta{r_.tool_calls.size() - 1, c.id, c.name, c.arguments, c.signature}));
    }
    if (!piece.model.empty()) r_.model = piece.model;
    if (!piece.finish_reason.empty()) r_.finish_reason = piece.finish_reason;
    if (object_field(*root, "usageMetadata")) r_.usage = piece.usage;
    return std::nullopt;
  }
  template <class OnText>
  std::optional<decode_error> on_event(const sse_event& e, OnText& on_text) {
    auto ignore = [](const tool_call_delta&) {};
    return on_event(e, on_text, ignore);
  }

  decode_result finish() {
    if (r_.finish_reason.empty())
      return decode_fail(gemini_name, decode_errc::truncated_stream, "the stream ended before a finishReason");
    chat_response out = r_;
    settle_finish(out, gemini_finish);
    return out;
  }
  const chat_response& partial() const noexcept { return r_; }

 private:
  chat_response r_;
};

}  // namespace keypool::wire::detail
