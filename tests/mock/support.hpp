#pragma once
/// What the mock's conversation tests share: raw JSON request bodies in each
/// wire format (no dependency on keypool's request model), the mock's answer
/// read back into one shape (text, tool call, finish reason) from a whole
/// body or from a stream, and each error dialect's message.

#include <keypool/mock/config.hpp>
#include <keypool/mock/providers.hpp>
#include <keypool/providers/builtin.hpp>

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatmock {

namespace json = boost::json;
namespace mock = keypool::mock;
using keypool::providers::wire_format;

/// The seven providers, by the wire format they speak.
inline const std::vector<std::string> all_providers{"openai", "groq",      "mistral", "nvidia",
                                                    "zai",    "anthropic", "google"};

inline wire_format wire_of(std::string_view id) { return keypool::providers::find_builtin(id)->wire; }

/// One key per provider, no limits, no latency.
inline mock::fleet_config quiet_fleet() {
  mock::fleet_config cfg;
  for (const auto& id : all_providers) {
    mock::provider_behavior p;
    p.id = id;
    p.keys = mock::sample_keys(id, 1);
    cfg.providers.push_back(std::move(p));
  }
  cfg.threads = 1;
  return cfg;
}

/// A tool in OpenAI's form ({type, function:{name, description, parameters}}).
struct tool {
  std::string name;
  json::object parameters;
};

inline tool weather_tool() {
  return {"get_weather", json::parse(R"({"type":"object","properties":{"city":{"type":"string"},
          "unit":{"type":"string","enum":["celsius","fahrenheit"]},"days":{"type":"integer"}},
          "required":["city","unit"]})")
                             .as_object()};
}

inline tool time_tool() {
  return {"get_time",
          json::parse(R"({"type":"object","properties":{"zone":{"type":"string"}},"required":["zone"]})").as_object()};
}

/// One turn of a conversation, neutral: the test writes it in each format.
struct turn {
  enum kind_t { user, call, result, reply } kind = user;
  std::string text{};       ///< user, reply (the assistant's text): the text; result: the tool's output
  std::string id{};         ///< call / result: the call id
  std::string name{};       ///< call / result: the function
  std::string arguments{};  ///< call: JSON text
};

/// What a request asks for beyond its turns.
struct asks {
  std::vector<tool> tools{};
  json::value tool_choice{};             ///< in the format's own spelling; null: none given
  std::optional<json::object> schema{};  ///< structured output
  bool stream = false;
};

json::object request_body(std::string_view id, const std::vector<turn>& turns, const asks& a);

/// The path of a request to `id` at the fleet.
inline std::string request_path(mock::provider_fleet& f, std::string_view id, bool stream) {
  switch (wire_of(id)) {
    case wire_format::openai_chat: return f.base_path(id) + "/chat/completions";
    case wire_format::anthropic_messages: return f.base_path(id) + "/messages";
    case wire_format::gemini_generate_content:
      return f.base_path(id) + "/models/gemini-2.5-flash" +
             (stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
  }
  return {};
}

/// The headers a request to `id` carries: its key in the provider's auth style.
inline std::vector<std::pair<std::string, std::string>> request_headers(mock::provider_fleet& f, std::string_view id) {
  const std::string secret = f.behavior(id)->keys.front().secret;
  switch (wire_of(id)) {
    case wire_format::openai_chat: return {{"authorization", "Bearer " + secret}};
    case wire_format::anthropic_messages: return {{"x-api-key", secret}, {"anthropic-version", "2023-06-01"}};
    case wire_format::gemini_generate_content: return {{"x-goog-api-key", secret}};
  }
  return {};
}

/// Sends `body` to the fleet's provider `id` (without sockets).
inline mock::reply post(mock::provider_fleet& f, std::string_view id, const json::object& body, bool stream) {
  const auto headers = request_headers(f, id);
  const std::string text = json::serialize(body);
  return f.handle(
      "POST", request_path(f, id, stream),
      [&headers](std::string_view n) -> std::optional<std::string_view> {
        for (const auto& [k, v] : headers)
          if (k == n) return std::string_view(v);
        return std::nullopt;
      },
      text);
}

/// The mock's answer, whatever the format and delivery.
struct answer {
  std::string text;
  std::string call_id;
  std::string call_name;
  std::string arguments;  ///< JSON text, as the format carries it or as the stream reassembles it
  std::string finish;
  std::size_t fragments = 0;  ///< streamed: how many pieces the text or arguments came in
  std::optional<std::uint64_t> output_tokens;
};

answer read_body(wire_format w, std::string_view body);
answer read_stream(wire_format w, std::string_view body);

/// The `data:` payloads of a server-sent event stream.
inline std::vector<std::string> sse_data(std::string_view body) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string_view::npos) {
    auto end = body.find_first_of("\r\n", pos);
    out.emplace_back(body.substr(pos + 6, end - pos - 6));
    pos = end;
  }
  return out;
}

/// The error message of a refusal, after checking the dialect's shape.
std::string error_message(std::string_view id, const mock::reply& r);

}  // namespace chatmock
