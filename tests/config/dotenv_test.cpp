// .env parsing, key configuration from file + environment, and the JSON
// export of the configuration, over the corpus in tests/config/data.

#include <keypool/config/dotenv.hpp>
#include <keypool/config/env_keys.hpp>
#include <keypool/json/config_json.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

using namespace keypool::config;
namespace fs = std::filesystem;

fs::path data_dir() {
#ifdef KEYPOOL_TEST_DIR  // set by tests/CMakeLists.txt: this folder
  return fs::path(KEYPOOL_TEST_DIR) / "data";
#else
  return fs::path(__FILE__).parent_path() / "data";
#endif
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// 1-based line of the first line of `p` starting with `prefix`.
std::size_t line_of(const fs::path& p, std::string_view prefix) {
  std::istringstream in(read_file(p));
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    if (line.rfind(prefix, 0) == 0) return n;
  }
  ADD_FAILURE() << "no line starting with " << prefix << " in " << p;
  return 0;
}

const diagnostic* find_diag(const std::vector<diagnostic>& ds, std::size_t line) {
  for (const auto& d : ds)
    if (d.line == line) return &d;
  return nullptr;
}

std::string value_of(const dotenv_document& doc, std::string_view name) {
  const auto* e = doc.find(name);
  if (!e) {
    ADD_FAILURE() << "no entry " << name;
    return {};
  }
  return e->value;
}

// ---- dotenv syntax ------------------------------------------------------------

TEST(Dotenv, SyntaxCorpus) {
  const auto path = data_dir() / "syntax.env";
  const auto doc = load_dotenv(path);
  EXPECT_EQ(value_of(doc, "PLAIN"), "plain_value");
  EXPECT_EQ(value_of(doc, "EXPORTED"), "exported_value");
  EXPECT_EQ(value_of(doc, "SPACED"), "spaced_value");
  EXPECT_EQ(value_of(doc, "INLINE"), "inline_value");
  EXPECT_EQ(value_of(doc, "HASH_INSIDE"), "abc#def");
  EXPECT_EQ(value_of(doc, "ONLY_COMMENT"), "");
  EXPECT_EQ(value_of(doc, "EMPTY"), "");
  EXPECT_EQ(value_of(doc, "SINGLE"), "single \\n # kept");
  EXPECT_EQ(value_of(doc, "DOUBLE"), "line1\nline2\ttab \"quoted\" back\\slash $dollar");
  EXPECT_EQ(value_of(doc, "DOUBLE_HASH"), "has # hash");
  EXPECT_EQ(value_of(doc, "BACK"), "back 'single' \"double\"");
  EXPECT_EQ(value_of(doc, "MULTI"), "first\nsecond\nthird");
  EXPECT_EQ(value_of(doc, "MULTI_SINGLE"), "a\nb");
  EXPECT_EQ(value_of(doc, "AFTER_MULTI"), "after");
  EXPECT_EQ(value_of(doc, "UNICODE"), "caf\xC3\xA9");
  EXPECT_EQ(value_of(doc, "dotted.name-x"), "dotted");
  EXPECT_EQ(value_of(doc, "export"), "export_is_a_name");
  EXPECT_EQ(value_of(doc, "REPEATED"), "second");
  EXPECT_EQ(value_of(doc, "EQUALS"), "a=b=c");
  EXPECT_EQ(value_of(doc, "UNKNOWN_ESCAPE"), "a\\qb");

  // Entries carry the line where the assignment starts, even after
  // multi-line values.
  EXPECT_EQ(doc.find("MULTI")->line, line_of(path, "MULTI="));
  EXPECT_EQ(doc.find("AFTER_MULTI")->line, line_of(path, "AFTER_MULTI="));
  EXPECT_EQ(doc.find("EXPORTED")->file, path.string());

  // Only warnings: the repeated name and the unknown escape.
  ASSERT_EQ(doc.diagnostics.size(), 2u);
  for (const auto& d : doc.diagnostics) EXPECT_EQ(d.level, severity::warning) << d.to_string();
  const auto* rep = find_diag(doc.diagnostics, line_of(path, "REPEATED=second"));
  ASSERT_NE(rep, nullptr);
  EXPECT_EQ(rep->variable, "REPEATED");
  EXPECT_NE(rep->message.find("line " + std::to_string(line_of(path, "REPEATED=first"))), std::string::npos);
  // effective() keeps one entry per name, the last value.
  const auto eff = doc.effective();
  EXPECT_EQ(std::count_if(eff.begin(), eff.end(), [](auto& e) { return e.name == "REPEATED"; }), 1);
}

TEST(Dotenv, CrlfAndBom) {
  const auto path = data_dir() / "crlf_bom.env";
  ASSERT_EQ(read_file(path).substr(0, 3), "\xEF\xBB\xBF");  // the corpus file really has a BOM
  const auto doc = load_dotenv(path);
  EXPECT_TRUE(doc.diagnostics.empty()) << doc.diagnostics.front().to_string();
  EXPECT_EQ(value_of(doc, "MISTRAL_API_KEY_1"), "mistral_test_one");  // no '\r' left
  EXPECT_EQ(value_of(doc, "MISTRAL_API_KEY_2"), "mistral_test_two");
  EXPECT_EQ(value_of(doc, "MULTI_CRLF"), "a\nb");
  EXPECT_EQ(doc.find("MISTRAL_API_KEY_2")->line, 7u);
}

TEST(Dotenv, LoneCarriageReturnsAndBomInMemory) {
  const auto doc = parse_dotenv(
      "\xEF\xBB\xBF"
      "A=1\rB=2\r\nC=3",
      "mem");
  EXPECT_TRUE(doc.diagnostics.empty());
  EXPECT_EQ(value_of(doc, "A"), "1");
  EXPECT_EQ(value_of(doc, "B"), "2");
  EXPECT_EQ(value_of(doc, "C"), "3");
  EXPECT_EQ(doc.find("C")->line, 3u);
}

TEST(Dotenv, MalformedLinesAreReportedAndTheRestLoads) {
  const auto path = data_dir() / "malformed.env";
  const auto doc = load_dotenv(path);
  EXPECT_EQ(value_of(doc, "GOOD_1"), "good_one");
  EXPECT_EQ(value_of(doc, "GOOD_2"), "good_two");
  EXPECT_EQ(value_of(doc, "GOOD_3"), "good_three");
  EXPECT_EQ(doc.find("AFTER_QUOTE"), nullptr);
  EXPECT_EQ(doc.find("UNTERMINATED"), nullptr);
  EXPECT_EQ(doc.find("LAST"), nullptr);
  EXPECT_EQ(doc.entries.size(), 3u);

  struct expect {
    std::string_view line_prefix, variable, message_part;
  };
  const expect cases[] = {
      {"gsk_test_pasted_alone", "", "no '='"},
      {"GROQ_API_KEY_7 ", "", "no '='"},
      {"1BAD=", "", "digit"},
      {"AFTER_QUOTE=", "AFTER_QUOTE", "after the closing quote"},
      {"UNTERMINATED=", "UNTERMINATED", "unterminated double-quoted"},
      {"LAST=", "LAST", "unterminated single-quoted"},
  };
  ASSERT_EQ(doc.diagnostics.size(), std::size(cases));
  for (const auto& c : cases) {
    const auto* d = find_diag(doc.diagnostics, line_of(path, c.line_prefix));
    ASSERT_NE(d, nullptr) << c.line_prefix;
    EXPECT_EQ(d->file, path.string());
    EXPECT_EQ(d->variable, c.variable);
    EXPECT_EQ(d->level, severity::error);
    EXPECT_NE(d->message.find(c.message_part), std::string::npos) << d->message;
    // "file:line: error: ..." form.
    EXPECT_EQ(d->to_string().rfind(path.string() + ":" + std::to_string(d->line) + ": error: ", 0), 0u);
  }
  // Nothing of the values leaks into the messages.
  for (const auto& d : doc.diagnostics) EXPECT_EQ(d.to_string().find("gsk_test"), std::string::npos) << d.to_string();
}

TEST(Dotenv, UnterminatedQuoteDoesNotSwallowLaterQuotedLines) {
  const auto doc = parse_dotenv("A=\"open\nB=\"closed\"\nC='x'\n");
  EXPECT_EQ(doc.find("A"), nullptr);
  EXPECT_EQ(value_of(doc, "B"), "closed");
  EXPECT_EQ(value_of(doc, "C"), "x");
  ASSERT_EQ(doc.diagnostics.size(), 1u);
  EXPECT_EQ(doc.diagnostics[0].line, 1u);
}

TEST(Dotenv, StrayQuoteEndsAtTheNextAssignment) {
  // The quote closes on line 3, but lines 2-3 are assignments, not value.
  const auto doc =
      parse_dotenv("GROQ_API_KEY_1=\"gsk_test_a\nGROQ_API_KEY_2=gsk_test_b\nNOTE=ends with a quote\"\n", ".env");
  EXPECT_EQ(doc.find("GROQ_API_KEY_1"), nullptr);
  EXPECT_EQ(value_of(doc, "GROQ_API_KEY_2"), "gsk_test_b");
  EXPECT_EQ(value_of(doc, "NOTE"), "ends with a quote\"");
  EXPECT_EQ(doc.find("GROQ_API_KEY_2")->line, 2u);
  EXPECT_EQ(doc.find("NOTE")->line, 3u);
  ASSERT_EQ(doc.diagnostics.size(), 1u);
  const auto& d = doc.diagnostics[0];
  EXPECT_EQ(d.to_string().rfind(".env:1: error: GROQ_API_KEY_1: unterminated double-quoted value", 0), 0u)
      << d.to_string();
  EXPECT_EQ(d.to_string().find("gsk_test"), std::string::npos) << d.to_string();

  // Any quote, `export` and blanks around '='; an escaped line end does not
  // hide the next line.
  const auto more = parse_dotenv("A='x\n  export B = y'\nC=\"z\\\nD=w\"\n");
  EXPECT_EQ(more.find("A"), nullptr);
  EXPECT_EQ(value_of(more, "B"), "y'");
  EXPECT_EQ(more.find("C"), nullptr);
  EXPECT_EQ(value_of(more, "D"), "w\"");
  EXPECT_EQ(more.find("D")->line, 4u);
  ASSERT_EQ(more.diagnostics.size(), 2u);
  EXPECT_EQ(more.diagnostics[0].line, 1u);
  EXPECT_EQ(more.diagnostics[1].line, 3u);

  // Lines that are not assignments stay inside a quoted value, including a
  // base64 block's padded last line ("Zm9vYmFy==").
  const auto pem =
      parse_dotenv("PEM=\"-----BEGIN TEST KEY-----\nMIIBtest+key/line\nZm9vYmFy==\n-----END TEST KEY-----\"\nNEXT=1\n");
  EXPECT_TRUE(pem.diagnostics.empty());
  EXPECT_EQ(value_of(pem, "PEM"), "-----BEGIN TEST KEY-----\nMIIBtest+key/line\nZm9vYmFy==\n-----END TEST KEY-----");
  EXPECT_EQ(pem.find("NEXT")->line, 5u);
}

TEST(Dotenv, MissingFileIsAClearError) {
  const auto path = data_dir() / "does-not-exist.env";
  try {
    (void)load_dotenv(path);
    FAIL() << "expected dotenv_file_error";
  } catch (const dotenv_file_error& e) {
    EXPECT_EQ(e.path(), path);
    EXPECT_NE(std::string(e.what()).find("does-not-exist.env"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
  }
  std::error_code ec;
  (void)load_dotenv(path, ec);
  EXPECT_EQ(ec, std::errc::no_such_file_or_directory);
  (void)load_dotenv(data_dir(), ec);  // a directory is not a file
  EXPECT_TRUE(ec);
}

// ---- keys from file + environment --------------------------------------------

key_config load(std::string_view file, const environment& env = {}, env_options opt = {}) {
  return build_key_config(load_dotenv(data_dir() / file), env, keypool::providers::builtin_descriptors(), opt);
}

std::vector<std::string> variables(const key_config& cfg, std::string_view id) {
  std::vector<std::string> out;
  for (const auto& k : cfg.keys_for(id)) out.push_back(k.variable);
  return out;
}

TEST(EnvKeys, NumberingOrderAndSettings) {
  const auto path = data_dir() / "keys.env";
  const auto cfg = load("keys.env");
  EXPECT_FALSE(cfg.has_errors());
  EXPECT_EQ(variables(cfg, "groq"), (std::vector<std::string>{"GROQ_API_KEY", "GROQ_API_KEY_1", "GROQ_API_KEY_3",
                                                              "GROQ_API_KEY_12", "GROQ_API_KEY_100"}));
  const auto groq = cfg.keys_for("groq");
  EXPECT_EQ(groq[0].secret, "gsk_test_unnumbered");
  EXPECT_EQ(groq[0].weight, 2u);
  EXPECT_EQ(groq[1].account, "team-a");
  EXPECT_EQ(groq[2].secret, "gsk_test_three");
  EXPECT_EQ(groq[2].weight, 3u);
  EXPECT_EQ(groq[2].account, "team-a");
  EXPECT_EQ(groq[2].daily_limit, 14400u);
  EXPECT_EQ(groq[3].weight, 1u);
  EXPECT_EQ(groq[3].daily_limit, 0u);
  EXPECT_NO_THROW(keypool::validate(groq));  // what the core accepts

  const auto* g = cfg.find("groq");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->keys[2].number, 3u);
  EXPECT_EQ(g->keys[2].source.line, line_of(path, "GROQ_API_KEY_3="));

  EXPECT_EQ(variables(cfg, "nvidia"), (std::vector<std::string>{"NVIDIA_API_KEY_1", "NVIDIA_API_KEY_2"}));
  EXPECT_EQ(cfg.keys_for("zai").size(), 1u);
  EXPECT_EQ(cfg.keys_for("google").size(), 1u);
  EXPECT_TRUE(cfg.keys_for("anthropic").empty());
  EXPECT_EQ(cfg.key_count(), 9u);
  EXPECT_EQ(cfg.providers.size(), 7u);  // every built-in, even without keys

  const auto* nv = cfg.find("nvidia");
  EXPECT_TRUE(nv->base_url_overridden);
  EXPECT_EQ(nv->provider.base_url, "http://127.0.0.1:8000/v1");  // trailing slash dropped
  EXPECT_EQ(cfg.find("groq")->provider.base_url, "https://api.groq.com/openai/v1");
}

TEST(EnvKeys, EnvironmentOverridesFileByDefault) {
  const environment env = {
      {"GROQ_API_KEY_1", "gsk_test_from_env"}, {"OPENAI_API_KEY", "sk-test-env-only"}, {"PATH", "/usr/bin"}};
  const auto cfg = load("keys.env", env);
  const auto groq = cfg.keys_for("groq");
  ASSERT_EQ(groq.size(), 5u);
  EXPECT_EQ(groq[1].secret, "gsk_test_from_env");
  EXPECT_EQ(cfg.find("groq")->keys[1].source.file, "<environment>");
  EXPECT_EQ(cfg.keys_for("openai").size(), 1u);  // environment-only keys load too
  // The override is noted at the file's line, without values.
  const auto* note = find_diag(cfg.diagnostics, line_of(data_dir() / "keys.env", "GROQ_API_KEY_1="));
  ASSERT_NE(note, nullptr);
  EXPECT_EQ(note->level, severity::note);
  EXPECT_EQ(note->message.find("gsk_test"), std::string::npos);

  env_options file_first;
  file_first.order = precedence::file_first;
  const auto cfg2 = load("keys.env", env, file_first);
  EXPECT_EQ(cfg2.keys_for("groq")[1].secret, "gsk_test_one");
  EXPECT_EQ(cfg2.keys_for("openai").size(), 1u);  // gaps are still filled from the environment
}

TEST(EnvKeys, RejectedKeysAndSettingsAreReportedAndValidKeysLoad) {
  const auto path = data_dir() / "bad_keys.env";
  const auto cfg = load("bad_keys.env");
  EXPECT_EQ(variables(cfg, "openai"), (std::vector<std::string>{"OPENAI_API_KEY_1", "OPENAI_API_KEY_6"}));
  const auto six = cfg.keys_for("openai")[1];
  EXPECT_EQ(six.weight, 1u);       // bad weight: default kept
  EXPECT_EQ(six.daily_limit, 0u);  // bad limit: ignored
  EXPECT_EQ(cfg.keys_for("mistral").size(), 1u);
  EXPECT_EQ(cfg.find("openai")->provider.base_url, "https://api.openai.com/v1");
  EXPECT_TRUE(cfg.has_errors());

  struct expect {
    std::string_view line_prefix, variable, message_part;
    severity level;
  };
  const expect cases[] = {
      {"OPENAI_API_KEY_2=", "OPENAI_API_KEY_2", "empty value", severity::error},
      {"OPENAI_API_KEY_3=", "OPENAI_API_KEY_3", "whitespace at position 8", severity::error},
      {"OPENAI_API_KEY_4=", "OPENAI_API_KEY_4", "control character", severity::error},
      {"OPENAI_API_KEY_5=", "OPENAI_API_KEY_5", "same key as OPENAI_API_KEY_1", severity::error},
      {"OPENAI_API_KEY_6_WEIGHT=", "OPENAI_API_KEY_6_WEIGHT", "1 to 1000", severity::error},
      {"OPENAI_API_KEY_6_DAILY_LIMIT=", "OPENAI_API_KEY_6_DAILY_LIMIT", "whole number", severity::error},
      {"OPENAI_API_KEY_9_WEIGHT=", "OPENAI_API_KEY_9_WEIGHT", "not defined", severity::warning},
      {"OPENAI_API_KEY_01=", "OPENAI_API_KEY_01", "leading zeros", severity::warning},
      {"OPENAI_API_KEY_0=", "OPENAI_API_KEY_0", "start at 1", severity::warning},
      {"OPENAI_API_KEY_6_COLOR=", "OPENAI_API_KEY_6_COLOR", "unknown per-key setting", severity::warning},
      {"OPENAI_BASE_URL=", "OPENAI_BASE_URL", "http", severity::error},
      {"OPENAI_API_KEY_6=", "OPENAI_API_KEY_6", "same key as MISTRAL_API_KEY_1 (another provider)", severity::warning},
  };
  for (const auto& c : cases) {
    const auto* d = find_diag(cfg.diagnostics, line_of(path, c.line_prefix));
    ASSERT_NE(d, nullptr) << c.line_prefix;
    EXPECT_EQ(d->file, path.string());
    EXPECT_EQ(d->variable, c.variable);
    EXPECT_EQ(d->level, c.level) << d->to_string();
    EXPECT_NE(d->message.find(c.message_part), std::string::npos) << d->to_string();
  }
  EXPECT_EQ(cfg.diagnostics.size(), std::size(cases));
}

TEST(EnvKeys, RuntimeProviderDescriptor) {
  auto custom = *keypool::providers::find_builtin("openai");
  custom.id = "proxy";
  custom.env_prefix = "MYPROXY";
  custom.display_name = "MYPROXY";
  const std::vector<keypool::providers::provider_descriptor> list = {custom};
  const auto cfg = build_key_config(parse_dotenv("MYPROXY_API_KEY_2=sk-test-b\nMYPROXY_API_KEY_1=sk-test-a\n"
                                                 "OPENAI_API_KEY_1=sk-test-ignored\n"),
                                    {}, list);
  ASSERT_EQ(cfg.providers.size(), 1u);
  EXPECT_EQ(variables(cfg, "proxy"), (std::vector<std::string>{"MYPROXY_API_KEY_1", "MYPROXY_API_KEY_2"}));
}

TEST(EnvKeys, ProcessEnvironmentSnapshotOnlyKeepsRelevantNames) {
  ::setenv("KEYPOOL_TEST_API_KEY_1", "kp-test-one", 1);
  ::setenv("KEYPOOL_TEST_UNRELATED", "nothing", 1);
  const auto env = process_environment();
  bool found = false;
  for (const auto& [n, v] : env) {
    EXPECT_NE(n, "KEYPOOL_TEST_UNRELATED");
    found = found || (n == "KEYPOOL_TEST_API_KEY_1" && v == "kp-test-one");
  }
  EXPECT_TRUE(found);
  ::unsetenv("KEYPOOL_TEST_API_KEY_1");
  ::unsetenv("KEYPOOL_TEST_UNRELATED");
}

TEST(EnvKeys, LoadKeyConfigReadsFileAndThrowsForMissingFile) {
  env_options opt;
  opt.use_process_environment = false;
  const auto cfg = load_key_config(data_dir() / "keys.env", opt);
  EXPECT_EQ(cfg.keys_for("groq").size(), 5u);
  EXPECT_THROW((void)load_key_config(data_dir() / "missing.env", opt), dotenv_file_error);
}

// ---- JSON export and secrecy ---------------------------------------------------

TEST(ConfigJson, SchemaAndValues) {
  const auto cfg = load("keys.env");
  const auto v = keypool::json::config_to_json(cfg);
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("version").as_int64(), 1);
  const auto& provs = o.at("providers").as_array();
  ASSERT_EQ(provs.size(), 7u);
  const boost::json::object* groq = nullptr;
  for (const auto& p : provs)
    if (p.as_object().at("id").as_string() == "groq") groq = &p.as_object();
  ASSERT_NE(groq, nullptr);
  EXPECT_EQ(groq->at("display_name").as_string(), "GROQ");
  EXPECT_EQ(groq->at("key_count").to_number<int>(), 5);
  EXPECT_EQ(groq->at("wire_format").as_string(), "openai_chat");
  const auto& k = groq->at("keys").as_array()[2].as_object();
  EXPECT_EQ(k.at("variable").as_string(), "GROQ_API_KEY_3");
  EXPECT_EQ(k.at("provider").as_string(), "groq");
  EXPECT_EQ(k.at("weight").to_number<int>(), 3);
  EXPECT_EQ(k.at("account").as_string(), "team-a");
  EXPECT_EQ(k.at("daily_limit").to_number<int>(), 14400);
  EXPECT_EQ(k.at("fingerprint").as_string(), keypool::fingerprint("gsk_test_three"));
  EXPECT_EQ(k.at("redacted").as_string(), keypool::redact("gsk_test_three"));
  EXPECT_EQ(k.at("source").as_string(), (data_dir() / "keys.env").string() + ":" +
                                            std::to_string(line_of(data_dir() / "keys.env", "GROQ_API_KEY_3=")));
  EXPECT_TRUE(groq->at("keys").as_array()[4].as_object().at("account").is_null());
}

/// Every value assigned in the corpus (all of them fake keys or harmless
/// text) must be absent from diagnostics and from the JSON export.
TEST(ConfigJson, NoSecretInAnyDiagnosticOrJson) {
  const environment env = {{"GROQ_API_KEY_1", "gsk_test_env_secret_1"}};
  for (const char* file : {"syntax.env", "malformed.env", "keys.env", "bad_keys.env", "crlf_bom.env"}) {
    SCOPED_TRACE(file);
    const auto path = data_dir() / file;
    const auto doc = load_dotenv(path);
    const auto cfg = build_key_config(doc, env);
    std::string out = keypool::json::config_to_json_string(cfg);
    for (const auto& d : cfg.diagnostics) out += "\n" + d.to_string();
    // Candidate secrets: every value the parser produced, and every
    // `gsk_test`/`sk-test` token in the raw file (including the ones on
    // malformed lines that produced no entry).
    std::vector<std::string> secrets = {"gsk_test_env_secret_1"};
    for (const auto& e : doc.entries)
      if (e.value.size() >= 8 && e.name.find("_BASE_URL") == std::string::npos &&
          e.name.find("ACCOUNT") == std::string::npos)
        secrets.push_back(e.value);
    const std::string raw = read_file(path);
    for (std::string_view marker : {"gsk_test", "sk-test", "nvapi-test", "mistral_test", "zai.test", "AIza_test"})
      for (auto p = raw.find(marker); p != std::string::npos; p = raw.find(marker, p + 1)) {
        auto e = p;
        while (e < raw.size() && raw[e] != '\n' && raw[e] != '"' && raw[e] != '\'' && raw[e] != ' ' && raw[e] != '\r')
          ++e;
        secrets.push_back(raw.substr(p, e - p));
      }
    for (const auto& s : secrets) EXPECT_EQ(out.find(s), std::string::npos) << "leaked: " << s;
  }
}

TEST(ConfigJson, LongKeysShowOnlyTheirTail) {
  const auto cfg = build_key_config(parse_dotenv("GROQ_API_KEY_1=gsk_test_0000000000000000tail\n"), {});
  const std::string out = keypool::json::config_to_json_string(cfg);
  EXPECT_EQ(out.find("gsk_test_0000000000000000tail"), std::string::npos);
  EXPECT_NE(out.find("gsk_\xE2\x80\xA6tail"), std::string::npos) << out;
}

}  // namespace
