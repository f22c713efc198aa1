#pragma once
/// Configuration of the mock provider fleet: per provider, the keys it knows
/// (with per-key limits and states), provider-wide overload, latency and
/// injected faults. Plain data, built in code or read from JSON:
///
///   { "port": 0, "tls": false, "threads": 2, "seed": 42,
///     "providers": {
///       "groq": { "latency_ms": 20, "jitter_ms": 10, "overloaded": false, "overload_rate": 0,
///                 "models": [], "retired": ["llama-3.2-11b-vision-preview"],
///                 "rate_limit_headers": true,
///                 "faults": { "error_rate": 0, "burst_every": 0, "burst_length": 0,
///                             "truncate_rate": 0, "malformed_rate": 0,
///                             "stall_rate": 0, "stall_ms": 30000, "reset_rate": 0 },
///                 "keys": [ { "variable": "GROQ_API_KEY_1", "secret": "gsk_…",
///                             "per_minute": 30, "per_day": 14400,
///                             "state": "active", "account": "" } ] } } }
///
/// Every field is optional except a key's "secret". Unknown fields are
/// errors (a typo must not silently turn a fault off). The secrets are the
/// fleet's own fake keys: they are never printed.

#include <keypool/providers/builtin.hpp>
#include <keypool/providers/catalog_json.hpp>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::mock {

/// What the mock provider thinks of a key it knows.
enum class key_state : std::uint8_t {
  active,         ///< works, within its limits
  revoked,        ///< answered as an invalid key (the provider's 401/400/403)
  out_of_credit,  ///< answered as no balance (429 insufficient_quota, 402, 1113, ...)
  forbidden,      ///< known but not allowed (region, suspended account)
};

constexpr std::string_view to_string(key_state s) noexcept {
  switch (s) {
    case key_state::active: return "active";
    case key_state::revoked: return "revoked";
    case key_state::out_of_credit: return "out_of_credit";
    case key_state::forbidden: return "forbidden";
  }
  return "unknown";
}

struct key_behavior {
  std::string variable;          ///< name in generated .env files: "GROQ_API_KEY_1"
  std::string secret;            ///< the fake key the mock accepts; never printed
  std::uint32_t per_minute = 0;  ///< requests per 60 s window; 0 = unlimited
  std::uint32_t per_day = 0;     ///< requests per provider day; 0 = unlimited
  key_state state = key_state::active;
  /// Keys of one account share the account's counters (Groq: organisation,
  /// Gemini: project, Z.AI: account). Empty: the key is its own account.
  std::string account{};
};

/// Injected misbehaviour. Rates are probabilities per request (0..1).
struct fault_config {
  double error_rate = 0;           ///< answered 500 in the provider's format
  std::uint32_t burst_every = 0;   ///< every N-th request starts a burst...
  std::uint32_t burst_length = 0;  ///< ...of this many 500/502/503 answers
  double truncate_rate = 0;        ///< a 200 whose body is cut short, then the connection closes
  double malformed_rate = 0;       ///< a 200 whose body is not valid JSON
  double stall_rate = 0;           ///< no answer for `stall`, then the connection closes
  std::chrono::milliseconds stall{30'000};
  double reset_rate = 0;  ///< the connection is reset (RST) without an answer
};

struct provider_behavior {
  std::string id;  ///< built-in provider id: zai nvidia groq mistral anthropic openai google
  std::vector<key_behavior> keys;
  bool overloaded = false;               ///< every request: 529 (Anthropic), 429 code 1305 (Z.AI), 503 (others)
  double overload_rate = 0;              ///< share of requests answered as overloaded
  std::chrono::milliseconds latency{0};  ///< added before every answer
  std::chrono::milliseconds jitter{0};   ///< plus uniformly 0..jitter
  std::vector<std::string> models;       ///< accepted models; empty: any
  std::vector<std::string> retired;      ///< answered as decommissioned / not found
  bool rate_limit_headers = true;        ///< send the provider's rate-limit headers
  fault_config faults{};
};

struct fleet_config {
  std::vector<provider_behavior> providers;
  std::uint16_t port = 0;   ///< 0: an ephemeral port
  bool tls = false;         ///< HTTPS with a generated certificate for localhost and 127.0.0.1
  unsigned threads = 2;     ///< I/O threads of the server
  std::uint64_t seed = 42;  ///< seeds the fault and jitter dice (reproducible runs)

  const provider_behavior* find(std::string_view id) const {
    for (const auto& p : providers)
      if (p.id == id) return &p;
    return nullptr;
  }
  provider_behavior* find(std::string_view id) {
    for (auto& p : providers)
      if (p.id == id) return &p;
    return nullptr;
  }
};

/// A fleet configuration that cannot be used; the message names the JSON
/// path ("providers.groq.keys[1].per_minute: ...") and never a secret.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

namespace json = boost::json;

inline void check_fields(const json::object& o, std::initializer_list<std::string_view> allowed,
                         const std::string& path) {
  for (const auto& kv : o) {
    bool ok = false;
    for (auto a : allowed) ok = ok || kv.key() == a;
    if (!ok) throw config_error(path + std::string(kv.key()) + ": unknown field");
  }
}

inline const json::object& as_object(const json::value& v, const std::string& path) {
  if (!v.is_object()) throw config_error(path + ": must be an object");
  return v.get_object();
}

inline double rate_of(const json::value& v, const std::string& path) {
  double d = 0;
  if (v.is_double())
    d = v.get_double();
  else if (v.is_int64())
    d = static_cast<double>(v.get_int64());
  else if (v.is_uint64())
    d = static_cast<double>(v.get_uint64());
  else
    throw config_error(path + ": must be a number from 0 to 1");
  if (!(d >= 0 && d <= 1)) throw config_error(path + ": must be a number from 0 to 1");
  return d;
}

inline std::uint64_t uint_of(const json::value& v, const std::string& path, std::uint64_t max) {
  std::uint64_t u = 0;
  if (v.is_uint64())
    u = v.get_uint64();
  else if (v.is_int64() && v.get_int64() >= 0)
    u = static_cast<std::uint64_t>(v.get_int64());
  else
    throw config_error(path + ": must be a whole number >= 0");
  if (u > max) throw config_error(path + ": must be at most " + std::to_string(max));
  return u;
}

inline bool bool_of(const json::value& v, const std::string& path) {
  if (!v.is_bool()) throw config_error(path + ": must be true or false");
  return v.get_bool();
}

inline std::string string_of(const json::value& v, const std::string& path) {
  if (!v.is_string()) throw config_error(path + ": must be a string");
  return std::string(v.get_string());
}

inline std::vector<std::string> strings_of(const json::value& v, const std::string& path) {
  if (!v.is_array()) throw config_error(path + ": must be an array of strings");
  std::vector<std::string> out;
  for (const auto& s : v.get_array()) out.push_back(string_of(s, path + "[]"));
  return out;
}

inline key_state state_of(const json::value& v, const std::string& path) {
  const auto s = string_of(v, path);
  for (auto k : {key_state::active, key_state::revoked, key_state::out_of_credit, key_state::forbidden})
    if (s == to_string(k)) return k;
  throw config_error(path + ": must be one of active, revoked, out_of_credit, forbidden");
}

inline fault_config faults_of(const json::value& v, const std::string& path) {
  const auto& o = as_object(v, path);
  check_fields(o,
               {"error_rate", "burst_every", "burst_length", "truncate_rate", "malformed_rate", "stall_rate",
                "stall_ms", "reset_rate"},
               path + ".");
  fault_config f;
  for (const auto& kv : o) {
    const std::string p = path + "." + std::string(kv.key());
    const auto k = kv.key();
    if (k == "error_rate")
      f.error_rate = rate_of(kv.value(), p);
    else if (k == "burst_every")
      f.burst_every = static_cast<std::uint32_t>(uint_of(kv.value(), p, 1'000'000'000));
    else if (k == "burst_length")
      f.burst_length = static_cast<std::uint32_t>(uint_of(kv.value(), p, 1'000'000'000));
    else if (k == "truncate_rate")
      f.truncate_rate = rate_of(kv.value(), p);
    else if (k == "malformed_rate")
      f.malformed_rate = rate_of(kv.value(), p);
    else if (k == "stall_rate")
      f.stall_rate = rate_of(kv.value(), p);
    else if (k == "stall_ms")
      f.stall = std::chrono::milliseconds(uint_of(kv.value(), p, 3'600'000));
    else if (k == "reset_rate")
      f.reset_rate = rate_of(kv.value(), p);
  }
  return f;
}

/// One key; `n` (1-based) names it <PREFIX>_API_KEY_<n> unless it says otherwise.
inline key_behavior key_of(const json::value& v, const std::string& path, const std::string& env_prefix,
                           std::size_t n) {
  const auto& o = as_object(v, path);
  check_fields(o, {"variable", "secret", "per_minute", "per_day", "state", "account"}, path + ".");
  key_behavior kb;
  kb.variable = env_prefix + "_API_KEY_" + std::to_string(n);
  for (const auto& f : o) {
    const std::string fp = path + "." + std::string(f.key());
    if (f.key() == "variable")
      kb.variable = string_of(f.value(), fp);
    else if (f.key() == "secret")
      kb.secret = string_of(f.value(), fp);
    else if (f.key() == "per_minute")
      kb.per_minute = static_cast<std::uint32_t>(uint_of(f.value(), fp, 0xFFFFFFFFu));
    else if (f.key() == "per_day")
      kb.per_day = static_cast<std::uint32_t>(uint_of(f.value(), fp, 0xFFFFFFFFu));
    else if (f.key() == "state")
      kb.state = state_of(f.value(), fp);
    else if (f.key() == "account")
      kb.account = string_of(f.value(), fp);
  }
  if (kb.secret.empty()) throw config_error(path + ".secret: required, non-empty");
  for (char c : kb.secret)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      throw config_error(path + ".secret: whitespace or control character");
  return kb;
}

/// A provider's keys, each with its own secret.
inline std::vector<key_behavior> keys_of(const json::value& v, const std::string& path, const std::string& env_prefix) {
  if (!v.is_array()) throw config_error(path + ": must be an array of key objects");
  std::vector<key_behavior> keys;
  std::size_t i = 0;
  for (const auto& kv : v.get_array()) {
    const std::string kp = path + "[" + std::to_string(i++) + "]";
    key_behavior kb = key_of(kv, kp, env_prefix, i);
    for (const auto& other : keys)
      if (other.secret == kb.secret) throw config_error(kp + ".secret: same key as " + other.variable);
    keys.push_back(std::move(kb));
  }
  return keys;
}

inline provider_behavior provider_of(std::string_view id, const json::value& v, const std::string& path) {
  const auto* desc = providers::find_builtin(id);
  if (desc == nullptr)
    throw config_error(path + ": unknown provider (expected zai nvidia groq mistral anthropic openai google)");
  const auto& o = as_object(v, path);
  check_fields(o,
               {"keys", "overloaded", "overload_rate", "latency_ms", "jitter_ms", "models", "retired",
                "rate_limit_headers", "faults"},
               path + ".");
  provider_behavior p;
  p.id = std::string(id);
  for (const auto& kv : o) {
    const std::string fp = path + "." + std::string(kv.key());
    const auto k = kv.key();
    if (k == "overloaded")
      p.overloaded = bool_of(kv.value(), fp);
    else if (k == "overload_rate")
      p.overload_rate = rate_of(kv.value(), fp);
    else if (k == "latency_ms")
      p.latency = std::chrono::milliseconds(uint_of(kv.value(), fp, 600'000));
    else if (k == "jitter_ms")
      p.jitter = std::chrono::milliseconds(uint_of(kv.value(), fp, 600'000));
    else if (k == "models")
      p.models = strings_of(kv.value(), fp);
    else if (k == "retired")
      p.retired = strings_of(kv.value(), fp);
    else if (k == "rate_limit_headers")
      p.rate_limit_headers = bool_of(kv.value(), fp);
    else if (k == "faults")
      p.faults = faults_of(kv.value(), fp);
    else if (k == "keys")
      p.keys = keys_of(kv.value(), fp, desc->env_prefix);
  }
  return p;
}

/// A written .env holds one line per variable: two keys under one name
/// (an explicit "variable" equal to another key's default
/// <PREFIX>_API_KEY_<n>, say) would silently lose one of them.
inline void check_unique_variables(const fleet_config& cfg) {
  for (std::size_t a = 0; a < cfg.providers.size(); ++a)
    for (std::size_t i = 0; i < cfg.providers[a].keys.size(); ++i)
      for (std::size_t b = a; b < cfg.providers.size(); ++b)
        for (std::size_t j = b == a ? i + 1 : 0; j < cfg.providers[b].keys.size(); ++j)
          if (cfg.providers[a].keys[i].variable == cfg.providers[b].keys[j].variable) {
            auto path = [&](std::size_t p, std::size_t k) {
              return "providers." + cfg.providers[p].id + ".keys[" + std::to_string(k) + "]";
            };
            throw config_error(path(b, j) + ".variable: " + cfg.providers[b].keys[j].variable +
                               " is also the name of " + path(a, i) + " (each key needs its own variable)");
          }
}

}  // namespace detail

/// Parses the JSON form (schema above). Throws config_error.
inline fleet_config parse_fleet_config(std::string_view text) {
  namespace json = boost::json;
  boost::system::error_code ec;
  const json::value root = json::parse(text, ec);
  if (ec) throw config_error("fleet config: invalid JSON: " + ec.message());
  // The parsed tree keeps only the last of a member given twice.
  if (const auto twice = providers::detail::duplicate_keys(text); !twice.empty())
    throw config_error(twice.front().path.substr(2) + ": " + twice.front().message);  // without "$."
  const auto& o = detail::as_object(root, "fleet config");
  detail::check_fields(o, {"port", "tls", "threads", "seed", "providers"}, "");
  fleet_config cfg;
  for (const auto& kv : o) {
    const std::string p(kv.key());
    if (kv.key() == "port")
      cfg.port = static_cast<std::uint16_t>(detail::uint_of(kv.value(), p, 65535));
    else if (kv.key() == "tls")
      cfg.tls = detail::bool_of(kv.value(), p);
    else if (kv.key() == "threads")
      cfg.threads = static_cast<unsigned>(detail::uint_of(kv.value(), p, 64));
    else if (kv.key() == "seed")
      cfg.seed = detail::uint_of(kv.value(), p, ~std::uint64_t{0});
    else if (kv.key() == "providers") {
      const auto& po = detail::as_object(kv.value(), p);
      for (const auto& pv : po)
        cfg.providers.push_back(detail::provider_of(pv.key(), pv.value(), "providers." + std::string(pv.key())));
    }
  }
  if (cfg.threads == 0) cfg.threads = 1;
  detail::check_unique_variables(cfg);
  return cfg;
}

/// Reads and parses a JSON file. Throws config_error naming the file.
inline fleet_config load_fleet_config(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config_error(path.string() + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  try {
    return parse_fleet_config(ss.str());
  } catch (const config_error& e) {
    throw config_error(path.string() + ": " + e.what());
  }
}

/// Fake keys that look like the provider's ("gsk_…", "nvapi-…") but say
/// what they are. Long enough that redaction shows a 4-character tail.
inline std::string sample_secret(std::string_view provider_id, int n) {
  std::string prefix;
  if (provider_id == "groq")
    prefix = "gsk_";
  else if (provider_id == "nvidia")
    prefix = "nvapi-";
  else if (provider_id == "anthropic")
    prefix = "sk-ant-";
  else if (provider_id == "openai")
    prefix = "sk-proj-";
  else if (provider_id == "google")
    prefix = "AIza";
  else if (provider_id == "zai")
    prefix = "zai.";
  return prefix + "mock0fake0" + std::string(provider_id) + "0key0" + std::to_string(n) + "x" +
         std::to_string(1000 + n * 37);
}

/// `n` active keys with the given limits and sample secrets.
inline std::vector<key_behavior> sample_keys(std::string_view provider_id, int n, std::uint32_t per_minute = 0,
                                             std::uint32_t per_day = 0) {
  const auto* d = providers::find_builtin(provider_id);
  std::vector<key_behavior> out;
  for (int i = 1; i <= n; ++i)
    out.push_back({(d ? d->env_prefix : std::string("MOCK")) + "_API_KEY_" + std::to_string(i),
                   sample_secret(provider_id, i),
                   per_minute,
                   per_day,
                   key_state::active,
                   {}});
  return out;
}

/// The fleet `make demo` and `keypool mock` run without a config file: all
/// seven providers with small per-minute limits (so a burst of requests
/// shows rotation, lockouts and failover), one revoked key, one key out of
/// credit, a retired NVIDIA model, 10-60 ms of latency.
inline fleet_config sample_fleet() {
  using std::chrono::milliseconds;
  fleet_config cfg;
  auto add = [&](const char* id, int n, std::uint32_t per_minute, int latency, int jitter) -> provider_behavior& {
    provider_behavior p;
    p.id = id;
    p.keys = sample_keys(id, n, per_minute);
    p.latency = milliseconds(latency);
    p.jitter = milliseconds(jitter);
    cfg.providers.push_back(std::move(p));
    return cfg.providers.back();
  };
  add("anthropic", 2, 3, 40, 30);
  auto& openai = add("openai", 2, 3, 30, 20);
  openai.keys[1].state = key_state::out_of_credit;
  auto& google = add("google", 2, 4, 25, 20);
  google.keys[1].state = key_state::revoked;
  add("zai", 2, 4, 35, 25);
  add("groq", 3, 4, 10, 10);
  auto& nvidia = add("nvidia", 3, 5, 30, 30);
  nvidia.retired = {"meta/llama-3.2-11b-vision-instruct"};
  add("mistral", 2, 5, 30, 20);
  return cfg;
}

}  // namespace keypool::mock
