// Statistics as JSON: stable field names, no secret.
#include <keypool/json/stats_json.hpp>
#include <keypool/keypool.hpp>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace kp = keypool;
namespace bj = boost::json;

namespace {
struct zai {
  static kp::provider_info info() { return {"zai", "ZAI"}; }
};
}  // namespace

TEST(StatsJson, KeyObjectsCarryTheDocumentedFields) {
  kp::basic_pool<zai, kp::policy::clock<kp::clock::manual>> p(
      {{"ZAI_API_KEY_1", "zai-fake-json-secret-1"}, {"ZAI_API_KEY_2", "zai-fake-json-secret-2"}});
  p.report(*p.acquire(), kp::outcome::success());
  p.report(*p.acquire(), kp::outcome::rate_limited());
  const auto snap = p.snapshot();
  const std::string text = bj::serialize(kp::json::to_json(std::span(&snap, 1)));
  EXPECT_EQ(text.find("zai-fake-json-secret"), std::string::npos);
  const bj::value v = bj::parse(text);
  const auto& prov = v.at("providers").at(0);
  EXPECT_EQ(prov.at("provider").as_string(), "zai");
  EXPECT_EQ(prov.at("rate_limited").to_number<long>(), 1);
  const auto& k2 = prov.at("keys").at(1);
  EXPECT_EQ(k2.at("provider").as_string(), "zai");
  EXPECT_EQ(k2.at("variable").as_string(), "ZAI_API_KEY_2");
  EXPECT_EQ(k2.at("fingerprint").as_string(), kp::fingerprint("zai-fake-json-secret-2"));
  EXPECT_EQ(k2.at("redacted").as_string(), kp::redact("zai-fake-json-secret-2"));
  EXPECT_EQ(k2.at("state").as_string(), "rate_limited");
  EXPECT_EQ(k2.at("available_in_ms").to_number<long>(), 60000);
  EXPECT_EQ(k2.at("requests").to_number<long>(), 1);
  EXPECT_EQ(k2.at("failures").to_number<long>(), 1);
  EXPECT_EQ(k2.at("failures_by_kind").at("rate_limited").to_number<long>(), 1);
  EXPECT_EQ(prov.at("keys").at(0).at("state").as_string(), "available");
  EXPECT_EQ(prov.at("keys").at(0).at("available_in_ms").to_number<long>(), 0);
}

TEST(StatsJson, ProviderObjectCountsMisusedLeases) {
  kp::basic_pool<zai, kp::policy::clock<kp::clock::manual>> p({{"ZAI_API_KEY_1", "zai-fake-json-secret-1"}});
  auto lease = *p.acquire();
  p.report(lease, kp::outcome::success());
  p.report(lease, kp::outcome::success());  // the second report of one lease is ignored
  const auto snap = p.snapshot();
  const bj::value v = bj::parse(bj::serialize(kp::json::to_json(std::span(&snap, 1))));
  EXPECT_EQ(v.at("providers").at(0).at("misuse").to_number<long>(), 1);
  EXPECT_EQ(v.at("providers").at(0).at("requests").to_number<long>(), 1);
}

TEST(StatsJson, AnAttemptNotedOnALeaseIsARequestWithItsOutcome) {
  kp::basic_pool<zai, kp::policy::clock<kp::clock::manual>> p({{"ZAI_API_KEY_1", "zai-fake-json-secret-1"}});
  auto lease = *p.acquire();
  p.note_attempt(lease, kp::outcome::model_unavailable());  // a retired model, then the next one
  p.report(lease, kp::outcome::success());
  const auto snap = p.snapshot();
  const bj::value v = bj::parse(bj::serialize(kp::json::to_json(std::span(&snap, 1))));
  const auto& prov = v.at("providers").at(0);
  EXPECT_EQ(prov.at("requests").to_number<long>(), 2);
  EXPECT_EQ(prov.at("failures").to_number<long>(), 1);
  EXPECT_EQ(prov.at("misuse").to_number<long>(), 0);
  const auto& k = prov.at("keys").at(0);
  EXPECT_EQ(k.at("requests").to_number<long>(), 2);
  EXPECT_EQ(k.at("successes").to_number<long>(), 1);
  EXPECT_EQ(k.at("failures_by_kind").at("model_unavailable").to_number<long>(), 1);
}
