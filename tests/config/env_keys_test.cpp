/// What the configuration refuses so that `keypool keys` cannot print a
/// secret (issue 28, items 2 and 4): credentials in P_BASE_URL, a key pasted
/// as a variable name or as an account. Every key in here is fake.

#include <keypool/config/dotenv.hpp>
#include <keypool/config/env_keys.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace keypool::config;

const diagnostic* diag_for(const key_config& cfg, std::string_view variable) {
  for (const auto& d : cfg.diagnostics)
    if (d.variable == variable) return &d;
  return nullptr;
}

TEST(EnvKeys, BaseUrlWithCredentialsIsRefusedNamingTheVariableNotTheValue) {
  for (const std::string url : {"https://user:pAsSwOrD@api.example.com/v1", "https://pAsSwOrD@api.example.com/v1",
                                "https://user:pa/sS@pAsSwOrD.example.com/v1"}) {
    const auto cfg =
        build_key_config(parse_dotenv("GROQ_API_KEY_1=gsk_fake_key_for_tests_000001\nGROQ_BASE_URL=" + url + "\n"), {});
    const auto* d = diag_for(cfg, "GROQ_BASE_URL");
    ASSERT_NE(d, nullptr) << url;
    EXPECT_EQ(d->level, severity::error);
    EXPECT_NE(d->message.find("credentials"), std::string::npos) << d->message;
    EXPECT_EQ(d->to_string().find("pAsSwOrD"), std::string::npos) << d->to_string();
    EXPECT_FALSE(cfg.find("groq")->base_url_overridden) << url;
  }
  // An '@' in the query is no userinfo.
  const auto ok = build_key_config(parse_dotenv("GROQ_API_KEY_1=gsk_fake_key_for_tests_000001\n"
                                                "GROQ_BASE_URL=https://api.example.com/v1?mail=a@b.example\n"),
                                   {});
  EXPECT_TRUE(ok.find("groq")->base_url_overridden);
  EXPECT_EQ(diag_for(ok, "GROQ_BASE_URL"), nullptr);
}

TEST(EnvKeys, AccountThatLooksLikeAKeyIsRefused) {
  const auto cfg = build_key_config(
      parse_dotenv("GROQ_API_KEY_1=gsk_fake_key_for_tests_000001\n"
                   "GROQ_API_KEY_1_ACCOUNT=gsk_FaKeAcCoUnTpAsTeDkEy0123456789\n"  // a key's prefix and shape
                   "GROQ_API_KEY_2=gsk_fake_key_for_tests_000002\n"
                   "GROQ_API_KEY_2_ACCOUNT=shortfakesecret9\n"  // the value of another key variable
                   "OPENAI_API_KEY_1=shortfakesecret9\n"
                   "GROQ_API_KEY_3=gsk_fake_key_for_tests_000003\n"
                   "GROQ_API_KEY_3_ACCOUNT=team-alpha production\n"
                   "GROQ_API_KEY_4=gsk_fake_key_for_tests_000004\n"
                   "GROQ_API_KEY_4_ACCOUNT=sk-team\n"),
      {});
  const auto keys = cfg.keys_for("groq");
  ASSERT_EQ(keys.size(), 4u);
  EXPECT_EQ(keys[0].account, "");
  EXPECT_EQ(keys[1].account, "");
  EXPECT_EQ(keys[2].account, "team-alpha production");
  EXPECT_EQ(keys[3].account, "sk-team");
  for (const char* v : {"GROQ_API_KEY_1_ACCOUNT", "GROQ_API_KEY_2_ACCOUNT"}) {
    const auto* d = diag_for(cfg, v);
    ASSERT_NE(d, nullptr) << v;
    EXPECT_EQ(d->level, severity::error);
    EXPECT_NE(d->message.find("looks like an API key"), std::string::npos) << d->message;
  }
  for (const auto& d : cfg.diagnostics) {
    EXPECT_EQ(d.to_string().find("FaKeAcCoUnT"), std::string::npos) << d.to_string();
    EXPECT_EQ(d.to_string().find("shortfakesecret9"), std::string::npos) << d.to_string();
  }
}

TEST(Dotenv, KeyPastedAsAVariableNameIsNotQuoted) {
  const std::string keys[] = {"sk-proj-FaKeKeY0123456789abcdefghijKLMNOP", "gsk_FaKeKeY0123456789abcdefghijKLMNOP",
                              "AIzaSyFaKeKeY0123456789abcdefghijKLMN"};
  for (const auto& key : keys) {
    const auto doc = parse_dotenv(key + "=\"unterminated\nGOOD=1\n");
    ASSERT_EQ(doc.diagnostics.size(), 1u) << key;
    const auto text = doc.diagnostics[0].to_string();
    EXPECT_EQ(text.find("FaKeKeY"), std::string::npos) << text;
    EXPECT_NE(text.find(key.substr(0, 4) + "... (a " + std::to_string(key.size()) + "-character name)"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("unterminated"), std::string::npos) << text;
  }
  // Ordinary names are still named whole.
  for (const std::string name : {"GROQ_API_KEY_1", "https_proxy", "MyVar"}) {
    const auto doc = parse_dotenv(name + "='open\n");
    ASSERT_EQ(doc.diagnostics.size(), 1u) << name;
    EXPECT_EQ(doc.diagnostics[0].variable, name);
  }
}

}  // namespace
