/// The bodies and readers of support.hpp.

#include "mock/support.hpp"

namespace chatmock {

namespace {

json::object openai_turn(const turn& t) {
  switch (t.kind) {
    case turn::user: return {{"role", "user"}, {"content", t.text}};
    case turn::call:
      return {{"role", "assistant"},
              {"content", nullptr},
              {"tool_calls",
               json::array{json::object{{"id", t.id},
                                        {"type", "function"},
                                        {"function", json::object{{"name", t.name}, {"arguments", t.arguments}}}}}}};
    case turn::result: return {{"role", "tool"}, {"tool_call_id", t.id}, {"content", t.text}};
    case turn::reply: return {{"role", "assistant"}, {"content", t.text}};
  }
  return {};
}

json::object openai_body(const std::vector<turn>& turns, const asks& a) {
  json::object b{{"model", "mock-model"}, {"max_tokens", 64}};
  json::array messages;
  for (const auto& t : turns) messages.push_back(openai_turn(t));
  b["messages"] = std::move(messages);
  if (!a.tools.empty()) {
    json::array tools;
    for (const auto& t : a.tools)
      tools.push_back(json::object{{"type", "function"},
                                   {"function", json::object{{"name", t.name}, {"parameters", t.parameters}}}});
    b["tools"] = std::move(tools);
  }
  if (!a.tool_choice.is_null()) b["tool_choice"] = a.tool_choice;
  if (a.schema)
    b["response_format"] =
        json::object{{"type", "json_schema"},
                     {"json_schema", json::object{{"name", "answer"}, {"schema", *a.schema}, {"strict", true}}}};
  if (a.stream) {
    b["stream"] = true;
    b["stream_options"] = json::object{{"include_usage", true}};
  }
  return b;
}

json::object anthropic_turn(const turn& t) {
  switch (t.kind) {
    case turn::user: return {{"role", "user"}, {"content", t.text}};
    case turn::call:
      return {
          {"role", "assistant"},
          {"content", json::array{json::object{
                          {"type", "tool_use"}, {"id", t.id}, {"name", t.name}, {"input", json::parse(t.arguments)}}}}};
    case turn::result:
      return {
          {"role", "user"},
          {"content", json::array{json::object{{"type", "tool_result"}, {"tool_use_id", t.id}, {"content", t.text}}}}};
    case turn::reply: return {{"role", "assistant"}, {"content", t.text}};
  }
  return {};
}

json::object anthropic_body(const std::vector<turn>& turns, const asks& a) {
  json::object b{{"model", "mock-model"}, {"max_tokens", 64}};
  json::array messages;
  for (const auto& t : turns) messages.push_back(anthropic_turn(t));
  b["messages"] = std::move(messages);
  if (!a.tools.empty()) {
    json::array tools;
    for (const auto& t : a.tools) tools.push_back(json::object{{"name", t.name}, {"input_schema", t.parameters}});
    b["tools"] = std::move(tools);
  }
  if (!a.tool_choice.is_null()) b["tool_choice"] = a.tool_choice;
  if (a.schema)
    b["output_config"] = json::object{{"format", json::object{{"type", "json_schema"}, {"schema", *a.schema}}}};
  if (a.stream) b["stream"] = true;
  return b;
}

json::object gemini_turn(const turn& t) {
  switch (t.kind) {
    case turn::user: return {{"role", "user"}, {"parts", json::array{json::object{{"text", t.text}}}}};
    case turn::call:
      return {{"role", "model"},
              {"parts", json::array{json::object{
                            {"functionCall", json::object{{"name", t.name}, {"args", json::parse(t.arguments)}}}}}}};
    case turn::result:
      return {
          {"role", "user"},
          {"parts",
           json::array{json::object{
               {"functionResponse", json::object{{"name", t.name}, {"response", json::object{{"result", t.text}}}}}}}}};
    case turn::reply: return {{"role", "model"}, {"parts", json::array{json::object{{"text", t.text}}}}};
  }
  return {};
}

json::object gemini_body(const std::vector<turn>& turns, const asks& a) {
  json::object b;
  json::array contents;
  for (const auto& t : turns) contents.push_back(gemini_turn(t));
  b["contents"] = std::move(contents);
  if (!a.tools.empty()) {
    json::array decls;
    for (const auto& t : a.tools) decls.push_back(json::object{{"name", t.name}, {"parameters", t.parameters}});
    b["tools"] = json::array{json::object{{"functionDeclarations", std::move(decls)}}};
  }
  if (!a.tool_choice.is_null()) b["toolConfig"] = json::object{{"functionCallingConfig", a.tool_choice}};
  if (a.schema)
    b["generationConfig"] = json::object{{"responseMimeType", "application/json"}, {"responseSchema", *a.schema}};
  return b;
}

}  // namespace

json::object request_body(std::string_view id, const std::vector<turn>& turns, const asks& a) {
  switch (wire_of(id)) {
    case wire_format::openai_chat: return openai_body(turns, a);
    case wire_format::anthropic_messages: return anthropic_body(turns, a);
    case wire_format::gemini_generate_content: return gemini_body(turns, a);
  }
  return {};
}

namespace {

answer read_openai(const json::object& o) {
  answer a;
  const auto& choice = o.at("choices").at(0).as_object();
  const auto& m = choice.at("message").as_object();
  if (m.at("content").is_string()) a.text = m.at("content").as_string();
  if (const auto* calls = m.if_contains("tool_calls")) {
    const auto& c = calls->at(0).as_object();
    a.call_id = c.at("id").as_string();
    a.call_name = c.at("function").at("name").as_string();
    a.arguments = c.at("function").at("arguments").as_string();
  }
  a.finish = choice.at("finish_reason").as_string();
  a.output_tokens = o.at("usage").at("completion_tokens").to_number<std::uint64_t>();
  return a;
}

answer read_anthropic(const json::object& o) {
  answer a;
  const auto& block = o.at("content").at(0).as_object();
  if (block.at("type") == "text") a.text = block.at("text").as_string();
  if (block.at("type") == "tool_use") {
    a.call_id = block.at("id").as_string();
    a.call_name = block.at("name").as_string();
    a.arguments = json::serialize(block.at("input"));
  }
  a.finish = o.at("stop_reason").as_string();
  a.output_tokens = o.at("usage").at("output_tokens").to_number<std::uint64_t>();
  return a;
}

void read_gemini_chunk(const json::object& o, answer& a) {
  const auto& cand = o.at("candidates").at(0).as_object();
  for (const auto& p : cand.at("content").at("parts").as_array()) {
    if (const auto* t = p.as_object().if_contains("text")) {
      a.text += t->as_string();
      ++a.fragments;
    }
    if (const auto* fc = p.as_object().if_contains("functionCall")) {
      a.call_name = fc->at("name").as_string();
      a.arguments = json::serialize(fc->at("args"));
      ++a.fragments;
    }
  }
  if (const auto* f = cand.if_contains("finishReason")) a.finish = f->as_string();
  a.output_tokens = o.at("usageMetadata").at("candidatesTokenCount").to_number<std::uint64_t>();
}

void read_openai_chunk(const json::object& o, answer& a) {
  if (const auto* u = o.if_contains("usage"); u && u->is_object())
    a.output_tokens = u->at("completion_tokens").to_number<std::uint64_t>();
  if (o.at("choices").as_array().empty()) return;
  const auto& choice = o.at("choices").at(0).as_object();
  const auto& d = choice.at("delta").as_object();
  if (const auto* c = d.if_contains("content"); c && c->is_string() && !c->as_string().empty()) {
    a.text += c->as_string();
    ++a.fragments;
  }
  if (const auto* calls = d.if_contains("tool_calls")) {
    const auto& c = calls->at(0).as_object();
    if (const auto* id = c.if_contains("id")) a.call_id = id->as_string();
    const auto& fn = c.at("function").as_object();
    if (const auto* n = fn.if_contains("name")) a.call_name = n->as_string();
    if (const auto& args = fn.at("arguments").as_string(); !args.empty()) {
      a.arguments += args;
      ++a.fragments;
    }
  }
  if (choice.at("finish_reason").is_string()) a.finish = choice.at("finish_reason").as_string();
}

void read_anthropic_event(const json::object& o, answer& a) {
  const auto type = o.at("type").as_string();
  if (type == "content_block_start") {
    const auto& b = o.at("content_block").as_object();
    if (b.at("type") == "tool_use") {
      a.call_id = b.at("id").as_string();
      a.call_name = b.at("name").as_string();
    }
  } else if (type == "content_block_delta") {
    const auto& d = o.at("delta").as_object();
    if (d.at("type") == "text_delta") a.text += d.at("text").as_string();
    if (d.at("type") == "input_json_delta") a.arguments += d.at("partial_json").as_string();
    ++a.fragments;
  } else if (type == "message_delta") {
    a.finish = o.at("delta").at("stop_reason").as_string();
    a.output_tokens = o.at("usage").at("output_tokens").to_number<std::uint64_t>();
  }
}

}  // namespace

answer read_body(wire_format w, std::string_view body) {
  const auto o = json::parse(body).as_object();
  switch (w) {
    case wire_format::openai_chat: return read_openai(o);
    case wire_format::anthropic_messages: return read_anthropic(o);
    case wire_format::gemini_generate_content: {
      answer a;
      read_gemini_chunk(o, a);
      a.fragments = 0;
      return a;
    }
  }
  return {};
}

answer read_stream(wire_format w, std::string_view body) {
  answer a;
  const auto events = sse_data(body);
  EXPECT_FALSE(events.empty()) << body;
  for (const auto& e : events) {
    if (e == "[DONE]") continue;
    const auto o = json::parse(e).as_object();
    if (w == wire_format::openai_chat) read_openai_chunk(o, a);
    if (w == wire_format::anthropic_messages) read_anthropic_event(o, a);
    if (w == wire_format::gemini_generate_content) read_gemini_chunk(o, a);
  }
  if (w == wire_format::openai_chat) {
    EXPECT_EQ(events.back(), "[DONE]");
  }
  if (w == wire_format::anthropic_messages) {
    EXPECT_EQ(json::parse(events.back()).at("type"), "message_stop");
  }
  return a;
}

std::string error_message(std::string_view id, const mock::reply& r) {
  const auto v = json::parse(r.body);
  const auto& o = v.as_object();
  if (id == "openai" || id == "groq") {
    EXPECT_EQ(o.at("error").at("type"), "invalid_request_error") << r.body;
    return std::string(o.at("error").at("message").as_string());
  }
  if (id == "mistral") {
    EXPECT_EQ(o.at("object"), "error") << r.body;
    return std::string(o.at("message").as_string());
  }
  if (id == "zai") {
    EXPECT_EQ(o.at("error").at("code"), "1214") << r.body;
    return std::string(o.at("error").at("message").as_string());
  }
  if (id == "nvidia") {
    EXPECT_EQ(o.at("status"), r.status) << r.body;
    return std::string(o.at("detail").as_string());
  }
  if (id == "anthropic") {
    EXPECT_EQ(o.at("type"), "error") << r.body;
    EXPECT_EQ(o.at("error").at("type"), "invalid_request_error") << r.body;
    return std::string(o.at("error").at("message").as_string());
  }
  EXPECT_EQ(o.at("error").at("status"), "INVALID_ARGUMENT") << r.body;
  EXPECT_EQ(o.at("error").at("code"), 400) << r.body;
  return std::string(o.at("error").at("message").as_string());
}

}  // namespace chatmock
