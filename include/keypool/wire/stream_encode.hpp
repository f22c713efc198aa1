#pragma once
/// Re-encoders of a streamed answer into a caller's format, one event at a
/// time: they take the pieces a stream decoder hands out (text deltas,
/// tool_call_delta) and append the server-sent events of OpenAI's
/// chat.completion.chunk stream or of Anthropic's Messages stream to a
/// string, so a gateway relays each piece as it arrives. finish() writes the
/// closing events from the assembled answer (finish reason, usage).

#include <keypool/wire/answer_encode.hpp>
#include <keypool/wire/detail/finish_word.hpp>
#include <keypool/wire/detail/json_writer.hpp>
#include <keypool/wire/detail/tool_call_id.hpp>
#include <keypool/wire/response.hpp>
#include <keypool/wire/tool_call_delta.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keypool::wire {

/// OpenAI's stream: a first chunk with the role, a chunk per text delta or
/// tool-call piece (index, and id, type and name on a call's first piece),
/// a last chunk with finish_reason, a usage chunk (empty choices) when the
/// caller asked stream_options.include_usage, then `data: [DONE]`.
class openai_stream_encoder {
 public:
  openai_stream_encoder(const answer_meta& m, bool include_usage) : include_usage_(include_usage) {
    detail::json_writer w(head_);
    head_ = "data: ";
    w.begin_object().key("id").value(m.id).key("object").value("chat.completion.chunk");
    w.key("created").value(m.created).key("model").value(m.model);
    head_ += ',';  // the object stays open: each chunk appends its choices
  }

  void text(std::string& out, std::string_view delta) {
    if (delta.empty()) return;
    std::string d;
    detail::json_writer(d).begin_object().key("content").value(delta).end_object();
    chunk(out, d);
  }

  void tool_call(std::string& out, const tool_call_delta& c) {
    const bool first = !c.id.empty() || !c.name.empty();
    if (!first && c.arguments.empty()) return;
    std::string d;
    detail::json_writer w(d);
    w.begin_object().key("tool_calls").begin_array().begin_object().key("index").value(c.index);
    if (first) w.key("id").value(detail::id_with_signature(c.id, c.signature)).key("type").value("function");
    w.key("function").begin_object();
    if (first) w.key("name").value(c.name);
    w.key("arguments").value(c.arguments).end_object();
    w.end_object().end_array().end_object();
    chunk(out, d);
  }

  /// The closing chunks: finish_reason, the usage chunk if asked, [DONE].
  void finish(std::string& out, const chat_response& r) {
    chunk(out, "{}", detail::openai_finish_word(r.finish));
    if (include_usage_) {
      out += head_;
      out += "\"choices\":[],";
      std::string u;
      detail::json_writer w(u);
      w.begin_object();
      detail::write_openai_usage(w, r.usage);
      w.end_object();
      out.append(u, 1, std::string::npos);  // the members, and the closing brace
      out += "\n\n";
    }
    out += "data: [DONE]\n\n";
  }

 private:
  void chunk(std::string& out, std::string_view delta, std::string_view finish = {}) {
    if (!started_) {
      started_ = true;
      chunk(out, R"({"role":"assistant","content":""})");
    }
    out += head_;
    out += R"("choices":[{"index":0,"delta":)";
    out += delta;
    out += R"(,"finish_reason":)";
    if (finish.empty())
      out += "null";
    else
      out.append("\"").append(finish).append("\"");
    out += "}]}\n\n";
  }

  std::string head_;  ///< `data: {"id":…,"model":…,` shared by every chunk
  bool include_usage_;
  bool started_ = false;
};

/// Anthropic's stream: message_start, then per content block a
/// content_block_start (text, or tool_use with id and name), its deltas
/// (text_delta, input_json_delta) and content_block_stop; message_delta
/// with stop_reason and usage; message_stop.
class anthropic_stream_encoder {
 public:
  explicit anthropic_stream_encoder(answer_meta m) : meta_(std::move(m)) {}

  void text(std::string& out, std::string_view delta) {
    if (delta.empty()) return;
    if (!open_ || !open_text_) open_block(out, nullptr);
    std::string d;
    detail::json_writer w(d);
    w.begin_object().key("type").value("content_block_delta").key("index").value(block_);
    w.key("delta").begin_object().key("type").value("text_delta").key("text").value(delta).end_object().end_object();
    event(out, "content_block_delta", d);
  }

  void tool_call(std::string& out, const tool_call_delta& c) {
    if (!c.id.empty() || !c.name.empty()) {
      open_block(out, &c);
      if (call_block_.size() <= c.index) call_block_.resize(c.index + 1, block_);
      call_block_[c.index] = block_;
    }
    if (c.arguments.empty() || c.index >= call_block_.size()) return;
    std::string d;
    detail::json_writer w(d);
    w.begin_object().key("type").value("content_block_delta").key("index").value(call_block_[c.index]);
    w.key("delta").begin_object().key("type").value("input_json_delta").key("partial_json").value(c.arguments);
    w.end_object().end_object();
    event(out, "content_block_delta", d);
  }

  /// The closing events: the open block's stop, message_delta, message_stop.
  void finish(std::string& out, const chat_response& r) {
    start(out);
    close_block(out);
    std::string d;
    detail::json_writer w(d);
    w.begin_object().key("type").value("message_delta").key("delta").begin_object();
    w.key("stop_reason").value(detail::anthropic_stop_word(r.finish)).key("stop_sequence").null().end_object();
    detail::write_anthropic_usage(w, r.usage);
    w.end_object();
    event(out, "message_delta", d);
    event(out, "message_stop", R"({"type":"message_stop"})");
  }

 private:
  static void event(std::string& out, std::string_view type, std::string_view data) {
    out.append("event: ").append(type).append("\ndata: ").append(data).append("\n\n");
  }

  void start(std::string& out) {
    if (started_) return;
    started_ = true;
    std::string d;
    detail::json_writer w(d);
    w.begin_object().key("type").value("message_start").key("message").begin_object();
    w.key("id").value(meta_.id).key("type").value("message").key("role").value("assistant");
    w.key("model").value(meta_.model).key("content").begin_array().end_array();
    w.key("stop_reason").null().key("stop_sequence").null();
    w.key("usage").begin_object().key("input_tokens").value(0).key("output_tokens").value(0).end_object();
    w.end_object().end_object();
    event(out, "message_start", d);
  }

  void close_block(std::string& out) {
    if (!open_) return;
    open_ = false;
    std::string d;
    detail::json_writer(d)
        .begin_object()
        .key("type")
        .value("content_block_stop")
        .key("index")
        .value(block_)
        .end_object();
    event(out, "content_block_stop", d);
  }

  /// Closes the open block and opens a text block (`call` null) or a
  /// tool_use block.
  void open_block(std::string& out, const tool_call_delta* call) {
    start(out);
    close_block(out);
    block_ = next_++;
    open_ = true;
    open_text_ = call == nullptr;
    std::string d;
    detail::json_writer w(d);
    w.begin_object().key("type").value("content_block_start").key("index").value(block_).key("content_block");
    if (call)
      w.begin_object()
          .key("type")
          .value("tool_use")
          .key("id")
          .value(detail::id_with_signature(call->id, call->signature))
          .key("name")
          .value(call->name)
          .key("input")
          .begin_object()
          .end_object()
          .end_object();
    else
      w.begin_object().key("type").value("text").key("text").value("").end_object();
    w.end_object();
    event(out, "content_block_start", d);
  }

  answer_meta meta_;
  std::vector<std::size_t> call_block_;  ///< the block index of each tool call
  std::size_t block_ = 0;                ///< the open (or last) block's index
  std::size_t next_ = 0;
  bool started_ = false;
  bool open_ = false;
  bool open_text_ = false;
};

}  // namespace keypool::wire
