/// Request encoding in the three wire formats, compared as parsed JSON with
/// golden bodies written from the providers' published examples
/// (tests/wire/golden/<format>/<feature>.json, each naming its source page),
/// and the checks that refuse a request before anything is sent.

#include <keypool/wire/anthropic_messages.hpp>
#include <keypool/wire/gemini_generate_content.hpp>
#include <keypool/wire/openai_chat.hpp>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace wire = keypool::wire;
namespace json = boost::json;

constexpr const char* fake_key = "test-FAKE-key-not-real-0000";
const std::string png_bytes = "\x89PNG\r\n\x1a\n";  // base64: iVBORw0KGgo=

json::object golden(const std::string& name) {
  std::ifstream in(std::string(KEYPOOL_TEST_DIR) + "/golden/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return json::parse(s.str()).as_object();
}

template <class Codec>
json::value body_of(const wire::chat_request& r, const typename Codec::options& o = {}) {
  auto e = Codec::encode(r, fake_key, o);
  if (!e) ADD_FAILURE() << e.error().message;
  return e ? json::parse(e->body) : json::value();
}

template <class Codec>
wire::encode_error error_of(const wire::chat_request& r, const typename Codec::options& o = {}) {
  auto e = Codec::encode(r, fake_key, o);
  if (e) {
    ADD_FAILURE() << "encoded: " << e->body;
    return {};
  }
  return e.error();
}

#define EXPECT_GOLDEN(body, file) \
  EXPECT_EQ(body, golden(file).at("body")) << "got " << json::serialize(body) << "\nwant " << golden(file).at("body")

wire::tool weather_tool() {
  return {
      "get_weather",
      "Get the current weather in a given location",
      R"({"type":"object","properties":{"location":{"type":"string","description":"The city and state, e.g. San Francisco, CA"},)"
      R"("unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["location"]})",
      {}};
}

wire::tool temperature_tool() {
  return {
      "get_current_temperature",
      "Gets the current temperature for a given location.",
      R"({"type":"object","properties":{"location":{"type":"string","description":"The city name, e.g. San Francisco"}},"required":["location"]})",
      {}};
}

const char* event_schema =
    R"({"type":"object","properties":{"name":{"type":"string"},"date":{"type":"string"},)"
    R"("participants":{"type":"array","items":{"type":"string"}}},"required":["name","date","participants"],"additionalProperties":false})";

wire::chat_request event_request(std::string model) {
  wire::chat_request r;
  r.model = std::move(model);
  r.messages = {wire::message::system("Extract the event information."),
                wire::message::user("Alice and Bob are going to a science fair on Friday.")};
  r.response_format = wire::response_format::json_schema("calendar_event", event_schema, true);
  return r;
}

// ---------------------------------------------------------------- openai_chat

TEST(EncodeOpenAi, ConversationWithToolTurns) {
  wire::chat_request r;
  r.model = "gpt-4o";
  r.messages = {wire::message::system("You are a weather assistant."),
                wire::message::user("What's the weather like in Paris today?"),
                wire::message::assistant("", {{"call_12345xyz", "get_weather", R"({"location":"Paris, France"})"}}),
                wire::message::tool_result("call_12345xyz", "15 degrees"),
                wire::message::assistant("It is 15 degrees Celsius in Paris."),
                wire::message::user("And in Bogot\xC3\xA1?")};
  r.tools = {weather_tool()};
  EXPECT_GOLDEN(body_of<wire::openai_chat>(r), "openai_chat/conversation.json");
}

TEST(EncodeOpenAi, ToolChoiceVariants) {
  wire::chat_request r;
  r.model = "gpt-4o";
  r.prompt = "What's the weather like in Paris today?";
  r.tools = {weather_tool()};
  r.tools[0].strict = true;
  r.tool_choice = wire::tool_choice::of("get_weather");
  r.parallel_tool_calls = false;
  EXPECT_GOLDEN(body_of<wire::openai_chat>(r), "openai_chat/tool_choice.json");
  r.parallel_tool_calls.reset();
  const auto g = golden("openai_chat/tool_choice.json");
  for (auto [mode, key] : {std::pair{wire::tool_choice_mode::automatic, "auto"},
                           {wire::tool_choice_mode::none, "none"},
                           {wire::tool_choice_mode::required, "required"}}) {
    r.tool_choice = wire::tool_choice{mode, {}};
    EXPECT_EQ(body_of<wire::openai_chat>(r).at("tool_choice"), g.at(key).at("tool_choice")) << key;
  }
}

TEST(EncodeOpenAi, JsonSchemaAndJsonObject) {
  auto r = event_request("gpt-4o");
  EXPECT_GOLDEN(body_of<wire::openai_chat>(r), "openai_chat/json_schema.json");
  r.response_format = wire::response_format::json();
  EXPECT_EQ(body_of<wire::openai_chat>(r).at("response_format"),
            golden("openai_chat/json_schema.json").at("json_object"));
}

TEST(EncodeOpenAi, ImagesByUrlAndInline) {
  wire::chat_request r;
  r.model = "gpt-4o";
  r.max_tokens = 300;
  wire::message m = wire::message::user("What's in these images?");
  m.content.push_back(wire::content_part::of_url(
      "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/"
      "2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"));
  m.content.push_back(wire::content_part::of_image({png_bytes, "image/png"}));
  r.messages = {m};
  EXPECT_GOLDEN(body_of<wire::openai_chat>(r), "openai_chat/images.json");
  // Mistral's documented form: the URL as a plain string.
  wire::openai_chat::options o;
  o.images = wire::openai_chat::image_form::data_url_string;
  const auto b = body_of<wire::openai_chat>(r, o);
  EXPECT_EQ(b.at("messages").at(0).at("content").at(2).at("image_url"), "data:image/png;base64,iVBORw0KGgo=");
  // Older NVIDIA VLMs take <img> tags in a string: inline only.
  o.images = wire::openai_chat::image_form::inline_img_tag;
  const auto e = error_of<wire::openai_chat>(r, o);
  EXPECT_EQ(e.code, wire::encode_errc::unsupported);
  EXPECT_NE(e.message.find("messages[0].content[1]"), std::string::npos) << e.message;
  r.messages[0].content.erase(r.messages[0].content.begin() + 1);
  EXPECT_EQ(body_of<wire::openai_chat>(r, o).at("messages").at(0).at("content"),
            "What's in these images? <img src=\"data:image/png;base64,iVBORw0KGgo=\" />");
}

TEST(EncodeOpenAi, SamplingFieldsAndDeveloperRole) {
  wire::chat_request r;
  r.model = "o4-mini";
  r.messages = {wire::message::of(wire::role::developer, "Answer in one word."), wire::message::user("Hello!")};
  r.max_tokens = 50;
  r.temperature = 0.2;
  r.top_p = 0.9;
  r.stop = {"\n\n", "END"};
  r.seed = 42;
  r.user = "user-1234";
  wire::openai_chat::options o;
  o.max_tokens_field = "max_completion_tokens";
  o.dialect = wire::openai_dialect::of("openai");
  EXPECT_GOLDEN(body_of<wire::openai_chat>(r, o), "openai_chat/sampling.json");
  // Providers that do not know "developer" get it as "system".
  o.dialect = wire::openai_dialect::of("groq");
  EXPECT_EQ(body_of<wire::openai_chat>(r, o).at("messages").at(0).at("role"), "system");
}

TEST(EncodeOpenAi, ExtraIsPassedThroughVerbatim) {
  wire::chat_request r;
  r.model = "gpt-4o";
  r.prompt = "Hello!";
  r.extra = R"({"logprobs": true, "top_logprobs": 2, "frequency_penalty": 0.5, "metadata": {"ticket": "T-1"}})";
  wire::openai_chat::options o;
  o.stream = true;
  EXPECT_GOLDEN(body_of<wire::openai_chat>(r, o), "openai_chat/extra.json");
  r.extra = "{ }";
  EXPECT_FALSE(body_of<wire::openai_chat>(r).as_object().contains("logprobs"));
  // A member keypool writes itself would appear twice.
  for (const char* taken :
       {R"({"model":"x"})", R"({"stream":true})", R"({"tool_choice":"auto"})", R"({"a":1,"max_tokens":5})"}) {
    r.extra = taken;
    const auto e = error_of<wire::openai_chat>(r);
    EXPECT_EQ(e.code, wire::encode_errc::invalid_json) << taken;
    EXPECT_NE(e.message.find("extra."), std::string::npos) << e.message;
  }
  // Only openai_chat bodies carry it.
  r.extra = R"({"logprobs": true})";
  EXPECT_FALSE(body_of<wire::anthropic_messages>(r).as_object().contains("logprobs"));
  EXPECT_FALSE(body_of<wire::gemini_generate_content>(r).as_object().contains("logprobs"));
}

TEST(EncodeOpenAi, MistralDialect) {
  wire::chat_request r;
  r.model = "mistral-large-latest";
  r.messages = {
      wire::message::of(wire::role::developer, "Be brief."),
      wire::message::user("What's the status of my transaction T1001?"),
      wire::message::assistant("", {{"D681PevKs", "retrieve_payment_status", R"({"transaction_id": "T1001"})"}}),
      wire::message::tool_result("D681PevKs", R"({"status": "Paid"})")};
  r.tools = {
      {"retrieve_payment_status",
       "Get payment status of a transaction",
       R"({"type": "object", "properties": {"transaction_id": {"type": "string", "description": "The transaction id."}}, "required": ["transaction_id"]})",
       {}}};
  r.tool_choice = wire::tool_choice{wire::tool_choice_mode::required, {}};
  r.seed = 7;
  wire::openai_chat::options o;
  o.dialect = wire::openai_dialect::of("mistral");
  EXPECT_GOLDEN(body_of<wire::openai_chat>(r, o), "openai_chat/mistral.json");

  // An id from another provider becomes 9 characters [a-zA-Z0-9], the same
  // in the call and in the tool turn that answers it.
  r.messages[2].tool_calls[0].id = "call_PTLP8xhu3uwZk4l3nlnrrJha";
  r.messages[3].tool_call_id = "call_PTLP8xhu3uwZk4l3nlnrrJha";
  const auto b = body_of<wire::openai_chat>(r, o);
  const auto id = b.at("messages").at(2).at("tool_calls").at(0).at("id").as_string();
  EXPECT_EQ(id.size(), 9u);
  for (char c : id) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << id;
  EXPECT_EQ(b.at("messages").at(3).at("tool_call_id"), id);
  EXPECT_NE(id, "D681PevKs");

  r.user = "user-1";
  const auto e = error_of<wire::openai_chat>(r, o);
  EXPECT_EQ(e.code, wire::encode_errc::unsupported);
  EXPECT_EQ(e.message, "openai_chat (mistral): user is not supported by this provider");
}

TEST(EncodeOpenAi, ZaiDialectRefusesWhatItCannotExpress) {
  wire::openai_chat::options o;
  o.dialect = wire::openai_dialect::of("zai");
  auto r = event_request("glm-4.6");
  auto e = error_of<wire::openai_chat>(r, o);
  EXPECT_EQ(e.code, wire::encode_errc::unsupported);
  EXPECT_NE(e.message.find("openai_chat (zai): response_format json_schema"), std::string::npos) << e.message;
  r.response_format = wire::response_format::json();
  EXPECT_EQ(body_of<wire::openai_chat>(r, o).at("response_format").at("type"), "json_object");
  r.tools = {weather_tool()};
  r.tool_choice = wire::tool_choice{wire::tool_choice_mode::required, {}};
  EXPECT_EQ(error_of<wire::openai_chat>(r, o).code, wire::encode_errc::unsupported);
  r.tool_choice = wire::tool_choice{};
  r.user = "u-1";
  EXPECT_EQ(body_of<wire::openai_chat>(r, o).at("user_id"), "u-1");
  r.seed = 1;
  EXPECT_NE(error_of<wire::openai_chat>(r, o).message.find("seed"), std::string::npos);
  EXPECT_TRUE(wire::openai_chat::unsupported(r, o));
  EXPECT_FALSE(wire::openai_chat::unsupported(r, {}));
}

// ---------------------------------------------------------------- anthropic_messages

TEST(EncodeAnthropic, ConversationMergesToolResultAndText) {
  wire::chat_request r;
  r.model = "claude-sonnet-4-5";
  r.messages = {wire::message::system("You are a weather assistant."),
                wire::message::user("What's the weather like in San Francisco?"),
                wire::message::assistant("I'll check the current weather in San Francisco for you.",
                                         {{"toolu_01A09q90qw90lq917835lq9", "get_weather",
                                           R"({"location": "San Francisco, CA", "unit": "celsius"})"}}),
                wire::message::tool_result("toolu_01A09q90qw90lq917835lq9", "15 degrees"),
                wire::message::user("Answer in Fahrenheit, please.")};
  r.tools = {weather_tool()};
  EXPECT_GOLDEN(body_of<wire::anthropic_messages>(r), "anthropic_messages/conversation.json");
}

TEST(EncodeAnthropic, ParallelResultsInOneTurnAndToolChoice) {
  wire::chat_request r;
  r.model = "claude-sonnet-4-5";
  r.system = "You are a weather assistant.";
  r.messages = {wire::message::of(wire::role::developer, "Use Celsius."),
                wire::message::user("What's the weather in SF and NYC?"),
                wire::message::assistant("", {{"toolu_01", "get_weather", R"({"location": "San Francisco, CA"})"},
                                              {"toolu_02", "get_weather", R"({"location": "New York, NY"})"}}),
                wire::message::tool_result("toolu_01",
                                           "68\xC2\xB0"
                                           "F, sunny"),
                wire::message::tool_result("toolu_02",
                                           "45\xC2\xB0"
                                           "F, cloudy")};
  r.tools = {weather_tool()};
  r.tools[0].strict = true;
  r.tool_choice = wire::tool_choice::of("get_weather");
  r.parallel_tool_calls = false;
  EXPECT_GOLDEN(body_of<wire::anthropic_messages>(r), "anthropic_messages/parallel_results.json");
  r.parallel_tool_calls.reset();
  const auto g = golden("anthropic_messages/parallel_results.json");
  for (auto [mode, key] : {std::pair{wire::tool_choice_mode::automatic, "auto"},
                           {wire::tool_choice_mode::none, "none"},
                           {wire::tool_choice_mode::required, "required"}}) {
    r.tool_choice = wire::tool_choice{mode, {}};
    EXPECT_EQ(body_of<wire::anthropic_messages>(r).at("tool_choice"), g.at(key)) << key;
  }
}

TEST(EncodeAnthropic, JsonSchemaIsOutputConfigFormat) {
  EXPECT_GOLDEN(body_of<wire::anthropic_messages>(event_request("claude-sonnet-4-5")),
                "anthropic_messages/json_schema.json");
  auto r = event_request("claude-sonnet-4-5");
  r.response_format = wire::response_format::json();
  const auto e = error_of<wire::anthropic_messages>(r);
  EXPECT_EQ(e.code, wire::encode_errc::unsupported);
  EXPECT_EQ(e.message,
            "anthropic_messages: response_format json_object (use json_schema) is not supported by this provider");
}

TEST(EncodeAnthropic, ImagesByUrlAndInline) {
  wire::chat_request r;
  r.model = "claude-sonnet-4-5";
  r.max_tokens = 300;
  wire::message m;
  m.content = {wire::content_part::of_url(
                   "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"),
               wire::content_part::of_image({png_bytes, "image/png"}),
               wire::content_part::of_text("Compare these images.")};
  r.messages = {m};
  EXPECT_GOLDEN(body_of<wire::anthropic_messages>(r), "anthropic_messages/images.json");
}

TEST(EncodeAnthropic, SamplingFieldsAndWhatItCannotExpress) {
  wire::chat_request r;
  r.model = "claude-sonnet-4-5";
  r.messages = {wire::message::of(wire::role::developer, "Answer in one word."), wire::message::user("Hello!")};
  r.max_tokens = 50;
  r.temperature = 0.2;
  r.top_p = 0.9;
  r.stop = {"\n\n", "END"};
  r.user = "user-1234";
  EXPECT_GOLDEN(body_of<wire::anthropic_messages>(r), "anthropic_messages/sampling.json");
  r.seed = 42;
  EXPECT_EQ(error_of<wire::anthropic_messages>(r).message,
            "anthropic_messages: seed is not supported by this provider");
  r.seed.reset();
  r.messages.push_back(wire::message::assistant("look"));
  r.messages.back().content.push_back(wire::content_part::of_image({png_bytes, "image/png"}));
  EXPECT_NE(error_of<wire::anthropic_messages>(r).message.find("an image in a assistant turn (messages[2])"),
            std::string::npos);
}

// ---------------------------------------------------------------- gemini_generate_content

TEST(EncodeGemini, ConversationWithFunctionCallsAndResponses) {
  wire::chat_request r;
  r.model = "gemini-2.5-flash";
  r.messages = {wire::message::system("You are a weather assistant."),
                wire::message::user("What's the temperature in London?"),
                wire::message::assistant("", {{"c1", "get_current_temperature", R"({"location": "London"})"},
                                              {"c2", "get_current_temperature", R"({"location": "Paris"})"}}),
                wire::message::tool_result("c1", R"({"temperature": 25, "unit": "Celsius"})"),
                wire::message::tool_result("c2", "no data for Paris"),
                wire::message::assistant("It is 25 \xC2\xB0"
                                         "C in London."),
                wire::message::user("Thanks!")};
  r.tools = {temperature_tool()};
  auto b = body_of<wire::gemini_generate_content>(r);
  // The fixture shows one call in the model turn: compare the rest, then the two calls.
  auto& model_parts = b.at("contents").at(1).at("parts").as_array();
  ASSERT_EQ(model_parts.size(), 2u);
  EXPECT_EQ(model_parts[1].at("functionCall").at("args").at("location"), "Paris");
  model_parts.pop_back();
  EXPECT_GOLDEN(b, "gemini_generate_content/conversation.json");
  // A tool turn may name its function itself.
  r.messages[4].name = "other_name";
  EXPECT_EQ(body_of<wire::gemini_generate_content>(r)
                .at("contents")
                .at(2)
                .at("parts")
                .at(1)
                .at("functionResponse")
                .at("name"),
            "other_name");
}

TEST(EncodeGemini, ToolConfigModesAndOpenApiSchemaFields) {
  wire::chat_request r;
  r.model = "gemini-2.5-flash";
  r.prompt = "What's the temperature in London?";
  r.tools = {temperature_tool()};
  r.tool_choice = wire::tool_choice::of("get_current_temperature");
  wire::gemini_generate_content::options o;
  o.schema_fields = wire::gemini_schema_fields::openapi;
  EXPECT_GOLDEN(body_of<wire::gemini_generate_content>(r, o), "gemini_generate_content/tool_config.json");
  const auto g = golden("gemini_generate_content/tool_config.json");
  for (auto [mode, key] : {std::pair{wire::tool_choice_mode::automatic, "auto"},
                           {wire::tool_choice_mode::none, "none"},
                           {wire::tool_choice_mode::required, "required"}}) {
    r.tool_choice = wire::tool_choice{mode, {}};
    EXPECT_EQ(body_of<wire::gemini_generate_content>(r).at("toolConfig"), g.at(key)) << key;
  }
}

TEST(EncodeGemini, JsonSchemaAndJsonMode) {
  auto r = event_request("gemini-2.5-flash");
  EXPECT_GOLDEN(body_of<wire::gemini_generate_content>(r), "gemini_generate_content/json_schema.json");
  wire::gemini_generate_content::options o;
  o.schema_fields = wire::gemini_schema_fields::openapi;
  EXPECT_TRUE(
      body_of<wire::gemini_generate_content>(r, o).at("generationConfig").as_object().contains("responseSchema"));
  r.response_format = wire::response_format::json();
  EXPECT_EQ(body_of<wire::gemini_generate_content>(r).at("generationConfig"),
            golden("gemini_generate_content/json_schema.json").at("json_object"));
}

TEST(EncodeGemini, SamplingFieldsAndWhatItCannotExpress) {
  wire::chat_request r;
  r.model = "gemini-2.5-flash";
  r.system = "Answer in one word.";
  r.prompt = "Caption this image.";
  r.images = {{png_bytes, "image/png"}};
  r.max_tokens = 50;
  r.temperature = 0.2;
  r.top_p = 0.9;
  r.seed = 42;
  r.stop = {"\n\n", "END"};
  EXPECT_GOLDEN(body_of<wire::gemini_generate_content>(r), "gemini_generate_content/sampling.json");
  r.user = "u-1";
  EXPECT_EQ(error_of<wire::gemini_generate_content>(r).message,
            "gemini_generate_content: user is not supported by this provider");
  r.user.clear();
  r.prompt.clear();
  r.images.clear();
  wire::message m = wire::message::user("What is this?");
  m.content.push_back(wire::content_part::of_url("https://example.com/a.png"));
  r.messages = {m};
  const auto e = error_of<wire::gemini_generate_content>(r);
  EXPECT_EQ(e.code, wire::encode_errc::unsupported);
  EXPECT_NE(e.message.find("an image by URL (messages[0].content[1]"), std::string::npos) << e.message;
}

// ---------------------------------------------------------------- validation, every format

template <class Codec>
class EncodeChecks : public ::testing::Test {};
using codecs = ::testing::Types<wire::openai_chat, wire::anthropic_messages, wire::gemini_generate_content>;
TYPED_TEST_SUITE(EncodeChecks, codecs);

wire::chat_request tool_conversation() {
  wire::chat_request r;
  r.model = "m";
  r.messages = {wire::message::user("weather?"),
                wire::message::assistant("", {{"call_1", "get_weather", R"({"location":"Paris"})"}}),
                wire::message::tool_result("call_1", "15 degrees")};
  r.tools = {weather_tool()};
  return r;
}

template <class Codec>
void expect_error(const wire::chat_request& r, wire::encode_errc code, std::string_view where) {
  const auto e = error_of<Codec>(r);
  EXPECT_EQ(e.code, code) << e.message;
  EXPECT_NE(e.message.find(where), std::string::npos) << e.message;
  EXPECT_EQ(e.message.rfind(std::string(Codec::name) + ": ", 0), 0u) << e.message;
}

TYPED_TEST(EncodeChecks, TheValidConversationEncodes) { (void)body_of<TypeParam>(tool_conversation()); }

TYPED_TEST(EncodeChecks, ToolResultWithoutAMatchingCall) {
  auto r = tool_conversation();
  r.messages[2].tool_call_id = "call_2";
  expect_error<TypeParam>(r, wire::encode_errc::invalid_message,
                          "messages[2].tool_call_id 'call_2' answers no tool call");
  // A call made later does not count.
  r = tool_conversation();
  std::swap(r.messages[1], r.messages[2]);
  expect_error<TypeParam>(r, wire::encode_errc::invalid_message, "messages[1].tool_call_id");
  r = tool_conversation();
  r.messages[2].tool_call_id.clear();
  expect_error<TypeParam>(r, wire::encode_errc::invalid_message, "messages[2].tool_call_id is empty");
}

TYPED_TEST(EncodeChecks, ArgumentsThatAreNotAJsonObject) {
  auto r = tool_conversation();
  for (const char* bad : {R"({"location":)", "[1,2]", "\"Paris\"", "{\"a\":\"\xFF\"}"}) {
    r.messages[1].tool_calls[0].arguments = bad;
    expect_error<TypeParam>(r, wire::encode_errc::invalid_json, "messages[1].tool_calls[0].arguments is not");
  }
}

TYPED_TEST(EncodeChecks, SchemasThatAreNotJsonObjects) {
  auto r = tool_conversation();
  r.tools[0].parameters = R"(["type","object"])";
  expect_error<TypeParam>(r, wire::encode_errc::invalid_json, "tools[0].parameters is not a JSON object");
  r = tool_conversation();
  r.response_format = wire::response_format::json_schema("x", "{\"type\":");
  expect_error<TypeParam>(r, wire::encode_errc::invalid_json, "response_format.schema is not valid JSON");
  r.response_format = wire::response_format::json_schema("", "{}");
  expect_error<TypeParam>(r, wire::encode_errc::invalid_json, "response_format.name is empty");
  r = tool_conversation();
  r.extra = "[]";
  expect_error<TypeParam>(r, wire::encode_errc::invalid_json, "extra is not a JSON object");
}

TYPED_TEST(EncodeChecks, ImageUrlsMustBeHttps) {
  auto r = tool_conversation();
  for (const char* bad : {"http://example.com/a.png", "file:///etc/passwd", "https://", "data:image/png;base64,AA",
                          "https://example.com/a b.png"}) {
    r.messages[0].content.push_back(wire::content_part::of_url(bad));
    expect_error<TypeParam>(r, wire::encode_errc::invalid_url, "messages[0].content[1].url");
    r.messages[0].content.pop_back();
  }
}

TYPED_TEST(EncodeChecks, EmptyConversationAndEmptyTurns) {
  wire::chat_request r;
  r.model = "m";
  expect_error<TypeParam>(r, wire::encode_errc::empty_request, "nothing to send");
  r.messages = {wire::message{}};
  expect_error<TypeParam>(r, wire::encode_errc::invalid_message, "messages[0] has no content");
  r.messages = {wire::message::user("hi")};
  r.prompt = "and this?";
  expect_error<TypeParam>(r, wire::encode_errc::invalid_message, "both messages and prompt");
}

TYPED_TEST(EncodeChecks, InvalidUtf8IsNamedByPlace) {
  auto r = tool_conversation();
  r.messages[0].content[0].text = "caf\xC3";
  expect_error<TypeParam>(r, wire::encode_errc::invalid_text,
                          "messages[0].content[0].text is not valid UTF-8 (byte 3)");
  r = tool_conversation();
  r.stop = {"ok", "\xE2\x82"};
  expect_error<TypeParam>(r, wire::encode_errc::invalid_text, "stop[1] is not valid UTF-8");
  r = tool_conversation();
  r.tools[0].description = "\xC0\xAF";
  expect_error<TypeParam>(r, wire::encode_errc::invalid_text, "tools[0].description");
}

TYPED_TEST(EncodeChecks, MisplacedToolFieldsAndUnknownToolChoice) {
  auto r = tool_conversation();
  r.messages[0].tool_calls = r.messages[1].tool_calls;
  expect_error<TypeParam>(r, wire::encode_errc::invalid_message, "messages[0].tool_calls on a user turn");
  r = tool_conversation();
  r.messages[0].tool_call_id = "call_1";
  expect_error<TypeParam>(r, wire::encode_errc::invalid_message, "messages[0].tool_call_id on a non-tool turn");
  r = tool_conversation();
  r.tool_choice = wire::tool_choice::of("get_time");
  expect_error<TypeParam>(r, wire::encode_errc::invalid_tool, "tool_choice names 'get_time'");
  r.tools.clear();
  r.tool_choice = wire::tool_choice{wire::tool_choice_mode::required, {}};
  expect_error<TypeParam>(r, wire::encode_errc::invalid_tool, "no tools are given");
  r = tool_conversation();
  r.tools[0].name.clear();
  expect_error<TypeParam>(r, wire::encode_errc::invalid_tool, "tools[0].name is empty");
  r = tool_conversation();
  r.messages[1].tool_calls[0].name.clear();
  expect_error<TypeParam>(r, wire::encode_errc::invalid_message, "messages[1].tool_calls[0].name is empty");
}

TYPED_TEST(EncodeChecks, ShortFormStillBuildsOneUserTurn) {
  wire::chat_request r;
  r.model = "m";
  r.prompt = "hi";
  r.system = "be brief";
  const auto b = body_of<TypeParam>(r);
  EXPECT_NE(json::serialize(b).find("\"hi\""), std::string::npos);
  EXPECT_NE(json::serialize(b).find("be brief"), std::string::npos);
}

}  // namespace
