// Providers declared in the .env (P_FORMAT + P_BASE_URL): their
// descriptors, their keys read by build_key_config, and the errors that name
// the variable (never its value) when a declaration is incomplete.

#include <keypool/config/dotenv.hpp>
#include <keypool/config/env_keys.hpp>
#include <keypool/config/env_providers.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace keypool::config;
namespace kp = keypool::providers;

const diagnostic* find_diag(const std::vector<diagnostic>& ds, std::string_view variable) {
  for (const auto& d : ds)
    if (d.variable == variable) return &d;
  return nullptr;
}

TEST(EnvProviders, FormatAndBaseUrlDeclareAProviderWhoseKeysAreRead) {
  const auto doc = parse_dotenv(
      "TOGETHER_BASE_URL=https://api.together.xyz/v1/\n"
      "TOGETHER_FORMAT=openai_chat\n"
      "TOGETHER_MODELS=meta-llama/Llama-3.3-70B, qwen/q3 ,,meta-llama/Llama-3.3-70B\n"
      "TOGETHER_API_KEY_2=FAKE-together-two\n"
      "TOGETHER_API_KEY_1=FAKE-together-one\n"
      "MY_CLAUDE_BASE_URL=http://127.0.0.1:9/anthropic/v1\n"
      "MY_CLAUDE_FORMAT=anthropic_messages\n"
      "GEM_BASE_URL=https://example.com/v1beta\n"
      "GEM_FORMAT=gemini_generate_content\n",
      "t.env");
  const auto d = declare_providers(doc, {});
  EXPECT_TRUE(d.diagnostics.empty()) << d.diagnostics.front().to_string();
  ASSERT_EQ(d.providers.size(), 3u);
  const auto* t = d.find("together");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->descriptor.env_prefix, "TOGETHER");
  EXPECT_EQ(t->descriptor.display_name, "TOGETHER");
  EXPECT_EQ(t->descriptor.base_url, "https://api.together.xyz/v1");
  EXPECT_EQ(t->descriptor.wire, kp::wire_format::openai_chat);
  EXPECT_EQ(t->descriptor.auth, kp::auth_style::bearer);
  EXPECT_EQ(t->models, (std::vector<std::string>{"meta-llama/Llama-3.3-70B", "qwen/q3"}));
  EXPECT_EQ(t->source.line, 2u);
  const auto* c = d.find("my_claude");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->descriptor.auth, kp::auth_style::x_api_key);
  EXPECT_EQ(c->descriptor.errors, kp::error_dialect::anthropic);
  EXPECT_FALSE(c->descriptor.extra_headers.empty());
  const auto* g = d.find("gem");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->descriptor.auth, kp::auth_style::x_goog_api_key);

  const auto list = d.descriptors();
  EXPECT_EQ(list.size(), kp::builtin_descriptors().size() + 3);
  const auto cfg = build_key_config(doc, {}, list);
  const auto* pc = cfg.find("together");
  ASSERT_NE(pc, nullptr);
  ASSERT_EQ(pc->keys.size(), 2u);
  EXPECT_EQ(pc->keys[0].spec.variable, "TOGETHER_API_KEY_1");
  EXPECT_EQ(pc->provider.base_url, "https://api.together.xyz/v1");
  EXPECT_FALSE(cfg.has_errors());
}

TEST(EnvProviders, TheEnvironmentDeclaresTooAndWinsOverTheFile) {
  const auto doc = parse_dotenv("TOGETHER_FORMAT=nonsense\nTOGETHER_BASE_URL=https://a.example/v1\n", "t.env");
  const environment env{{"TOGETHER_FORMAT", "openai_chat"}, {"TOGETHER_BASE_URL", "https://b.example/v1"}};
  const auto d = declare_providers(doc, env);
  EXPECT_TRUE(d.diagnostics.empty());
  ASSERT_EQ(d.providers.size(), 1u);
  EXPECT_EQ(d.providers[0].descriptor.base_url, "https://b.example/v1");
  EXPECT_EQ(d.providers[0].source.file, environment_source);
}

TEST(EnvProviders, BadFormatIsAnErrorNamingTheVariableNotTheValue) {
  const auto doc = parse_dotenv(
      "TOGETHER_BASE_URL=https://api.together.xyz/v1\nTOGETHER_FORMAT=openai-chat-SECRETISH\n"
      "TOGETHER_API_KEY_1=FAKE-key\n",
      "t.env");
  const auto d = declare_providers(doc, {});
  EXPECT_TRUE(d.providers.empty());
  const auto* e = find_diag(d.diagnostics, "TOGETHER_FORMAT");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->level, severity::error);
  EXPECT_EQ(e->file, "t.env");
  EXPECT_EQ(e->line, 2u);
  EXPECT_NE(e->message.find("openai_chat, anthropic_messages or gemini_generate_content"), std::string::npos);
  EXPECT_EQ(e->to_string().find("SECRETISH"), std::string::npos);
}

TEST(EnvProviders, FormatWithoutBaseUrlNamesTheMissingVariable) {
  const auto d = declare_providers(parse_dotenv("TOGETHER_FORMAT=openai_chat\n", "t.env"), {});
  EXPECT_TRUE(d.providers.empty());
  const auto* e = find_diag(d.diagnostics, "TOGETHER_FORMAT");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->level, severity::error);
  EXPECT_NE(e->message.find("needs TOGETHER_BASE_URL"), std::string::npos) << e->message;
}

TEST(EnvProviders, MalformedBaseUrlIsRefusedWithoutQuotingIt) {
  const auto d = declare_providers(
      parse_dotenv("VLLM_FORMAT=openai_chat\nVLLM_BASE_URL=https://user:FAKEpass@host/v1\n", "t.env"), {});
  EXPECT_TRUE(d.providers.empty());
  const auto* e = find_diag(d.diagnostics, "VLLM_BASE_URL");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->line, 2u);
  EXPECT_EQ(e->to_string().find("FAKEpass"), std::string::npos);
}

TEST(EnvProviders, BaseUrlAndKeysWithoutFormatSayHowToDeclare) {
  const auto d =
      declare_providers(parse_dotenv("TOGETHER_BASE_URL=https://api.together.xyz/v1\nTOGETHER_API_KEY_1=FAKE-key\n"
                                     "LONELY_BASE_URL=https://example.com/v1\n",
                                     "t.env"),
                        {});
  EXPECT_TRUE(d.providers.empty());
  const auto* e = find_diag(d.diagnostics, "TOGETHER_BASE_URL");
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->message.find("TOGETHER_FORMAT=openai_chat"), std::string::npos) << e->message;
  EXPECT_EQ(find_diag(d.diagnostics, "LONELY_BASE_URL"), nullptr);  // no keys: nothing silently unread
}

TEST(EnvProviders, FormatOfABuiltInProviderIsAWarningAndChangesNothing) {
  const auto d = declare_providers(parse_dotenv("GROQ_FORMAT=anthropic_messages\nGEMINI_FORMAT=openai_chat\n"), {});
  EXPECT_TRUE(d.providers.empty());
  ASSERT_NE(find_diag(d.diagnostics, "GROQ_FORMAT"), nullptr);
  EXPECT_EQ(find_diag(d.diagnostics, "GROQ_FORMAT")->level, severity::warning);
  EXPECT_NE(find_diag(d.diagnostics, "GEMINI_FORMAT"), nullptr);  // Google's alias prefix
}

TEST(EnvProviders, OtherProgramsFormatVariablesAreLeftAlone) {
  const auto d = declare_providers(parse_dotenv("lower_FORMAT=openai_chat\nX_API_KEY_FORMAT=openai_chat\n"
                                                "DATE_FORMAT=iso\n"),
                                   {{"LOG_FORMAT", "json"}});
  EXPECT_TRUE(d.providers.empty());
  EXPECT_TRUE(d.diagnostics.empty()) << d.diagnostics.front().to_string();
  // With keys, the same bad value is a mistake worth naming.
  const auto keyed = declare_providers(parse_dotenv("DATE_FORMAT=iso\nDATE_API_KEY=FAKE-key\n"), {});
  ASSERT_EQ(keyed.diagnostics.size(), 1u);
  EXPECT_EQ(keyed.diagnostics[0].variable, "DATE_FORMAT");
}

}  // namespace
