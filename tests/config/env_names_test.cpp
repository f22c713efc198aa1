// Key variable names beyond P_API_KEY[_N]: the names a provider's own
// documentation uses (GEMINI_API_KEY for Google), and a warning for a
// prefix that is a near miss of a provider's (GROK_API_KEY_1).

#include <keypool/config/dotenv.hpp>
#include <keypool/config/env_keys.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace keypool::config;

std::vector<std::string> variables(const key_config& cfg, std::string_view provider) {
  std::vector<std::string> out;
  for (const auto& k : cfg.find(provider)->keys) out.push_back(k.spec.variable);
  return out;
}

const diagnostic* diagnostic_for(const key_config& cfg, std::string_view variable) {
  for (const auto& d : cfg.diagnostics)
    if (d.variable == variable) return &d;
  return nullptr;
}

TEST(EnvNames, GeminiVariablesAreGoogleKeysAfterTheGoogleOnes) {
  const auto cfg = build_key_config(parse_dotenv("GEMINI_API_KEY_1=AIza_test_gemini_one_0001\n"
                                                 "GEMINI_API_KEY_1_WEIGHT=3\n"
                                                 "GEMINI_API_KEY=AIza_test_gemini_bare_0002\n"
                                                 "GOOGLE_API_KEY_1=AIza_test_google_one_0003\n",
                                                 ".env"),
                                    {{"GEMINI_API_KEY_2", "AIza_test_gemini_env_0004"}});
  EXPECT_EQ(variables(cfg, "google"),
            (std::vector<std::string>{"GOOGLE_API_KEY_1", "GEMINI_API_KEY", "GEMINI_API_KEY_1", "GEMINI_API_KEY_2"}));
  const auto& keys = cfg.find("google")->keys;
  EXPECT_EQ(keys[2].spec.weight, 3u);
  EXPECT_EQ(keys[2].spec.secret, "AIza_test_gemini_one_0001");
  EXPECT_EQ(keys[2].source.to_string(), ".env:1");
  EXPECT_EQ(keys[3].source.to_string(), "<environment>");
  EXPECT_TRUE(cfg.diagnostics.empty()) << cfg.diagnostics.front().to_string();
}

TEST(EnvNames, OneKeyUnderBothNamesIsUsedOnceWithANote) {
  // Tools disagree on the name, so people set both to the same key.
  const auto cfg = build_key_config(
      parse_dotenv("GOOGLE_API_KEY=AIza_test_same_key_0001\nGEMINI_API_KEY=AIza_test_same_key_0001\n", ".env"), {});
  EXPECT_EQ(variables(cfg, "google"), (std::vector<std::string>{"GOOGLE_API_KEY"}));
  const auto* d = diagnostic_for(cfg, "GEMINI_API_KEY");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->level, severity::note);
  EXPECT_EQ(
      d->to_string(),
      ".env:2: note: GEMINI_API_KEY: same key as GOOGLE_API_KEY (GEMINI_ is another name for GOOGLE_); used once");
  EXPECT_FALSE(cfg.has_errors());

  // Twice under one name is still an error.
  const auto twice = build_key_config(
      parse_dotenv("GEMINI_API_KEY_1=AIza_test_same_key_0001\nGEMINI_API_KEY_2=AIza_test_same_key_0001\n", ".env"), {});
  EXPECT_TRUE(twice.has_errors());
}

TEST(EnvNames, GeminiBaseUrlIsNotRead) {
  // Only the provider's own P_BASE_URL moves it: one name for one setting.
  const auto cfg = build_key_config(parse_dotenv("GEMINI_BASE_URL=https://example.com/v1beta\n", ".env"), {});
  EXPECT_FALSE(cfg.find("google")->base_url_overridden);
  EXPECT_TRUE(cfg.diagnostics.empty());
}

TEST(EnvNames, NearMissOfAProviderPrefixGetsAWarningNamingTheVariable) {
  const auto cfg = build_key_config(parse_dotenv("GROK_API_KEY_1=gsk_test_secret_value_0001\n"
                                                 "ANTROPIC_API_KEY=sk-ant-test-secret-0002\n"
                                                 "GORQ_API_KEY_2_WEIGHT=2\n"
                                                 "GEMENI_API_KEY=AIza_test_secret_0003\n",
                                                 ".env"),
                                    {{"OPENIA_API_KEY", "sk-test-secret-0004"}});
  const std::vector<std::pair<std::string, std::string>> expected{
      {"GROK_API_KEY_1",
       ".env:1: warning: GROK_API_KEY_1: no provider has the prefix GROK: not read; did you mean "
       "GROQ_API_KEY_1?"},
      {"ANTROPIC_API_KEY",
       ".env:2: warning: ANTROPIC_API_KEY: no provider has the prefix ANTROPIC: not read; did "
       "you mean ANTHROPIC_API_KEY?"},
      {"GORQ_API_KEY_2_WEIGHT",
       ".env:3: warning: GORQ_API_KEY_2_WEIGHT: no provider has the prefix GORQ: not read; "
       "did you mean GROQ_API_KEY_2_WEIGHT?"},
      {"GEMENI_API_KEY",
       ".env:4: warning: GEMENI_API_KEY: no provider has the prefix GEMENI: not read; did you "
       "mean GEMINI_API_KEY?"},
      {"OPENIA_API_KEY",
       "<environment>: warning: OPENIA_API_KEY: no provider has the prefix OPENIA: not read; did "
       "you mean OPENAI_API_KEY?"},
  };
  for (const auto& [variable, text] : expected) {
    const auto* d = diagnostic_for(cfg, variable);
    ASSERT_NE(d, nullptr) << variable;
    EXPECT_EQ(d->to_string(), text);
    EXPECT_EQ(d->message.find("secret"), std::string::npos) << "a value was quoted: " << d->message;
  }
  EXPECT_EQ(cfg.key_count(), 0u);
  EXPECT_FALSE(cfg.has_errors());  // a warning: the variable may belong to another tool
}

TEST(EnvNames, DistantOrOtherProvidersPrefixesGetNoWarning) {
  // XAI is xAI's own variable, FAL three letters as far from ZAI as any; the
  // others are too far from every prefix, or not shaped like key variables.
  const auto cfg = build_key_config(parse_dotenv("XAI_API_KEY=xai-test-0001\n"
                                                 "FAL_API_KEY=fal-test-0002\n"
                                                 "AZURE_OPENAI_API_KEY=az-test-0003\n"
                                                 "GROQ_API_KEYS=gsk_test_0004\n"
                                                 "GROQ_MODEL=llama\n"
                                                 "GROQ_API_KEY_1=gsk_test_good_key_0005\n",
                                                 ".env"),
                                    {});
  EXPECT_TRUE(cfg.diagnostics.empty()) << cfg.diagnostics.front().to_string();
  EXPECT_EQ(cfg.key_count(), 1u);
}

TEST(EnvNames, EditDistanceCountsASwapOfNeighboursAsOne) {
  using detail::edit_distance;
  EXPECT_EQ(edit_distance("GROQ", "GROQ"), 0u);
  EXPECT_EQ(edit_distance("GROK", "GROQ"), 1u);
  EXPECT_EQ(edit_distance("GORQ", "GROQ"), 1u);
  EXPECT_EQ(edit_distance("ANTROPIC", "ANTHROPIC"), 1u);
  EXPECT_EQ(edit_distance("OPEN_AI", "OPENAI"), 1u);
  EXPECT_EQ(edit_distance("FAL", "ZAI"), 2u);
  EXPECT_EQ(edit_distance("", "ZAI"), 3u);
}

}  // namespace
