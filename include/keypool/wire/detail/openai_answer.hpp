#pragma once
/// Reads the common shape of an OpenAI-style chat answer in one pass over the
/// text (Boost.JSON's SAX parser), without building a tree: model,
/// choices[0].message.content as a string, choices[0].finish_reason and the
/// usage counts with their details. Anything else (an error object, no
/// choices, content parts, tool calls, a duplicated member, any JSON error)
/// is left to the tree decoder, which
/// gives the same result or the precise error: scan() says "not the common
/// shape", never "invalid". The tree costs about 7 k instructions per
/// answer; the scan skips most of them (docs/benchmarks.md).

#include <keypool/wire/detail/json.hpp>
#include <keypool/wire/request.hpp>

#include <boost/json/basic_parser_impl.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace keypool::wire::detail {

class openai_answer_handler {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  using error_code = boost::system::error_code;
  using string_view = boost::json::string_view;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code& ec) {
    // choices[0] must have been an object holding a message object.
    return got_message_ || bail(ec);
  }

  bool on_object_begin(error_code& ec) {
    const place p = depth_ == 0 ? place::root : child_place(ec);
    if (p == place::invalid) return false;
    return push(p);
  }
  bool on_object_end(std::size_t, error_code&) { return pop(); }
  bool on_array_begin(error_code& ec) {
    if (depth_ == 0) return bail(ec);  // an answer is an object
    const place p = field_ == f_choices ? place::choices : other_value(ec);
    if (p == place::invalid) return false;
    return push(p);
  }
  bool on_array_end(std::size_t n, error_code& ec) {
    if (top() == place::choices && n == 0) return bail(ec);  // the tree decoder says "empty"
    return pop();
  }

  bool on_key_part(string_view s, std::size_t, error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code& ec) {
    std::string_view k(s.data(), s.size());
    if (!key_.empty()) {
      key_.append(s.data(), s.size());
      k = key_;
    }
    field_ = field_of(top(), k);
    key_.clear();
    if (field_ == f_none) return true;
    if (seen(field_)) return bail(ec);  // a duplicate: which one counts is the tree's business
    seen_ |= field_;
    return true;
  }

  bool on_string_part(string_view s, std::size_t, error_code& ec) {
    if (std::string* to = string_target(ec)) to->append(s.data(), s.size());
    return !failed_;
  }
  bool on_string(string_view s, std::size_t, error_code& ec) {
    if (std::string* to = string_target(ec)) to->append(s.data(), s.size());
    return !failed_ && scalar_done();
  }
  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(std::int64_t i, string_view, error_code& ec) { return count(count_of(i), ec); }
  bool on_uint64(std::uint64_t u, string_view, error_code& ec) { return count(u, ec); }
  bool on_double(double d, string_view, error_code& ec) { return count(count_of(d), ec); }
  bool on_bool(bool, error_code& ec) { return other_scalar(ec); }
  bool on_null(error_code&) {
    // A null error, content or finish_reason is as good as none.
    return scalar_done();
  }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }

  chat_response& result() noexcept { return out_; }

 private:
  enum class place : std::uint8_t {
    invalid,
    other,
    root,
    choices,
    choice,
    message,
    usage,
    prompt_details,
    completion_details
  };
  // The members read, one bit each (a second sighting is a duplicate).
  enum field : std::uint32_t {
    f_none = 0,
    f_model = 1u << 0,
    f_choices = 1u << 1,
    f_usage = 1u << 2,
    f_error = 1u << 3,
    f_message = 1u << 4,
    f_finish_reason = 1u << 5,
    f_content = 1u << 6,
    f_prompt_tokens = 1u << 7,
    f_completion_tokens = 1u << 8,
    f_tool_calls = 1u << 9,  // message.tool_calls or function_call: the tree decoder's
    f_prompt_details = 1u << 10,
    f_completion_details = 1u << 11,
    f_cached_tokens = 1u << 12,
    f_reasoning_tokens = 1u << 13,
  };
  static constexpr std::size_t max_tracked = 8;  // deeper levels are all "other"

  static field field_of(place p, std::string_view k) noexcept {
    switch (p) {
      case place::root:
        if (k == "model") return f_model;
        if (k == "choices") return f_choices;
        if (k == "usage") return f_usage;
        if (k == "error") return f_error;
        return f_none;
      case place::choice:
        if (k == "message") return f_message;
        if (k == "finish_reason") return f_finish_reason;
        return f_none;
      case place::message:
        if (k == "content") return f_content;
        if (k == "tool_calls" || k == "function_call") return f_tool_calls;
        return f_none;
      case place::usage:
        if (k == "prompt_tokens") return f_prompt_tokens;
        if (k == "completion_tokens") return f_completion_tokens;
        if (k == "prompt_tokens_details") return f_prompt_details;
        if (k == "completion_tokens_details") return f_completion_details;
        return f_none;
      case place::prompt_details: return k == "cached_tokens" ? f_cached_tokens : f_none;
      case place::completion_details: return k == "reasoning_tokens" ? f_reasoning_tokens : f_none;
      default: return f_none;
    }
  }

  bool seen(std::uint32_t f) const noexcept { return (seen_ & f) != 0; }
  place top() const noexcept { return depth_ == 0 || depth_ > max_tracked ? place::other : stack_[depth_ - 1]; }

  bool push(place p) {
    if (depth_ < max_tracked) stack_[depth_] = p;
    ++depth_;
    field_ = f_none;
    return true;
  }
  bool pop() {
    --depth_;
    return scalar_done();  // the container was its parent's value
  }

  /// A value that starts here (not a string or number) ends the field's
  /// claim; an array element of `choices` advances its index.
  bool scalar_done() {
    field_ = f_none;
    if (top() == place::choices) ++choice_index_;
    return true;
  }

  /// The place of an object value that starts now.
  place child_place(error_code& ec) {
    const place parent = top();
    if (parent == place::choices) return choice_index_ == 0 ? place::choice : place::other;
    switch (field_) {
      case f_usage: return place::usage;
      case f_prompt_details: return place::prompt_details;
      case f_completion_details: return place::completion_details;
      case f_message: got_message_ = true; return place::message;
      case f_none: return place::other;
      default: return other_value(ec);
    }
  }

  /// A value of a kind the field does not take: the tree decoder decides
  /// what it means (an error object, content parts, a message that is not
  /// an object ...) or ignores it (a model that is a number ...).
  place other_value(error_code& ec) {
    if (top() == place::choices && choice_index_ == 0) return bail(ec), place::invalid;
    switch (field_) {
      case f_choices:
      case f_error:
      case f_message:
      case f_content:
      case f_tool_calls: return bail(ec), place::invalid;
      default: return place::other;
    }
  }
  bool other_scalar(error_code& ec) { return other_value(ec) == place::invalid ? false : scalar_done(); }

  std::string* string_target(error_code& ec) {
    if (top() == place::choices && choice_index_ == 0) return bail(ec), nullptr;
    switch (field_) {
      case f_model: return &out_.model;
      case f_finish_reason: return &out_.finish_reason;
      case f_content: return &out_.text;
      case f_choices:
      case f_error:
      case f_message:
      case f_tool_calls: return bail(ec), nullptr;
      default: return nullptr;
    }
  }

  bool count(std::uint64_t v, error_code& ec) {
    if (field_ == f_prompt_tokens) out_.usage.input_tokens = v;
    if (field_ == f_completion_tokens) out_.usage.output_tokens = v;
    if (field_ == f_cached_tokens) out_.usage.cached_input_tokens = v;
    if (field_ == f_reasoning_tokens) out_.usage.reasoning_tokens = v;
    return other_scalar(ec);
  }

  bool bail(error_code& ec) {
    failed_ = true;
    ec = boost::json::error::exception;  // any error: the parse stops here
    return false;
  }

  chat_response out_;
  std::string key_;  // a key that came in parts
  place stack_[max_tracked]{};
  std::size_t depth_ = 0;
  std::size_t choice_index_ = 0;
  std::uint32_t field_ = f_none;  // the member whose value comes next
  std::uint32_t seen_ = 0;
  bool got_message_ = false;  // choices[0].message was an object
  bool failed_ = false;
};

/// The answer if `body` has the common shape, else nullopt (decode it with
/// the tree decoder instead).
inline std::optional<chat_response> scan_openai_answer(std::string_view body) {
  boost::json::basic_parser<openai_answer_handler> p(boost::json::parse_options{});
  boost::system::error_code ec;
  const std::size_t n = p.write_some(false, body.data(), body.size(), ec);
  if (ec || n != body.size() || !p.done()) return std::nullopt;
  return std::move(p.handler().result());
}

}  // namespace keypool::wire::detail
