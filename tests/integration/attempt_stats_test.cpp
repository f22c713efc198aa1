/// Statistics count HTTP attempts, not leases: a retired model answered 404
/// and then the next model of the same key answered 200 are two requests
/// against that key, one of them a failure, in the snapshot, the text table,
/// the JSON and the Prometheus exposition.

#include <keypool/chain/chain.hpp>
#include <keypool/core/pool.hpp>
#include <keypool/http/client.hpp>
#include <keypool/json/stats_json.hpp>
#include <keypool/mock/fleet.hpp>
#include <keypool/report/prometheus.hpp>
#include <keypool/report/text.hpp>

#include <gtest/gtest.h>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace integration_attempt_stats_test {
namespace {

using namespace std::chrono_literals;
namespace http = keypool::http;
namespace mock = keypool::mock;

http::transport_options fast() {
  http::transport_options o;
  o.connect_timeout = 2s;
  o.read_timeout = 5s;
  o.total_timeout = 10s;
  o.proxy = http::proxy_options{};
  return o;
}

TEST(AttemptStats, RetiredModelThenWorkingOneOnTheSameKeyAreTwoRequests) {
  mock::fleet_config cfg;
  mock::provider_behavior groq;
  groq.id = "groq";
  groq.keys = mock::sample_keys("groq", 1);
  groq.retired = {"retired-model"};
  cfg.providers.push_back(std::move(groq));
  cfg.threads = 1;
  mock::fleet f(cfg);
  keypool::dynamic_pool pool(f.descriptor("groq").info(), f.key_specs("groq"));
  auto chain = keypool::make_chain(pool);
  http::transport t(fast());
  http::client c(chain, t, {{f.descriptor("groq"), {"retired-model", "working-model"}}});
  keypool::wire::chat_request rq;
  rq.prompt = "hello";
  rq.max_tokens = 16;
  auto r = c.chat(rq);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->attempts.size(), 2u);
  EXPECT_EQ(r->attempts[0].outcome.kind, keypool::outcome_kind::model_unavailable);
  EXPECT_EQ(f.providers().stats("groq").requests, 2u);

  const auto s = pool.snapshot();
  ASSERT_EQ(s.keys.size(), 1u);
  const auto& k = s.keys[0];
  EXPECT_EQ(k.requests, 2u);
  EXPECT_EQ(k.failures(), 1u);
  EXPECT_EQ(k.successes(), 1u);
  EXPECT_EQ(k.count(keypool::outcome_kind::model_unavailable), 1u);
  EXPECT_EQ(s.misuse, 0u);

  EXPECT_NE(keypool::report::text(s).find(k.variable + ": 2 requests, 1 failures"), std::string::npos)
      << keypool::report::text(s);

  const auto j = keypool::json::to_json(s);
  EXPECT_EQ(j.at("requests").to_number<std::uint64_t>(), 2u);
  EXPECT_EQ(j.at("failures").to_number<std::uint64_t>(), 1u);
  const auto& kj = j.at("keys").as_array().at(0).as_object();
  EXPECT_EQ(kj.at("requests").to_number<std::uint64_t>(), 2u);
  EXPECT_EQ(kj.at("failures").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(kj.at("failures_by_kind").at("model_unavailable").to_number<std::uint64_t>(), 1u);

  const std::string prom = keypool::report::prometheus(s);
  const std::string labels = "provider=\"groq\",key=\"" + k.variable + "\",fingerprint=\"" + k.fingerprint + "\"";
  EXPECT_NE(prom.find("keypool_requests_total{" + labels + "} 2\n"), std::string::npos) << prom;
  EXPECT_NE(prom.find("keypool_outcomes_total{" + labels + ",outcome=\"model_unavailable\"} 1\n"), std::string::npos)
      << prom;
  EXPECT_NE(prom.find("keypool_outcomes_total{" + labels + ",outcome=\"success\"} 1\n"), std::string::npos) << prom;
}

}  // namespace

}  // namespace integration_attempt_stats_test
