/// The mock fleet refuses a malformed conversation as the real provider
/// does, with the provider's own message in the provider's error dialect:
/// a tool result that answers no call, a call left unanswered, Anthropic's
/// first turn by the assistant, Gemini's function response without a call,
/// tools whose parameters are not an object.

#include "mock/support.hpp"

#include <gtest/gtest.h>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace mock_validation_test {
namespace {

using namespace chatmock;

/// Sends a raw body; expects a 400 and returns its message (dialect checked).
std::string refused(std::string_view id, const std::string& body) {
  mock::provider_fleet f{quiet_fleet()};
  const auto r = post(f, id, json::parse(body).as_object(), false);
  EXPECT_EQ(r.status, 400u) << id << ": " << r.body;
  if (r.status != 400) return {};
  return error_message(id, r);
}

bool has(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

// ---- OpenAI chat completions: OpenAI, Groq, Mistral, NVIDIA, Z.AI -----------------------

class OpenAiConversation : public ::testing::TestWithParam<std::string> {
 protected:
  const std::string id = GetParam();
};

// Mistral accepts only nine-character ids: these are valid everywhere.
constexpr const char* call_turn =
    R"({"role":"assistant","content":null,"tool_calls":[{"id":"abc123XYZ","type":"function",
       "function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]})";

TEST_P(OpenAiConversation, AToolMessageMustAnswerAPrecedingToolCall) {
  const auto m = refused(id, R"({"model":"m","messages":[{"role":"user","content":"hi"},
      {"role":"tool","tool_call_id":"abc123XYZ","content":"22 C"}]})");
  EXPECT_TRUE(has(m, "messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.")) << m;
}

TEST_P(OpenAiConversation, AToolMessageMustNameACallOfThatMessage) {
  const auto m = refused(id, std::string(R"({"model":"m","messages":[{"role":"user","content":"hi"},)") + call_turn +
                                 R"(,{"role":"tool","tool_call_id":"zzz999zzz","content":"22 C"}]})");
  EXPECT_TRUE(has(m, "'tool_call_id' of 'zzz999zzz' not found in 'tool_calls' of previous message.")) << m;
}

TEST_P(OpenAiConversation, EveryToolCallMustBeAnswered) {
  const auto m = refused(id, std::string(R"({"model":"m","messages":[{"role":"user","content":"hi"},)") + call_turn +
                                 R"(,{"role":"user","content":"well?"}]})");
  EXPECT_TRUE(has(m, "The following tool_call_ids did not have response messages: abc123XYZ")) << m;
}

TEST_P(OpenAiConversation, ToolParametersMustBeAnObject) {
  const auto m = refused(id, R"({"model":"m","messages":[{"role":"user","content":"hi"}],
      "tools":[{"type":"function","function":{"name":"f","parameters":"city: string"}}]})");
  EXPECT_TRUE(has(m, "Invalid type for 'tools[0].function.parameters': expected an object, but got a string instead."))
      << m;
}

TEST_P(OpenAiConversation, ANamedToolChoiceMustBeOffered) {
  const auto m = refused(id, R"({"model":"m","messages":[{"role":"user","content":"hi"}],
      "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
      "tool_choice":{"type":"function","function":{"name":"g"}}})");
  EXPECT_TRUE(has(m, "'g'")) << m;
}

TEST_P(OpenAiConversation, AJsonSchemaNeedsAName) {
  const auto m = refused(id, R"({"model":"m","messages":[{"role":"user","content":"hi"}],
      "response_format":{"type":"json_schema","json_schema":{"schema":{"type":"object"}}}})");
  EXPECT_TRUE(has(m, "response_format.json_schema.name")) << m;
}

TEST_P(OpenAiConversation, AWellFormedToolConversationIsAccepted) {
  mock::provider_fleet f{quiet_fleet()};
  const auto body = std::string(R"({"model":"m","messages":[{"role":"user","content":"hi"},)") + call_turn +
                    R"(,{"role":"tool","tool_call_id":"abc123XYZ","content":"22 C"}]})";
  const auto r = post(f, id, json::parse(body).as_object(), false);
  EXPECT_EQ(r.status, 200u) << r.body;
}

INSTANTIATE_TEST_SUITE_P(Providers, OpenAiConversation, ::testing::Values("openai", "groq", "mistral", "nvidia", "zai"),
                         [](const auto& info) { return info.param; });

TEST(OpenAiConversationDetails, OpenAiNamesTheParam) {
  mock::provider_fleet f{quiet_fleet()};
  const auto r = post(f, "openai",
                      json::parse(R"({"model":"m","messages":[{"role":"user","content":"hi"},
      {"role":"tool","tool_call_id":"x","content":"22 C"}]})")
                          .as_object(),
                      false);
  EXPECT_EQ(json::parse(r.body).at("error").at("param"), "messages.[1].role") << r.body;
}

TEST(OpenAiConversationDetails, MistralRefusesOpenAiStyleCallIds) {
  const auto m = refused("mistral", R"({"model":"m","messages":[{"role":"user","content":"hi"},
      {"role":"assistant","content":null,"tool_calls":[{"id":"call_abc","type":"function",
       "function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_abc","content":"x"}]})");
  EXPECT_TRUE(has(m, "Tool call id was call_abc but must be a-z, A-Z, 0-9, with a length of 9.")) << m;
}

// ---- Anthropic Messages ------------------------------------------------------------------

constexpr const char* anthropic_call =
    R"({"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]})";

std::string anthropic(const std::string& messages, const std::string& extra = "") {
  return R"({"model":"m","max_tokens":16,"messages":[)" + messages + "]" + extra + "}";
}

TEST(AnthropicConversation, TheFirstTurnIsTheUsers) {
  const auto m =
      refused("anthropic", anthropic(R"({"role":"assistant","content":"Hello"},{"role":"user","content":"hi"})"));
  EXPECT_EQ(m, "messages: first message must use the \"user\" role");
}

TEST(AnthropicConversation, AToolResultMustAnswerAToolUseOfThePreviousTurn) {
  const auto m = refused("anthropic", anthropic(R"({"role":"user","content":"hi"},{"role":"assistant","content":"ok"},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_9","content":"22 C"}]})"));
  EXPECT_EQ(m,
            "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_9. Each "
            "`tool_result` block must have a corresponding `tool_use` block in the previous message.");
}

TEST(AnthropicConversation, EveryToolUseMustBeAnsweredInTheNextTurn) {
  const auto m = refused("anthropic", anthropic(std::string(R"({"role":"user","content":"hi"},)") + anthropic_call +
                                                R"(,{"role":"user","content":"well?"})"));
  EXPECT_TRUE(has(m, "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1."))
      << m;
}

TEST(AnthropicConversation, InputSchemaMustBeAnObject) {
  const auto m = refused(
      "anthropic", anthropic(R"({"role":"user","content":"hi"})", R"(,"tools":[{"name":"f","input_schema":"city"}])"));
  EXPECT_EQ(m, "tools.0.input_schema: Input should be a valid dictionary");
}

TEST(AnthropicConversation, StructuredOutputNeedsASchema) {
  const auto m = refused("anthropic", anthropic(R"({"role":"user","content":"hi"})",
                                                R"(,"output_config":{"format":{"type":"json_schema"}})"));
  EXPECT_EQ(m, "output_config.format.schema: Field required");
}

TEST(AnthropicConversation, ConsecutiveTurnsOfOneRoleAreMerged) {
  mock::provider_fleet f{quiet_fleet()};
  const auto r = post(f, "anthropic",
                      json::parse(anthropic(std::string(R"({"role":"user","content":"hi"},)") + anthropic_call +
                                            R"(,{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1",
                                            "content":[{"type":"text","text":"22 C"}]}]},{"role":"user","content":"so?"})"))
                          .as_object(),
                      false);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_TRUE(has(read_body(wire_format::anthropic_messages, r.body).text, "The tool returned: \"22 C\"")) << r.body;
}

// ---- Gemini generateContent --------------------------------------------------------------

std::string gemini(const std::string& contents, const std::string& extra = "") {
  return R"({"contents":[)" + contents + "]" + extra + "}";
}

constexpr const char* gemini_response =
    R"({"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"result":"22 C"}}}]})";

TEST(GeminiConversation, AFunctionResponseMustFollowAFunctionCall) {
  const auto m =
      refused("google", gemini(std::string(R"({"role":"user","parts":[{"text":"hi"}]},)") + gemini_response));
  EXPECT_EQ(m, "Please ensure that function response turn comes immediately after a function call turn.");
}

TEST(GeminiConversation, AsManyResponsesAsCalls) {
  const auto m = refused("google", gemini(std::string(R"({"role":"user","parts":[{"text":"hi"}]},
      {"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}},
                               {"functionCall":{"name":"get_weather","args":{"city":"Rome"}}}]},)") +
                                          gemini_response));
  EXPECT_EQ(m,
            "Please ensure that the number of function response parts is equal to the number of function call "
            "parts of the function call turn.");
}

TEST(GeminiConversation, AFunctionCallMustFollowAUserTurn) {
  const auto m = refused("google", gemini(R"({"role":"model","parts":[{"functionCall":{"name":"f","args":{}}}]})"));
  EXPECT_EQ(m,
            "Please ensure that function call turn comes immediately after a user turn or after a function "
            "response turn.");
}

TEST(GeminiConversation, ParametersMustBeAnObject) {
  const auto m = refused("google", gemini(R"({"role":"user","parts":[{"text":"hi"}]})",
                                          R"(,"tools":[{"functionDeclarations":[{"name":"f","parameters":"city"}]}])"));
  EXPECT_TRUE(has(m, "tools[0].function_declarations[0].parameters")) << m;
}

TEST(GeminiConversation, RolesAreUserAndModel) {
  const auto m = refused("google", gemini(R"({"role":"assistant","parts":[{"text":"hi"}]})"));
  EXPECT_EQ(m, "Please use a valid role: user, model.");
}

}  // namespace

}  // namespace mock_validation_test
