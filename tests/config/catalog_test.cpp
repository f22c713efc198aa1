// Built-in provider descriptors, the model catalog and its JSON form.

#include <keypool/providers/builtin.hpp>
#include <keypool/providers/catalog.hpp>
#include <keypool/providers/catalog_json.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace {

using namespace keypool::providers;

// ---- providers ------------------------------------------------------------------

template <class P>
void expect_builtin(std::string_view id, std::string_view prefix, std::string_view base, auth_style auth,
                    wire_format wire) {
  static_assert(keypool::static_provider<P>);
  SCOPED_TRACE(id);
  const keypool::provider_info info = P::info();
  EXPECT_EQ(info.id, id);
  EXPECT_EQ(info.display_name, prefix);
  const auto& d = P::descriptor();
  EXPECT_EQ(d.env_prefix, prefix);
  EXPECT_EQ(d.base_url, base);
  EXPECT_EQ(d.auth, auth);
  EXPECT_EQ(d.wire, wire);
  EXPECT_EQ(find_builtin(id), &d);
  EXPECT_EQ(find_builtin_by_prefix(prefix), &d);
}

TEST(Providers, SevenBuiltins) {
  using enum auth_style;
  using enum wire_format;
  expect_builtin<zai>("zai", "ZAI", "https://open.bigmodel.cn/api/paas/v4", bearer, openai_chat);
  expect_builtin<nvidia>("nvidia", "NVIDIA", "https://integrate.api.nvidia.com/v1", bearer, openai_chat);
  expect_builtin<groq>("groq", "GROQ", "https://api.groq.com/openai/v1", bearer, openai_chat);
  expect_builtin<mistral>("mistral", "MISTRAL", "https://api.mistral.ai/v1", bearer, openai_chat);
  expect_builtin<anthropic>("anthropic", "ANTHROPIC", "https://api.anthropic.com/v1", x_api_key, anthropic_messages);
  expect_builtin<openai>("openai", "OPENAI", "https://api.openai.com/v1", bearer, openai_chat);
  expect_builtin<google>("google", "GOOGLE", "https://generativelanguage.googleapis.com/v1beta", x_goog_api_key,
                         gemini_generate_content);
  EXPECT_EQ(builtin_descriptors().size(), 7u);
  EXPECT_EQ(find_builtin("nope"), nullptr);
  // Anthropic needs its version header on every request.
  ASSERT_EQ(anthropic::descriptor().extra_headers.size(), 1u);
  EXPECT_EQ(anthropic::descriptor().extra_headers[0].first, "anthropic-version");
  EXPECT_EQ(anthropic::descriptor().extra_headers[0].second, "2023-06-01");
}

TEST(Providers, DayBoundaries) {
  EXPECT_EQ(groq::info().day_boundary_utc, std::chrono::minutes(0));      // UTC midnight
  EXPECT_EQ(google::info().day_boundary_utc, std::chrono::minutes(480));  // Pacific, winter (conservative)
  EXPECT_EQ(zai::info().day_boundary_utc, std::chrono::minutes(960));     // Beijing midnight
  EXPECT_EQ(google::descriptor().day.kind, day_boundary::rule::us_pacific);
}

TEST(Providers, BaseUrlOverrideAndRuntimeDescriptor) {
  const auto local = nvidia::descriptor().with_base_url("http://127.0.0.1:9000/v1//");
  EXPECT_EQ(local.base_url, "http://127.0.0.1:9000/v1");
  EXPECT_EQ(local.id, "nvidia");
  EXPECT_EQ(nvidia::descriptor().base_url, "https://integrate.api.nvidia.com/v1");  // built-in untouched

  provider_descriptor custom;
  custom.id = "selfhosted";
  custom.env_prefix = "SELFHOSTED";
  custom.display_name = "SELFHOSTED";
  custom.base_url = "http://10.0.0.5:8000/v1";
  const keypool::provider_info info = custom.info();
  EXPECT_EQ(info.id, "selfhosted");
  EXPECT_EQ(info.display_name, "SELFHOSTED");
}

// ---- catalog --------------------------------------------------------------------

TEST(Catalog, BuiltinIsThePriorityTable) {
  const auto c = catalog::builtin();
  const auto order = c.priority_order();
  ASSERT_EQ(order.size(), 21u);
  // The table's priority numbers, in order (19 and 22-24 are unused).
  std::vector<int> prio;
  for (const auto& m : order) prio.push_back(m.priority);
  EXPECT_EQ(prio, (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 21, 25}));
  EXPECT_EQ(order.front().provider, "anthropic");
  EXPECT_EQ(order.front().name, "Claude 3.5 Sonnet");
  EXPECT_EQ(order[1].api_id, "gpt-4o");
  EXPECT_EQ(order[7].api_id, "glm-4.6v-flash");
  EXPECT_EQ(order[7].tier, model_tier::free);
  EXPECT_EQ(order.back().api_id, "glm-5");
  EXPECT_DOUBLE_EQ(order.back().price_per_mtok, 1.0);
  for (const auto& m : order) {
    EXPECT_NE(find_builtin(m.provider), nullptr) << m.provider;
    EXPECT_FALSE(m.api_id.empty());
    EXPECT_TRUE(m.vision);
  }
  // Retired models keep their listed name and old identifier.
  const auto* groq11 = c.find("groq", "Llama 3.2 11B Vision");
  ASSERT_NE(groq11, nullptr);
  EXPECT_EQ(groq11->seed_api_id, "llama-3.2-11b-vision-preview");
  EXPECT_NE(groq11->api_id, groq11->seed_api_id);
  EXPECT_EQ(c.find("groq", "llama-3.2-11b-vision-preview"), groq11);  // found by old id too
  EXPECT_EQ(c.find("mistral", "Pixtral 12B")->tier, model_tier::trial);
  EXPECT_EQ(c.find("google", "gemini-3-flash-preview")->name, "Gemini 3.0 Flash");
  EXPECT_EQ(c.find("anthropic", "claude-3-opus-20240229")->name, "Claude 3 Opus");
}

TEST(Catalog, SeedOrderIsADeprecatedAliasOfPriorityOrder) {
  auto c = catalog::builtin();
  // A tie (two entries at priority 9 after this one) keeps insertion order.
  c.upsert({"openai", "GPT-4o mini", "gpt-4o-mini", "", 0.15, model_tier::paid, true, 9});
  const auto by_priority = c.sorted([](const model_entry& a, const model_entry& b) { return a.priority < b.priority; });
  EXPECT_EQ(c.priority_order(), by_priority);
  const auto order = c.priority_order();
  ASSERT_EQ(order.size(), 22u);
  EXPECT_EQ(order[8].provider + "/" + order[8].api_id, "groq/qwen/qwen3.6-27b");
  EXPECT_EQ(order[9].provider + "/" + order[9].api_id, "openai/gpt-4o-mini");
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
  EXPECT_EQ(c.seed_order(), c.priority_order());
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
}

TEST(Catalog, FreeFirstPreset) {
  const auto order = catalog::builtin().free_first();
  ASSERT_EQ(order.size(), 21u);
  // Free: Groq, NVIDIA, Z.AI, then trial (Mistral), then paid by priority.
  std::vector<std::string> head;
  for (std::size_t i = 0; i < 8; ++i) head.push_back(order[i].provider + ":" + std::to_string(order[i].priority));
  EXPECT_EQ(head, (std::vector<std::string>{"groq:9", "groq:10", "nvidia:11", "nvidia:12", "nvidia:13", "zai:8",
                                            "mistral:14", "mistral:15"}));
  EXPECT_EQ(order[8].priority, 1);  // first paid: Claude 3.5 Sonnet
  for (std::size_t i = 1; i < order.size(); ++i) EXPECT_LE(order[i - 1].tier, order[i].tier);
}

TEST(Catalog, UserDefinedOrderAndEdits) {
  auto c = catalog::builtin();
  const std::vector<std::string> refs = {"nvidia/microsoft/phi-3.5-vision-instruct", "openai/GPT-4o",
                                         "zai/glm-4.6v-flash"};
  const auto order = c.ordered_by(refs);
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0].name, "Phi-3.5 Vision");
  EXPECT_EQ(order[1].api_id, "gpt-4o");
  EXPECT_EQ(order[2].name, "GLM-4.6V-Flash");
  const std::vector<std::string> bad = {"groq/no-such-model"};
  EXPECT_THROW((void)c.ordered_by(bad), unknown_model);

  // Custom comparator: cheapest first.
  const auto cheap =
      c.sorted([](const model_entry& a, const model_entry& b) { return a.price_per_mtok < b.price_per_mtok; });
  EXPECT_DOUBLE_EQ(cheap.front().price_per_mtok, 0.0);
  EXPECT_DOUBLE_EQ(cheap.back().price_per_mtok, 15.0);

  // Several retired models map to one successor; unique() keeps the first.
  const auto uniq = catalog::unique(c.priority_order());
  EXPECT_LT(uniq.size(), 21u);
  EXPECT_EQ(std::count_if(uniq.begin(), uniq.end(), [](auto& m) { return m.api_id == "gpt-4o"; }), 1);

  c.upsert(
      {"groq", "Llama 3.2 11B Vision", "meta-llama/llama-4-scout-17b-16e-instruct", "", 0, model_tier::free, true, 9});
  EXPECT_EQ(c.size(), 21u);  // replaced, not added
  EXPECT_EQ(c.find("groq", "Llama 3.2 11B Vision")->api_id, "meta-llama/llama-4-scout-17b-16e-instruct");
  EXPECT_EQ(c.remove("zai", "GLM-5"), 1u);
  EXPECT_EQ(c.size(), 20u);
  EXPECT_EQ(c.for_provider("nvidia").size(), 3u);
}

TEST(Catalog, OrderedByBracedList) {
  // The form docs/providers.md shows; vectors of strings still take the span overload.
  const auto c = catalog::builtin();
  const auto order = c.ordered_by({"groq/qwen/qwen3.6-27b", "openai/GPT-4o", "zai/GLM-4.6V-Flash"});
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0].name, "Llama 3.2 11B Vision");  // the first entry with that api_id
  EXPECT_EQ(order[1].api_id, "gpt-4o");
  EXPECT_EQ(order[2].api_id, "glm-4.6v-flash");
  const std::string ref = "nvidia/Phi-3.5 Vision";
  EXPECT_EQ(c.ordered_by({ref}).front().api_id, "microsoft/phi-3.5-vision-instruct");
  EXPECT_TRUE(c.ordered_by({}).empty());
  EXPECT_THROW((void)c.ordered_by({"groq/no-such-model"}), unknown_model);
  EXPECT_THROW((void)c.ordered_by({"no-slash"}), unknown_model);
}

// ---- catalog JSON ---------------------------------------------------------------

TEST(CatalogJson, RoundTrip) {
  const auto c = catalog::builtin();
  const std::string text = dump_catalog(c);
  const auto r = parse_catalog(text);
  ASSERT_TRUE(r) << r.error_text();
  EXPECT_EQ(r.value->entries(), c.entries());
}

TEST(CatalogJson, PricesAreReadExactlySoADumpLoadsAsTheSameCatalog) {
  // Boost 1.81's parser reads 48e-30 one ulp off 4.8e-29, and dumping that
  // gives text it reads back as yet another double (found by fuzz_catalog_json).
  const std::string entry = R"({"provider":"groq","name":"Test Model","api_id":"fake-model","tier":"free",)"
                            R"("priority":2,"price_per_mtok":)";
  for (const auto& [text, value] : {std::pair<std::string, double>{"48e-30", 4.8e-29},
                                    {"0.1", 0.1},
                                    {"4.8000000000000004E-29", 4.8000000000000004E-29},
                                    {"-0", 0.0}}) {
    const auto r = parse_catalog(R"({"models":[)" + entry + text + "}]}");
    ASSERT_TRUE(r) << text << ": " << r.error_text();
    EXPECT_EQ(r.value->entries().at(0).price_per_mtok, value) << text;
    const std::string dumped = dump_catalog(*r.value);
    const auto again = parse_catalog(dumped);
    ASSERT_TRUE(again) << again.error_text();
    EXPECT_EQ(again.value->entries(), r.value->entries()) << text << " dumped as " << dumped;
  }
}

TEST(CatalogJson, ReplaceAndExtend) {
  const std::string doc = R"({"models":[
    {"provider":"groq","name":"Llama 4 Scout","api_id":"meta-llama/llama-4-scout-17b-16e-instruct",
     "price_per_mtok":0,"tier":"free","vision":true,"priority":9},
    {"provider":"zai","name":"GLM-5","api_id":"glm-5.1","tier":"PAID","priority":30,"note":"renamed"}]})";
  const auto base = catalog::builtin();
  const auto replaced = parse_catalog(doc, base, merge_mode::replace);
  ASSERT_TRUE(replaced) << replaced.error_text();
  EXPECT_EQ(replaced.value->size(), 2u);
  EXPECT_TRUE(replaced.value->entries()[1].vision);  // default
  EXPECT_EQ(replaced.value->entries()[1].tier, model_tier::paid);

  const auto extended = parse_catalog(doc, base, merge_mode::extend);
  ASSERT_TRUE(extended) << extended.error_text();
  EXPECT_EQ(extended.value->size(), 22u);  // one new, one replaced
  EXPECT_EQ(extended.value->find("zai", "GLM-5")->api_id, "glm-5.1");
  EXPECT_EQ(extended.value->find("zai", "GLM-5")->priority, 30);
  EXPECT_EQ(base.find("zai", "GLM-5")->api_id, "glm-5");  // the base is untouched
}

TEST(CatalogJson, ErrorsNameTheJsonPath) {
  const std::string doc = R"({"models":[
    {"provider":"groq","name":"ok","api_id":"x","tier":"free","priority":1},
    {"provider":"Groq!","name":"","api_id":5,"tier":"gratis","priority":"high","vision":"yes","prise":1},
    {"provider":"groq","name":"neg","api_id":"y","tier":"paid","priority":2,"price_per_mtok":-1},
    {"provider":"groq","name":"ok","api_id":"z","tier":"free","priority":3},
    7
  ],"extra":true})";
  const auto r = parse_catalog(doc, catalog::builtin(), merge_mode::extend);
  EXPECT_FALSE(r);
  const std::string text = r.error_text();
  for (const char* expected :
       {"$.extra: unknown field", "$.models[1].prise: unknown field", "$.models[1].provider: must be a lower-case id",
        "$.models[1].name: must not be empty", "$.models[1].api_id: expected a string",
        "$.models[1].tier: expected one of", "$.models[1].priority: expected a whole number",
        "$.models[1].vision: expected true or false", "$.models[2].price_per_mtok: must be a non-negative number",
        "$.models[4]: expected an object", "\"groq/ok\" is listed twice"})
    EXPECT_NE(text.find(expected), std::string::npos) << "missing: " << expected << "\nin:\n" << text;
}

TEST(CatalogJson, MembersGivenTwiceAreErrors) {
  // Boost.JSON keeps the last duplicate: "paid" would win unnoticed.
  const auto r = parse_catalog(R"({"models":[
    {"provider":"groq","name":"a","api_id":"x","tier":"free","priority":1},
    7,
    {"provider":"groq","name":"b","api_id":"y","tier":"free","tier":"paid","priority":2,"priority":3,"priority":4},
    {"provider":"groq","name":"c","api_id":"z","tier":"free","ti\u0065r":"paid","priority":5}]})");
  ASSERT_FALSE(r);
  const std::string text = r.error_text();
  for (const char* expected : {"$.models[2].tier: given twice", "$.models[2].priority: given twice",
                               "$.models[3].tier: given twice", "$.models[1]: expected an object"})
    EXPECT_NE(text.find(expected), std::string::npos) << "missing: " << expected << "\nin:\n" << text;
  EXPECT_EQ(r.errors.size(), 4u) << text;  // a member given three times is reported once

  // A second "models" array would silently replace the first.
  const auto twice = parse_catalog(
      R"({"models":[{"provider":"groq","name":"a","api_id":"x","tier":"free","priority":1}],"models":[]})");
  ASSERT_FALSE(twice);
  ASSERT_EQ(twice.errors.size(), 1u) << twice.error_text();
  EXPECT_EQ(twice.errors[0].to_string(), "$.models: given twice");

  // The same name in different objects is fine.
  EXPECT_TRUE(parse_catalog(R"({"models":[{"provider":"groq","name":"a","api_id":"x","tier":"free","priority":1},
                                           {"provider":"groq","name":"b","api_id":"x","tier":"free","priority":1}]})"));
}

TEST(CatalogJson, SyntaxErrorsAndShapes) {
  const auto r = parse_catalog("{\n  \"models\": [\n    {\"provider\": \"groq\",,}\n  ]\n}");
  ASSERT_FALSE(r);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].path, "$");
  EXPECT_NE(r.errors[0].message.find("line 3"), std::string::npos) << r.errors[0].message;
  EXPECT_FALSE(parse_catalog("[]"));
  EXPECT_FALSE(parse_catalog("{}"));
  EXPECT_FALSE(parse_catalog(R"({"models":{}})"));
  EXPECT_FALSE(parse_catalog(""));
  EXPECT_TRUE(parse_catalog(R"({"models":[]})"));  // an empty catalog is allowed
}

TEST(CatalogJson, MissingFile) {
  const auto r = load_catalog_file("/nonexistent/keypool-catalog.json");
  EXPECT_FALSE(r);
  EXPECT_NE(r.error_text().find("keypool-catalog.json"), std::string::npos);
}

}  // namespace
