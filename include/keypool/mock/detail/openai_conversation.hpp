#pragma once
/// The conversation checks of the OpenAI chat-completions format, as the API
/// makes them, with its messages and error.param: a `tool` message answers a
/// tool_call id of the assistant message before it; an assistant message with
/// tool_calls is followed by a tool message for each id; tools are function
/// tools with object parameters; tool_choice names an offered tool;
/// response_format is text, json_object or json_schema (a name, an object
/// schema); stream_options needs stream. Mistral's tool call ids are nine
/// letters or digits. What the checks find (the last turn, the tool to call,
/// the schema, streaming) goes into a `conversation`.

#include <keypool/mock/detail/conversation.hpp>
#include <keypool/mock/detail/request_shape.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::mock::detail {

/// OpenAI's spelling of a JSON type in "expected an object, but got a string".
inline std::string_view openai_json_type(const boost::json::value& v) {
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  if (v.is_bool()) return "a boolean";
  if (v.is_null()) return "null";
  return "a number";
}

inline shape_error openai_bad_type(const std::string& at, std::string_view expected, const boost::json::value& got) {
  return {"Invalid type for '" + at + "': expected " + std::string(expected) + ", but got " +
              std::string(openai_json_type(got)) + " instead.",
          400, at};
}

inline shape_error openai_missing(const std::string& at) {
  return {"Missing required parameter: '" + at + "'.", 400, at};
}

/// The text of a message's content: a string, or its text parts joined.
inline std::string openai_text(const boost::json::value* content) {
  if (!content) return {};
  if (content->is_string()) return std::string(content->get_string());
  std::string out;
  if (content->is_array())
    for (const auto& p : content->get_array())
      if (p.is_object())
        if (const auto* t = p.get_object().if_contains("text"); t && t->is_string()) out += t->get_string();
  return out;
}

/// Mistral accepts only ids of nine letters or digits.
inline bool mistral_call_id(std::string_view id) {
  return id.size() == 9 && std::all_of(id.begin(), id.end(), [](char ch) {
           return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
         });
}

/// An assistant message's tool_calls: their ids, or why not.
inline std::optional<shape_error> openai_calls(const boost::json::value& calls, const std::string& at,
                                               std::string_view provider, std::vector<std::string>& ids) {
  if (!calls.is_array()) return openai_bad_type(at, "an array", calls);
  std::size_t j = 0;
  for (const auto& call : calls.get_array()) {
    const std::string here = at + "[" + std::to_string(j++) + "]";
    if (!call.is_object()) return openai_bad_type(here, "an object", call);
    const auto* id = call.get_object().if_contains("id");
    const auto* fn = call.get_object().if_contains("function");
    if (!id || !id->is_string()) return openai_missing(here + ".id");
    if (!fn || !fn->is_object()) return openai_missing(here + ".function");
    const auto* name = fn->get_object().if_contains("name");
    const auto* args = fn->get_object().if_contains("arguments");
    if (!name || !name->is_string()) return openai_missing(here + ".function.name");
    if (!args || !args->is_string()) return openai_missing(here + ".function.arguments");
    if (provider == "mistral" && !mistral_call_id(id->get_string()))
      return shape_error{"Tool call id was " + std::string(id->get_string()) +
                         " but must be a-z, A-Z, 0-9, with a length of 9."};
    ids.emplace_back(id->get_string());
  }
  return std::nullopt;
}

/// Where a conversation stands while its messages are read in order.
struct openai_turn_state {
  std::vector<std::string> pending;  ///< ids of the last tool_calls not yet answered
  bool in_results = false;           ///< right after an assistant message with tool_calls
  std::size_t caller = 0;            ///< that assistant message's index
};

inline std::optional<shape_error> openai_unanswered(const openai_turn_state& s) {
  std::string ids;
  for (const auto& id : s.pending) ids += (ids.empty() ? "" : ", ") + id;
  return shape_error{
      "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
      "'tool_call_id'. The following tool_call_ids did not have response messages: " +
          ids,
      400, "messages.[" + std::to_string(s.caller) + "].role"};
}

inline std::optional<shape_error> openai_tool_message(const boost::json::object& m, std::size_t i, openai_turn_state& s,
                                                      conversation& c) {
  const std::string at = "messages.[" + std::to_string(i) + "]";
  if (!s.in_results)
    return shape_error{
        "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with "
        "'tool_calls'.",
        400, at + ".role"};
  const auto* id = m.if_contains("tool_call_id");
  if (!id || !id->is_string()) return openai_missing(at + ".tool_call_id");
  const auto it = std::find(s.pending.begin(), s.pending.end(), std::string_view(id->get_string()));
  if (it == s.pending.end())
    return shape_error{"Invalid parameter: 'tool_call_id' of '" + std::string(id->get_string()) +
                           "' not found in 'tool_calls' of previous message.",
                       400, at + ".tool_call_id"};
  s.pending.erase(it);
  c.last = last_turn::tool_result;
  c.tool_result = openai_text(m.if_contains("content"));
  return std::nullopt;
}

/// The role sequence (the shape of each message is checked by openai_message).
inline std::optional<shape_error> openai_turns(const boost::json::array& messages, std::string_view provider,
                                               conversation& c) {
  openai_turn_state s;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i].get_object();
    const std::string_view role = m.at("role").get_string();
    if (role == "tool") {
      if (auto e = openai_tool_message(m, i, s, c)) return e;
      continue;
    }
    if (!s.pending.empty()) return openai_unanswered(s);
    s.in_results = false;
    if (role == "user") {
      c.last = last_turn::user;
      c.last_user_text = openai_text(m.if_contains("content"));
    } else if (role == "assistant") {
      c.last = last_turn::assistant;
      if (const auto* calls = m.if_contains("tool_calls"); calls && !calls->is_null()) {
        if (auto e = openai_calls(*calls, "messages.[" + std::to_string(i) + "].tool_calls", provider, s.pending))
          return e;
        s.in_results = true;
        s.caller = i;
      }
    }
  }
  if (!s.pending.empty()) return openai_unanswered(s);
  return std::nullopt;
}

}  // namespace keypool::mock::detail
