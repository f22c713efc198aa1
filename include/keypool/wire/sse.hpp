#pragma once
/// Server-sent events (the WHATWG "text/event-stream" format) parsed
/// incrementally, as bytes arrive: how all three wire formats stream.

#include <keypool/wire/response.hpp>
#include <keypool/wire/tool_call_delta.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::wire {

struct sse_event {
  std::string event;  ///< the "event:" field; empty means "message"
  std::string data;   ///< "data:" lines joined with '\n'
};

/// Splits a byte stream into events. Handles \n, \r\n and \r line ends split
/// anywhere across feeds; ignores comments, "id:" and "retry:".
class sse_parser {
 public:
  /// Largest event accepted (a runaway stream cannot grow memory without
  /// bound).
  explicit sse_parser(std::size_t max_event_bytes = 4u << 20) : max_(max_event_bytes) {}

  /// Feeds bytes; calls `on_event(const sse_event&) -> bool` for each
  /// complete event. Returns false when on_event returned false or an event
  /// grew past the limit (then overflowed() is true).
  template <class OnEvent>
  bool feed(std::string_view bytes, OnEvent&& on_event) {
    std::size_t i = 0;
    while (i < bytes.size()) {
      if (skip_lf_) {
        skip_lf_ = false;
        if (bytes[i] == '\n') {
          ++i;
          continue;
        }
      }
      // The rest of the line, appended in one piece (most of a stream's bytes).
      const std::size_t end = std::min(bytes.find_first_of("\r\n", i), bytes.size());
      if (end > i) {
        line_.append(bytes.data() + i, end - i);
        if (line_.size() + ev_.data.size() > max_) {
          overflowed_ = true;
          return false;
        }
      }
      if (end == bytes.size()) return true;
      skip_lf_ = bytes[end] == '\r';
      i = end + 1;
      if (!line(on_event)) return false;
    }
    return true;
  }

  /// True when part of an event is buffered (the stream stopped mid-event).
  bool pending() const noexcept { return !line_.empty() || has_data_; }
  bool overflowed() const noexcept { return overflowed_; }

 private:
  template <class OnEvent>
  bool line(OnEvent& on_event) {
    std::string_view l = line_;
    if (l.empty()) {
      bool keep_going = true;
      if (has_data_) {
        if (!ev_.data.empty() && ev_.data.back() == '\n') ev_.data.pop_back();
        keep_going = on_event(static_cast<const sse_event&>(ev_));
      }
      ev_.event.clear();
      ev_.data.clear();
      has_data_ = false;
      return keep_going;
    }
    if (l.front() != ':') {
      const auto colon = l.find(':');
      std::string_view field = l.substr(0, colon), value;
      if (colon != std::string_view::npos) {
        value = l.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      }
      if (field == "data") {
        ev_.data.append(value);
        ev_.data.push_back('\n');
        has_data_ = true;
      } else if (field == "event") {
        ev_.event.assign(value);
      }
    }
    line_.clear();
    return true;
  }

  std::size_t max_;
  std::string line_;
  sse_event ev_;
  bool has_data_ = false;
  bool skip_lf_ = false;
  bool overflowed_ = false;
};

/// Parses a streamed response of one codec: SSE framing plus the codec's
/// stream_decoder. Feed body pieces as they arrive; finish() at the end.
template <class Codec>
class chat_stream {
 public:
  /// Returns false after an error (see finish()). `on_text(std::string_view)`
  /// receives every text delta in order; `on_tool_call(const
  /// tool_call_delta&)` every piece of a tool call (its id and name first,
  /// then fragments of its arguments).
  template <class OnText, class OnToolCall>
  bool feed(std::string_view bytes, OnText&& on_text, OnToolCall&& on_tool_call) {
    if (error_) return false;
    const bool ok = sse_.feed(bytes, [&](const sse_event& e) {
      if (auto err = decoder_.on_event(e, on_text, on_tool_call)) {
        error_ = std::move(*err);
        return false;
      }
      return true;
    });
    if (!ok && !error_ && sse_.overflowed())
      error_ = decode_error{decode_errc::unexpected_shape, std::string(Codec::name) + ": stream event too large"};
    return ok;
  }
  template <class OnText>
  bool feed(std::string_view bytes, OnText&& on_text) {
    return feed(bytes, on_text, [](const tool_call_delta&) {});
  }

  /// The assembled response, or why the stream was not a complete answer.
  decode_result finish() {
    if (error_) return ::keypool::unexpected<decode_error>{*error_};
    return decoder_.finish();
  }

  /// Text received so far.
  const std::string& text() const noexcept { return decoder_.partial().text; }
  /// Tool calls received so far (arguments as the fragments joined so far).
  const std::vector<tool_call>& tool_calls() const noexcept { return decoder_.partial().tool_calls; }

 private:
  sse_parser sse_;
  typename Codec::stream_decoder decoder_;
  std::optional<decode_error> error_;
};

}  // namespace keypool::wire
