#pragma once
/// The conversation checks of Gemini's generateContent format, as the API
/// makes them, in its words: roles are user and model (a function response
/// may also come as role "function", the older form); functionCall parts are
/// the model's; a turn of functionResponse parts comes right after the
/// model's functionCall turn, with as many responses as calls; a functionCall
/// turn comes right after a user turn or a function response turn; for a
/// Gemini 3 model, the first functionCall part of each model turn since the
/// last user message carries the signature it was given (gemini_signature).
/// Fills a `conversation` (the last turn, the text to quote). Gemini accepts
/// both camelCase and snake_case field names.

#include <keypool/mock/detail/conversation.hpp>
#include <keypool/mock/detail/gemini_signature.hpp>
#include <keypool/mock/detail/request_shape.hpp>
#include <keypool/mock/detail/text.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::mock::detail {

/// A field by its camelCase or snake_case name, or null.
inline const boost::json::value* gemini_field(const boost::json::object& o, std::string_view camel,
                                              std::string_view snake) {
  const auto* v = o.if_contains(camel);
  return v ? v : o.if_contains(snake);
}

/// What one content holds.
struct gemini_turn {
  std::string_view role;
  std::size_t calls = 0;
  std::size_t responses = 0;
  std::string text;
  std::string response;           ///< the last functionResponse, as quoted
  bool first_call_signed = true;  ///< the first functionCall part has the signature it was given
};

/// A function's response as the mock quotes it: the value of a one-member
/// object when it is a string ({"result": "22 C"} -> 22 C), else its JSON.
inline std::string gemini_quote(const boost::json::value* response) {
  if (!response) return {};
  if (response->is_object() && response->get_object().size() == 1 &&
      response->get_object().begin()->value().is_string())
    return std::string(response->get_object().begin()->value().get_string());
  return to_text(*response);
}

inline gemini_turn gemini_read_turn(const boost::json::object& content) {
  gemini_turn t;
  const auto* role = content.if_contains("role");
  t.role = role && role->is_string() ? std::string_view(role->get_string()) : std::string_view("user");
  for (const auto& p : content.at("parts").get_array()) {
    const auto& po = p.get_object();
    if (const auto* text = po.if_contains("text")) t.text += text->get_string();
    if (const auto* fc = gemini_field(po, "functionCall", "function_call"); fc && t.calls++ == 0) {
      const auto* name = fc->get_object().if_contains("name");
      const auto* sig = gemini_field(po, "thoughtSignature", "thought_signature");
      t.first_call_signed = sig && sig->is_string() && name && name->is_string() &&
                            std::string_view(sig->get_string()) == gemini_signature(name->get_string());
    }
    if (const auto* r = gemini_field(po, "functionResponse", "function_response")) {
      ++t.responses;
      t.response = gemini_quote(r->get_object().if_contains("response"));
    }
  }
  return t;
}

/// One turn against the one before it.
inline std::optional<shape_error> gemini_check_turn(const gemini_turn& t, const gemini_turn* before) {
  if (t.role != "user" && t.role != "model" && t.role != "function")
    return shape_error{"Please use a valid role: user, model."};
  if (t.calls && t.role != "model") return shape_error{"Please ensure that function call turns come from the model."};
  if (t.responses) {
    if (!before || before->calls == 0)
      return shape_error{"Please ensure that function response turn comes immediately after a function call turn."};
    if (t.responses != before->calls)
      return shape_error{
          "Please ensure that the number of function response parts is equal to the number of "
          "function call parts of the function call turn."};
  }
  if (t.calls && (!before || before->role == "model"))
    return shape_error{
        "Please ensure that function call turn comes immediately after a user turn or after a "
        "function response turn."};
  return std::nullopt;
}

/// Gemini 3: the current turn (everything after the last user message that
/// is not a function response) must give every step's signature back.
inline std::optional<shape_error> gemini_check_signatures(const std::vector<gemini_turn>& turns) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < turns.size(); ++i)
    if (turns[i].role == "user" && turns[i].responses == 0) start = i;
  for (std::size_t i = start; i < turns.size(); ++i)
    if (turns[i].calls && !turns[i].first_call_signed)
      return shape_error{
          "Function call is missing a thought_signature in functionCall parts, or it was changed. "
          "Position " +
          std::to_string(i) + " of contents. See ai.google.dev/gemini-api/docs/thought-signatures."};
  return std::nullopt;
}

inline std::optional<shape_error> gemini_turns(const boost::json::array& contents, bool check_signatures,
                                               conversation& c) {
  std::optional<gemini_turn> before;
  std::vector<gemini_turn> turns;
  for (const auto& content : contents) {
    gemini_turn t = gemini_read_turn(content.get_object());
    if (auto e = gemini_check_turn(t, before ? &*before : nullptr)) return e;
    if (check_signatures) turns.push_back(t);
    if (t.responses) {
      c.last = last_turn::tool_result;
      c.tool_result = t.response;
    } else if (t.role == "model") {
      c.last = last_turn::assistant;
    } else {
      c.last = last_turn::user;
      c.last_user_text = t.text;
    }
    before = std::move(t);
  }
  return check_signatures ? gemini_check_signatures(turns) : std::nullopt;
}

}  // namespace keypool::mock::detail
