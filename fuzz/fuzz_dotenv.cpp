/// libFuzzer target: the .env parser and the key configuration built from it.
///
/// Input: .env text; an optional "\n---\n" separates a second .env-format
/// part whose assignments act as the process environment. Every "@@" is
/// replaced by a canary secret, so the seeds can put a secret anywhere
/// (values, quotes, malformed lines, names) and the target can check that it
/// never reaches a diagnostic, the config JSON, a pool snapshot, a report or
/// an error message.
///
/// Invariants: no exception; entries have valid names and plausible lines;
/// every accepted key passes secret_problem (no CR/LF/NUL/whitespace: no
/// header injection) and the per-provider lists pass validate(); the canary
/// appears in no output.

#include "fuzz_check.hpp"

#include <keypool/config/dotenv.hpp>
#include <keypool/config/env_keys.hpp>
#include <keypool/core/pool.hpp>
#include <keypool/json/config_json.hpp>
#include <keypool/json/stats_json.hpp>
#include <keypool/report/prometheus.hpp>
#include <keypool/report/text.hpp>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

/// '/' is not a name character, so the distinctive part after it can only
/// ever be part of a value.
constexpr std::string_view canary = "x/C4n4ry9Zq7w";
constexpr std::string_view canary_core = "C4n4ry9Zq7";

std::string with_canaries(std::string_view in) {
  std::string out;
  out.reserve(in.size() + 64);
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '@' && i + 1 < in.size() && in[i + 1] == '@') {
      out += canary;
      ++i;
    } else {
      out += in[i];
    }
  }
  return out;
}

void check_no_canary(std::string_view text, const char* where) {
  KEYPOOL_FUZZ_CHECK(!keypool::fuzz::contains(text, canary_core), where);
}

void check_document(const keypool::config::dotenv_document& doc, std::string_view text) {
  const std::size_t lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n') +
                                                     std::count(text.begin(), text.end(), '\r')) +
                            1;
  for (const auto& e : doc.entries) {
    KEYPOOL_FUZZ_CHECK(!e.name.empty(), "entry without a name");
    KEYPOOL_FUZZ_CHECK(!(e.name.front() >= '0' && e.name.front() <= '9'), "name starts with a digit");
    for (char c : e.name) KEYPOOL_FUZZ_CHECK(keypool::config::detail::is_name_char(c), "bad name character");
    KEYPOOL_FUZZ_CHECK(e.line >= 1 && e.line <= lines, "entry line out of range");
  }
  for (const auto& d : doc.diagnostics) {
    KEYPOOL_FUZZ_CHECK(d.line >= 1 && d.line <= lines, "diagnostic line out of range");
    check_no_canary(d.to_string(), "canary in a dotenv diagnostic");
  }
}

void check_pool(const keypool::config::provider_config& pc) {
  auto keys = pc.key_specs();
  keypool::validate(keys);                 // throws (and so crashes the target) on a bad list
  for (auto& k : keys) k.account.clear();  // accounts are shown on purpose; not secrets
  keypool::dynamic_pool pool(pc.provider.info(), keys);
  auto l = pool.acquire();
  KEYPOOL_FUZZ_CHECK(l.has_value(), "fresh pool with keys has none available");
  KEYPOOL_FUZZ_CHECK(keypool::secret_problem(l->secret()) == std::nullopt, "handed-out secret is unsafe");
  pool.report(*l, keypool::outcome::invalid_key());
  const auto snap = pool.snapshot();
  check_no_canary(keypool::report::text(snap), "canary in the text report");
  check_no_canary(keypool::report::prometheus(snap), "canary in the Prometheus text");
  check_no_canary(boost::json::serialize(keypool::json::to_json(snap)), "canary in stats JSON");
  for (const auto& k : snap.keys) check_no_canary(k.redacted, "canary in a redacted form");
  if (keys.size() == 1) {
    auto none = pool.acquire();
    KEYPOOL_FUZZ_CHECK(!none, "disabled key handed out");
    check_no_canary(none.error().message(), "canary in unavailable_error");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  if (keypool::fuzz::contains(raw, canary_core)) return 0;  // the fuzzer wrote the canary itself
  const std::string input = with_canaries(raw);
  std::string_view file_part = input, env_part;
  if (const auto sep = input.find("\n---\n"); sep != std::string::npos) {
    file_part = std::string_view(input).substr(0, sep);
    env_part = std::string_view(input).substr(sep + 5);
  }
  using namespace keypool::config;
  const dotenv_document doc = parse_dotenv(file_part, "fuzz.env");
  check_document(doc, file_part);
  const dotenv_document env_doc = parse_dotenv(env_part, "env");
  environment env;
  for (const auto& e : env_doc.entries) env.emplace_back(e.name, e.value);

  env_options opts;
  opts.order = (size & 1) ? precedence::file_first : precedence::environment_first;
  key_config cfg = build_key_config(doc, env, keypool::providers::builtin_descriptors(), opts);
  for (const auto& d : cfg.diagnostics) check_no_canary(d.to_string(), "canary in a key_config diagnostic");
  for (const auto& p : cfg.providers) {
    for (const auto& k : p.keys)
      KEYPOOL_FUZZ_CHECK(keypool::secret_problem(k.spec.secret) == std::nullopt, "unsafe secret accepted");
    if (!p.keys.empty()) check_pool(p);
  }
  // Base URLs and accounts are shown on purpose; everything else must be clean.
  for (auto& p : cfg.providers) {
    p.provider.base_url.clear();
    for (auto& k : p.keys) k.spec.account.clear();
  }
  check_no_canary(keypool::json::config_to_json_string(cfg), "canary in config JSON");
  return 0;
}
