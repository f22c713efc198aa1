/// libFuzzer target: the response decoders of keypool/wire (the three chat
/// codecs, whole-body and streamed over SSE), base64 and the URL parser.
///
/// Input: byte 0 → SSE chunk size (1..32); the rest is the body.
///
/// Invariants: decoders never throw and return either a response or an
/// error whose message names the format and stays short (provider text is
/// clipped); every tool call has an id and a name, and arguments that
/// Anthropic and Gemini send as objects come out canonical (writing them
/// again changes nothing); streaming is independent of how the bytes are
/// split across feeds (same text, same tool calls, same verdict, byte by
/// byte or all at once); the tool-call deltas, joined, are the answer's
/// arguments (for Anthropic: once written canonically); base64
/// decode/encode round-trips; URL errors never echo a query string;
/// openai_chat's one-pass fast path gives what its tree decoder gives.

#include "fuzz_check.hpp"

#include <keypool/http/url.hpp>
#include <keypool/wire/anthropic_messages.hpp>
#include <keypool/wire/base64.hpp>
#include <keypool/wire/detail/canonical_json.hpp>
#include <keypool/wire/gemini_generate_content.hpp>
#include <keypool/wire/openai_chat.hpp>
#include <keypool/wire/sse.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace {

namespace wire = keypool::wire;

void check_error(const wire::decode_error& e, std::string_view format) {
  KEYPOOL_FUZZ_CHECK(to_string(e.code) != "unknown", "decode error code out of range");
  KEYPOOL_FUZZ_CHECK(e.message.starts_with(std::string(format) + ": "), "decode error does not name the format");
  KEYPOOL_FUZZ_CHECK(e.message.size() <= 600, "decode error message not clipped");
}

template <class Codec>
constexpr bool canonical_arguments = !std::is_same_v<Codec, wire::openai_chat>;

template <class Codec>
void check_answer(const wire::chat_response& r) {
  KEYPOOL_FUZZ_CHECK(to_string(r.finish) != "unknown", "finish out of range");
  KEYPOOL_FUZZ_CHECK(r.finish_reason.empty() == (r.finish == wire::finish_kind::none),
                     "finish disagrees with finish_reason");
  for (const auto& c : r.tool_calls) {
    KEYPOOL_FUZZ_CHECK(!c.id.empty(), "tool call without an id");
    if constexpr (canonical_arguments<Codec>)
      KEYPOOL_FUZZ_CHECK(wire::detail::canonical_json(c.arguments, "fuzz") == c.arguments,
                         "tool call arguments not canonical");
  }
}

template <class Codec>
void check_whole(std::string_view body) {
  const wire::decode_result r = Codec::decode(body);
  if (!r)
    check_error(r.error(), Codec::name);
  else
    check_answer<Codec>(*r);
}

/// openai_chat reads the common answer shape in one SAX pass and leaves the
/// rest to its tree decoder: the two must agree on every input.
void check_openai_fast_path(std::string_view body) {
  const wire::decode_result both = wire::openai_chat::decode(body);
  const wire::decode_result tree = wire::openai_chat::decode_tree(body);
  KEYPOOL_FUZZ_CHECK(both.has_value() == tree.has_value(), "fast path and tree decoder disagree on success");
  if (tree) {
    KEYPOOL_FUZZ_CHECK(both->text == tree->text && both->model == tree->model &&
                           both->finish_reason == tree->finish_reason && both->usage == tree->usage &&
                           both->finish == tree->finish && both->tool_calls == tree->tool_calls,
                       "fast path and tree decoder read different answers");
  } else {
    KEYPOOL_FUZZ_CHECK(both.error().message == tree.error().message, "fast path changed the decode error");
  }
}

struct stream_run {
  std::string text_seen;
  std::vector<wire::tool_call> calls_seen;  // joined from the deltas
  std::string partial;
  bool ok = false;
  std::string text;
  std::vector<wire::tool_call> calls;
  std::string error;
};

template <class Codec>
stream_run run_stream(std::string_view body, std::size_t chunk) {
  wire::chat_stream<Codec> s;
  stream_run out;
  const auto on_call = [&](const wire::tool_call_delta& d) {
    KEYPOOL_FUZZ_CHECK(d.index <= out.calls_seen.size(), "a tool call delta skips an index");
    if (d.index == out.calls_seen.size()) out.calls_seen.emplace_back();
    auto& c = out.calls_seen[d.index];
    KEYPOOL_FUZZ_CHECK(d.id.empty() || c.id.empty(), "a tool call's id sent twice");
    c.id += d.id;
    c.name += d.name;
    c.arguments += d.arguments;
  };
  for (std::size_t i = 0; i < body.size(); i += chunk)
    if (!s.feed(
            body.substr(i, chunk), [&](std::string_view t) { out.text_seen.append(t); }, on_call))
      break;
  out.partial = s.text();
  const wire::decode_result r = s.finish();
  out.ok = r.has_value();
  if (r) {
    out.text = r->text;
    out.calls = r->tool_calls;
    check_answer<Codec>(*r);
  } else {
    check_error(r.error(), Codec::name);
    out.error = r.error().message;
  }
  return out;
}

template <class Codec>
void check_stream(std::string_view body, std::size_t chunk) {
  const stream_run a = run_stream<Codec>(body, chunk);
  const stream_run b = run_stream<Codec>(body, body.size() + 1);
  KEYPOOL_FUZZ_CHECK(a.ok == b.ok, "stream verdict depends on how bytes were split");
  KEYPOOL_FUZZ_CHECK(a.text_seen == b.text_seen, "streamed text depends on how bytes were split");
  KEYPOOL_FUZZ_CHECK(a.error == b.error, "stream error depends on how bytes were split");
  KEYPOOL_FUZZ_CHECK(a.partial == a.text_seen, "text() disagrees with the deltas delivered");
  KEYPOOL_FUZZ_CHECK(a.calls == b.calls && a.calls_seen == b.calls_seen,
                     "streamed tool calls depend on how bytes were split");
  if (!a.ok) return;
  KEYPOOL_FUZZ_CHECK(a.text == a.text_seen, "final text disagrees with the deltas");
  KEYPOOL_FUZZ_CHECK(a.calls.size() == a.calls_seen.size(), "tool calls without deltas");
  for (std::size_t i = 0; i < a.calls.size() && i < a.calls_seen.size(); ++i) {
    const std::string& joined = a.calls_seen[i].arguments;
    if constexpr (canonical_arguments<Codec>) {
      if (std::is_same_v<Codec, wire::anthropic_messages>)
        KEYPOOL_FUZZ_CHECK(wire::detail::canonical_json(joined.empty() ? "{}" : joined, "fuzz") == a.calls[i].arguments,
                           "joined deltas are not the answer's arguments");
      else
        KEYPOOL_FUZZ_CHECK(joined == a.calls[i].arguments, "joined deltas are not the answer's arguments");
    } else {
      KEYPOOL_FUZZ_CHECK(joined == a.calls[i].arguments, "joined deltas are not the answer's arguments");
    }
    KEYPOOL_FUZZ_CHECK(a.calls_seen[i].name == a.calls[i].name, "deltas name another tool");
  }
}

void check_base64(std::string_view in) {
  const auto d = wire::base64::decode(in);
  if (!d) return;
  const std::string e = wire::base64::encode(*d);
  KEYPOOL_FUZZ_CHECK(wire::base64::decode(e) == d, "base64 round trip");
  KEYPOOL_FUZZ_CHECK(e.size() == wire::base64::encoded_size(d->size()), "base64 encoded_size");
}

void check_url(std::string_view in) {
  const auto u = keypool::http::parse_url(in);
  if (u) {
    KEYPOOL_FUZZ_CHECK(u->port != 0, "URL without a port");
    KEYPOOL_FUZZ_CHECK(!u->host.empty() && !u->target.empty() && u->target.front() == '/', "URL parts");
    return;
  }
  const std::string& msg = u.error().message;
  KEYPOOL_FUZZ_CHECK(msg.size() <= 256, "URL error message too long");
  // A query string may carry a token (Gemini's ?key=): no part of it may be
  // echoed. Checked on every 6-byte window of the query that cannot match by
  // chance: it holds a '~' (in no fixed wording), none of the characters the
  // quoting inserts or substitutes ('?' for control bytes, "...", "://***",
  // quotes) and no control byte, and the part before '?' (which may be
  // echoed) does not contain it.
  if (const auto qpos = in.find('?'); qpos != std::string_view::npos) {
    const std::string_view before = in.substr(0, qpos), query = in.substr(qpos + 1, 64);
    const auto plain = [](std::string_view w) {
      for (char ch : w) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f || std::string_view("?.:/*'").find(ch) != std::string_view::npos) return false;
      }
      return w.find('~') != std::string_view::npos;
    };
    for (std::size_t i = 0; i + 6 <= query.size(); ++i) {
      const std::string_view w = query.substr(i, 6);
      if (plain(w) && before.find(w) == std::string_view::npos)
        KEYPOOL_FUZZ_CHECK(msg.find(w) == std::string::npos, "URL error message echoes the query string");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t chunk = 1 + data[0] % 32;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  check_whole<wire::openai_chat>(body);
  check_openai_fast_path(body);
  check_whole<wire::anthropic_messages>(body);
  check_whole<wire::gemini_generate_content>(body);
  check_stream<wire::openai_chat>(body, chunk);
  check_stream<wire::anthropic_messages>(body, chunk);
  check_stream<wire::gemini_generate_content>(body, chunk);
  check_base64(body);
  check_url(body);
  return 0;
}
