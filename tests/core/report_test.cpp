// Prometheus exposition of a pool's statistics.
#include <keypool/keypool.hpp>
#include <keypool/report/prometheus.hpp>
#include <keypool/report/text.hpp>

#include <gtest/gtest.h>

namespace kp = keypool;

namespace {
struct mistral {
  static kp::provider_info info() { return {"mistral", "MISTRAL"}; }
};
}  // namespace

TEST(Prometheus, SeriesPerKeyWithLabelsAndNoSecret) {
  kp::basic_pool<mistral, kp::policy::clock<kp::clock::manual>> p(
      {{"MISTRAL_API_KEY_1", "mistral-secret-value-one"}, {"MISTRAL_API_KEY_2", "mistral-secret-value-two"}});
  p.report(*p.acquire(), kp::outcome::success());
  p.report(*p.acquire(), kp::outcome::out_of_credit());
  const std::string text = kp::report::prometheus(p.snapshot());
  const std::string fp1 = kp::fingerprint("mistral-secret-value-one");
  const std::string fp2 = kp::fingerprint("mistral-secret-value-two");
  EXPECT_NE(text.find("# TYPE keypool_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("keypool_requests_total{provider=\"mistral\",key=\"MISTRAL_API_KEY_1\","
                      "fingerprint=\"" +
                      fp1 + "\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("keypool_outcomes_total{provider=\"mistral\",key=\"MISTRAL_API_KEY_2\","
                      "fingerprint=\"" +
                      fp2 + "\",outcome=\"out_of_credit\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("keypool_key_available{provider=\"mistral\",key=\"MISTRAL_API_KEY_2\","
                      "fingerprint=\"" +
                      fp2 + "\",state=\"out_of_credit\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("keypool_key_available_in_seconds{provider=\"mistral\",key=\"MISTRAL_API_KEY_2\","
                      "fingerprint=\"" +
                      fp2 + "\"} 900.000\n"),
            std::string::npos);
  EXPECT_EQ(text.find("secret-value"), std::string::npos);
  EXPECT_EQ(kp::report::detail::label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(Prometheus, SecondsAreExactAndLocaleFree) {
  // Formatted from integer milliseconds, never through the C locale (which
  // gives "60,000000" under de_DE and is rejected by Prometheus).
  using ms = std::chrono::milliseconds;
  EXPECT_EQ(kp::report::detail::seconds(ms(60000)), "60.000");
  EXPECT_EQ(kp::report::detail::seconds(ms(61005)), "61.005");
  EXPECT_EQ(kp::report::detail::seconds(ms(7)), "0.007");
  EXPECT_EQ(kp::report::detail::seconds(ms(0)), "0.000");
}

TEST(Prometheus, MisuseIsACounterPerPoolAndTheTextTableNamesItOnlyWhenSome) {
  kp::basic_pool<mistral, kp::policy::clock<kp::clock::manual>> p({{"MISTRAL_API_KEY_1", "mistral-secret-value-one"}});
  EXPECT_NE(kp::report::prometheus(p.snapshot()).find("keypool_misuse_total{provider=\"mistral\"} 0\n"),
            std::string::npos);
  EXPECT_EQ(kp::report::text(p.snapshot()).find("Misused"), std::string::npos);
  p.report(kp::lease{}, kp::outcome::success());
  EXPECT_NE(kp::report::prometheus(p.snapshot())
                .find("# TYPE keypool_misuse_total counter\n"
                      "keypool_misuse_total{provider=\"mistral\"} 1\n"),
            std::string::npos);
  EXPECT_NE(kp::report::text(p.snapshot()).find("   Misused leases (ignored): 1\n"), std::string::npos);
}
