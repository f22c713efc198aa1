#pragma once
/// Anthropic Messages answers read from a JSON tree: the whole answer
/// (content blocks text and tool_use) and the streamed events (text_delta,
/// tool_use blocks filled by input_json_delta fragments).

#include <keypool/wire/detail/canonical_json.hpp>
#include <keypool/wire/detail/finish_reason.hpp>
#include <keypool/wire/detail/json.hpp>
#include <keypool/wire/response.hpp>
#include <keypool/wire/sse.hpp>
#include <keypool/wire/tool_call_delta.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::wire::detail {

inline constexpr std::string_view anthropic_name = "anthropic_messages";

/// Anthropic's usage counts, kept apart until the answer is complete (a
/// stream reports them in two events): input_tokens excludes the cache.
struct anthropic_usage {
  std::uint64_t input = 0, output = 0, cache_read = 0, cache_creation = 0;

  /// Reads the counts `u` has; `all`: a missing count is 0 (a whole answer),
  /// else a missing or zero count keeps the earlier one (message_delta).
  void read(const json::object* u, bool all) {
    const auto set = [&](std::uint64_t& to, std::string_view key) {
      const auto n = count_field(u, key);
      if (all || n) to = n;
    };
    set(input, "input_tokens");
    set(output, "output_tokens");
    set(cache_read, "cache_read_input_tokens");
    set(cache_creation, "cache_creation_input_tokens");
  }
  /// Total input = input_tokens + cache_read + cache_creation (Anthropic's
  /// prompt caching guide).
  usage neutral() const noexcept {
    usage u;
    u.input_tokens = input + cache_read + cache_creation;
    u.output_tokens = output;
    u.cached_input_tokens = cache_read;
    u.cache_creation_input_tokens = cache_creation;
    return u;
  }
};

inline std::string block_path(std::size_t i, std::string_view rest) {
  return "content[" + std::to_string(i) + "]" + std::string(rest);
}

/// One content block of a whole answer: text, tool_use; others (thinking,
/// server tools) carry nothing for the caller.
inline std::optional<decode_error> read_anthropic_block(const json::object& block, std::size_t i, chat_response& out) {
  const auto type = string_field(block, "type");
  if (type == std::optional<std::string_view>("text")) {
    auto t = string_field(block, "text");
    if (!t)
      return decode_error{decode_errc::unexpected_shape,
                          std::string(anthropic_name) + ": " + block_path(i, ".text is not a string")};
    out.text += *t;
  } else if (type == std::optional<std::string_view>("tool_use")) {
    auto id = string_field(block, "id");
    auto name = string_field(block, "name");
    if (!id || !name)
      return decode_error{decode_errc::unexpected_shape,
                          std::string(anthropic_name) + ": " + block_path(i, " (tool_use) has no string id and name")};
    const auto* input = field(block, "input");
    out.tool_calls.push_back({std::string(*id), std::string(*name), input ? canonical_json(*input) : "{}"});
  }
  return std::nullopt;
}

inline decode_result decode_anthropic_tree(std::string_view body) {
  constexpr auto name = anthropic_name;
  scratch<> arena;  // the answer's tree, freed as one
  auto parsed = parse(body, name, arena.get());
  if (!parsed) return unexpected<decode_error>{parsed.error()};
  const auto* root = parsed->if_object();
  if (!root) return decode_fail(name, decode_errc::unexpected_shape, "the body is not a JSON object");
  if (auto e = error_object(*root, name)) return unexpected<decode_error>{*e};
  const auto* content = array_field(*root, "content");
  if (!content) return decode_fail(name, decode_errc::unexpected_shape, "no \"content\" array");
  chat_response out;
  for (std::size_t i = 0; i < content->size(); ++i) {
    const auto* block = (*content)[i].if_object();
    if (!block) return decode_fail(name, decode_errc::unexpected_shape, block_path(i, " is not an object"));
    if (auto bad = read_anthropic_block(*block, i, out)) return unexpected<decode_error>{*bad};
  }
  if (auto f = string_field(*root, "stop_reason")) out.finish_reason = *f;
  if (auto m = string_field(*root, "model")) out.model = *m;
  anthropic_usage u;
  u.read(object_field(*root, "usage"), true);
  out.usage = u.neutral();
  settle_finish(out, anthropic_finish);
  return out;
}

/// Streamed events: message_start (model, input usage), content_block_start
/// (a tool_use block: id, name), content_block_delta (text_delta,
/// input_json_delta), message_delta (stop_reason, output usage),
/// message_stop; an "error" event mid-stream is a provider_error. A tool
/// call's fragments are joined, and at the end written canonically like a
/// whole answer's `input`.
class anthropic_stream_decoder {
 public:
  template <class OnText, class OnToolCall>
  std::optional<decode_error> on_event(const sse_event& e, OnText& on_text, OnToolCall& on_tool_call) {
    scratch<> arena;  // the event's tree, freed as one
    auto parsed = parse(e.data, anthropic_name, arena.get());
    if (!parsed) return parsed.error();
    const auto* root = parsed->if_object();
    if (!root)
      return decode_error{decode_errc::unexpected_shape,
                          std::string(anthropic_name) + ": stream event is not an object"};
    const std::string type(string_field(*root, "type").value_or(e.event));
    if (type == "error") {
      if (auto err = error_object(*root, anthropic_name)) return err;
      return decode_error{decode_errc::provider_error, std::string(anthropic_name) + ": error event"};
    }
    if (type == "message_start") {
      if (const auto* m = object_field(*root, "message")) {
        if (auto model = string_field(*m, "model")) r_.model = *model;
        u_.read(object_field(*m, "usage"), true);
      }
    } else if (type == "content_block_start") {
      block_start(*root, on_tool_call);
    } else if (type == "content_block_delta") {
      block_delta(*root, on_text, on_tool_call);
    } else if (type == "message_delta") {
      if (const auto* d = object_field(*root, "delta"))
        if (auto f = string_field(*d, "stop_reason")) r_.finish_reason = *f;
      u_.read(object_field(*root, "usage"), false);
    } else if (type == "message_stop") {
      done_ = true;
    }
    r_.usage = u_.neutral();
    return std::nullopt;
  }
  template <class OnText>
  std::optional<decode_error> on_event(const sse_event& e, OnText& on_text) {
    auto ignore = [](const tool_call_delta&) {};
    return on_event(e, on_text, ignore);
  }

  decode_result finish() {
    if (!done_)
      return decode_fail(anthropic_name, decode_errc::truncated_stream, "the stream ended before message_stop");
    chat_response out = r_;
    for (std::size_t i = 0; i < out.tool_calls.size(); ++i) {
      if (out.tool_calls[i].id.empty() || out.tool_calls[i].name.empty())
        return decode_fail(anthropic_name, decode_errc::unexpected_shape,
                           "streamed tool call " + std::to_string(i) + " (tool_use) has no id or name");
      auto& args = out.tool_calls[i].arguments;
      auto canonical = canonical_json(args.empty() ? std::string_view("{}") : std::string_view(args), anthropic_name);
      if (!canonical)
        return decode_fail(anthropic_name, decode_errc::unexpected_shape,
                           "the streamed input of tool call " + std::to_string(i) + " is not one JSON value");
      args = std::move(*canonical);
    }
    settle_finish(out, anthropic_finish);
    return out;
  }
  /// The answer so far; a tool call's arguments are the raw fragments joined.
  const chat_response& partial() const noexcept { return r_; }

 private:
  template <class OnToolCall>
  void block_start(const json::object& root, OnToolCall& on_tool_call) {
    const auto* b = object_field(root, "content_block");
    if (!b || string_field(*b, "type") != std::optional<std::string_view>("tool_use")) return;
    blocks_.push_back(count_field(&root, "index"));
    tool_call& t = r_.tool_calls.emplace_back();
    t.id = string_field(*b, "id").value_or("");
    t.name = string_field(*b, "name").value_or("");
    on_tool_call(static_cast<const tool_call_delta&>(tool_call_delta{r_.tool_calls.size() - 1, t.id, t.name, {}}));
  }

  template <class OnText, class OnToolCall>
  void block_delta(const json::object& root, OnText& on_text, OnToolCall& on_tool_call) {
    const auto* d = object_field(root, "delta");
    if (!d) return;
    const auto type = string_field(*d, "type");
    if (type == std::optional<std::string_view>("text_delta")) {
      if (auto t = string_field(*d, "text"); t && !t->empty()) {
        r_.text += *t;
        on_text(*t);
      }
    } else if (type == std::optional<std::string_view>("input_json_delta")) {
      const auto block = count_field(&root, "index");
      auto frag = string_field(*d, "partial_json");
      for (std::size_t i = blocks_.size(); i-- > 0;)
        if (blocks_[i] == block && frag && !frag->empty()) {
          r_.tool_calls[i].arguments += *frag;
          on_tool_call(static_cast<const tool_call_delta&>(tool_call_delta{i, {}, {}, *frag}));
          break;
        }
    }
  }

  chat_response r_;
  anthropic_usage u_;
  std::vector<std::uint64_t> blocks_;  // the content block index of each call in r_.tool_calls
  bool done_ = false;
};

}  // namespace keypool::wire::detail
