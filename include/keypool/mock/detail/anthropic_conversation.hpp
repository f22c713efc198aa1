#pragma once
/// The conversation checks of Anthropic's Messages format, as the API makes
/// them, in its words: consecutive turns of one role are merged into one
/// turn (documented: "consecutive user or assistant turns in your request
/// will be combined into a single turn"); the first message is the user's;
/// tool_use blocks are the assistant's and tool_result blocks the user's;
/// each tool_result answers a tool_use of the turn before, and each tool_use
/// is answered in the turn after. Then the tools (a name, an object
/// input_schema), tool_choice (auto, any, tool, none), structured output
/// (output_config.format, or the beta output_format, of type json_schema)
/// and stream. Fills a `conversation` (the last turn, the tool to call, ...).

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

/// The text of a content (a string, or its text blocks joined).
inline std::string anthropic_text(const boost::json::value* content) {
  if (!content) return {};
  if (content->is_string()) return std::string(content->get_string());
  std::string out;
  if (content->is_array())
    for (const auto& b : content->get_array())
      if (b.is_object() && b.get_object().contains("type") && b.get_object().at("type") == "text")
        if (const auto* t = b.get_object().if_contains("text"); t && t->is_string()) out += t->get_string();
  return out;
}

/// Where the conversation stands, turn by merged turn.
struct anthropic_turn_state {
  std::string role;                  ///< the current merged turn's role
  std::vector<std::string> calls;    ///< tool_use ids of the last assistant turn
  std::vector<std::string> answers;  ///< tool_result ids of the user turn after it
  std::size_t caller = 0;            ///< the index of the message with the calls
};

/// The tool_use ids of the assistant turn not answered by the user turn after it.
inline std::optional<shape_error> anthropic_unanswered(const anthropic_turn_state& s) {
  std::string missing;
  for (const auto& id : s.calls)
    if (std::find(s.answers.begin(), s.answers.end(), id) == s.answers.end())
      missing += (missing.empty() ? "" : ", ") + id;
  if (missing.empty()) return std::nullopt;
  return shape_error{"messages." + std::to_string(s.caller) +
                     ": `tool_use` ids were found without `tool_result` blocks immediately after: " + missing +
                     ". Each `tool_use` block must have a corresponding `tool_result` block in the next message."};
}

/// One content block of message `i`, against the turn state.
inline std::optional<shape_error> anthropic_turn_block(const boost::json::object& b, const std::string& at,
                                                       std::string_view role, anthropic_turn_state& s,
                                                       conversation& c) {
  const std::string_view type = b.at("type").get_string();
  if (type == "tool_use") {
    if (role != "assistant") return shape_error{at + ": `tool_use` blocks can only be in `assistant` messages"};
    s.calls.emplace_back(b.at("id").get_string());
  } else if (type == "tool_result") {
    if (role != "user") return shape_error{at + ": `tool_result` blocks can only be in `user` messages"};
    const std::string id(b.at("tool_use_id").get_string());
    if (std::find(s.calls.begin(), s.calls.end(), id) == s.calls.end())
      return shape_error{at + ": unexpected `tool_use_id` found in `tool_result` blocks: " + id +
                         ". Each `tool_result` block must have a corresponding `tool_use` block in the previous "
                         "message."};
    s.answers.push_back(id);
    c.last = last_turn::tool_result;
    c.tool_result = anthropic_text(b.if_contains("content"));
  }
  return std::nullopt;
}

/// Message `i`: a new turn when its role changes, then its blocks.
inline std::optional<shape_error> anthropic_turn(const boost::json::object& m, std::size_t i, anthropic_turn_state& s,
                                                 conversation& c) {
  const std::string_view role = m.at("role").get_string();
  if (role != s.role) {
    if (role == "assistant") {  // a user turn ends: it must have answered the calls before it
      if (auto e = anthropic_unanswered(s)) return e;
      s.calls.clear();
      s.caller = i;
    }
    s.answers.clear();
    s.role = std::string(role);
    c.last = role == "user" ? last_turn::user : last_turn::assistant;
    if (role == "user") c.last_user_text.clear();
  }
  const auto* content = m.if_contains("content");
  if (role == "user") c.last_user_text += anthropic_text(content);
  if (!content->is_array()) return std::nullopt;
  std::size_t j = 0;
  for (const auto& b : content->get_array())
    if (auto e = anthropic_turn_block(b.get_object(),
                                      "messages." + std::to_string(i) + ".content." + std::to_string(j++), role, s, c))
      return e;
  return std::nullopt;
}

inline std::optional<shape_error> anthropic_turns(const boost::json::array& messages, conversation& c) {
  if (messages[0].get_object().at("role") != "user")
    return shape_error{"messages: first message must use the \"user\" role"};
  anthropic_turn_state s;
  for (std::size_t i = 0; i < messages.size(); ++i)
    if (auto e = anthropic_turn(messages[i].get_object(), i, s, c)) return e;
  if (s.role == "user") return anthropic_unanswered(s);
  return std::nullopt;
}

}  // namespace keypool::mock::detail
