// Statistics out of the process: the seed's console table, JSON (stable field
// names, see docs/cli.md) and Prometheus text for a /metrics endpoint.
#include <keypool/json/stats_json.hpp>
#include <keypool/keypool.hpp>
#include <keypool/providers/builtin.hpp>
#include <keypool/report/prometheus.hpp>

#include <boost/json/serialize.hpp>

#include <cstdio>

namespace kp = keypool;

int main() {
  kp::pool<kp::providers::mistral> pool(
      {{"MISTRAL_API_KEY_1", "mistral-example-key-1"}, {"MISTRAL_API_KEY_2", "mistral-example-key-2"}});
  pool.report(pool.acquire_or_throw(), kp::outcome::success());
  pool.report(pool.acquire_or_throw(), kp::outcome::out_of_credit());
  const auto snap = pool.snapshot();

  std::fputs(kp::report::text(snap).c_str(), stdout);
  std::puts("\n-- JSON --");
  std::puts(boost::json::serialize(kp::json::to_json(snap)).c_str());
  std::puts("\n-- Prometheus --");
  std::fputs(kp::report::prometheus(snap).c_str(), stdout);
}
