#pragma once
/// Turns `.env` assignments and the process environment into, per provider,
/// the ordered list of keys a pool takes.
///
/// Variables, for a provider with prefix P (e.g. GROQ):
/// - `P_API_KEY`            the unnumbered key (ordered first)
/// - `P_API_KEY_<N>`        key number N >= 1, any size, gaps and any order
///                          in the file allowed; keys are ordered by N
/// - `P_API_KEY[_N]_WEIGHT`       1..1000, for weighted selection (default 1)
/// - `P_API_KEY[_N]_ACCOUNT`      keys of one account share its limits
/// - `P_API_KEY[_N]_DAILY_LIMIT`  requests per provider day, 0 = unlimited
/// - `P_BASE_URL`           overrides the provider's base URL
/// Everything else is ignored. The process environment overrides the file
/// (the dotenv convention); env_options::order reverses that.

#include <keypool/config/diagnostic.hpp>
#include <keypool/config/dotenv.hpp>
#include <keypool/core/key.hpp>
#include <keypool/providers/builtin.hpp>
#include <keypool/providers/descriptor.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if !defined(_WIN32)
extern "C" {
extern char** environ;  // POSIX; declared here so no platform header is needed
}
#endif

namespace keypool::config {

/// A snapshot of environment variables (name, value).
using environment = std::vector<std::pair<std::string, std::string>>;

/// The current process environment. Copies only variables that could
/// matter (names containing "_API_KEY" or ending in "_BASE_URL") so the
/// snapshot does not hold unrelated secrets.
inline environment process_environment() {
  environment env;
#if defined(_WIN32)
  char** vars = _environ;
#else
  char** vars = environ;
#endif
  if (vars == nullptr) return env;
  for (char** p = vars; *p != nullptr; ++p) {
    const std::string_view kv(*p);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    const auto name = kv.substr(0, eq);
    const bool relevant = name.find("_API_KEY") != std::string_view::npos ||
                          (name.size() > 9 && name.substr(name.size() - 9) == "_BASE_URL");
    if (relevant) env.emplace_back(std::string(name), std::string(kv.substr(eq + 1)));
  }
  return env;
}

enum class precedence : std::uint8_t {
  environment_first,  ///< dotenv convention: a variable already set wins
  file_first,         ///< the file wins; the environment only fills gaps
};

struct env_options {
  precedence order = precedence::environment_first;
  /// load_key_config only: read the process environment at all.
  bool use_process_environment = true;
};

/// Where a value came from: a file and line, or "<environment>" and 0.
struct key_source {
  std::string file;
  std::size_t line = 0;
  std::string to_string() const { return line ? file + ":" + std::to_string(line) : file; }
};

/// One accepted key with where it was configured.
struct configured_key {
  key_spec spec;
  std::uint32_t number = 0;  ///< N of P_API_KEY_N; 0 for the unnumbered P_API_KEY
  key_source source;
};

/// The keys of one provider, in order.
struct provider_config {
  providers::provider_descriptor provider;  ///< with P_BASE_URL applied
  bool base_url_overridden = false;
  std::vector<configured_key> keys;

  /// What a pool takes.
  std::vector<key_spec> key_specs() const {
    std::vector<key_spec> out;
    out.reserve(keys.size());
    for (const auto& k : keys) out.push_back(k.spec);
    return out;
  }
};

/// The whole key configuration: every provider asked about (possibly with
/// no keys) and every problem found, file diagnostics first.
struct key_config {
  std::vector<provider_config> providers;
  std::vector<diagnostic> diagnostics;

  const provider_config* find(std::string_view id) const {
    for (const auto& p : providers)
      if (p.provider.id == id) return &p;
    return nullptr;
  }
  std::vector<key_spec> keys_for(std::string_view id) const {
    const auto* p = find(id);
    return p ? p->key_specs() : std::vector<key_spec>{};
  }
  std::size_t key_count() const {
    std::size_t n = 0;
    for (const auto& p : providers) n += p.keys.size();
    return n;
  }
  bool has_errors() const { return count(diagnostics, severity::error) != 0; }
};

namespace detail {

struct sourced_value {
  std::string value;
  key_source source;
};

enum class setting : std::uint8_t { none, weight, account, daily_limit };

/// What a variable name means for a provider with prefix P.
struct parsed_name {
  enum class kind : std::uint8_t { unrelated, key, setting, base_url, malformed } what = kind::unrelated;
  std::uint32_t number = 0;  // 0 = unnumbered
  detail::setting which = setting::none;
  std::string problem;  // for malformed
};

inline std::optional<setting> setting_of(std::string_view s) {
  if (s == "WEIGHT") return setting::weight;
  if (s == "ACCOUNT") return setting::account;
  if (s == "DAILY_LIMIT") return setting::daily_limit;
  return std::nullopt;
}

inline parsed_name parse_variable(std::string_view name, std::string_view prefix) {
  parsed_name r;
  using k = parsed_name::kind;
  if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix || name[prefix.size()] != '_') return r;
  std::string_view rest = name.substr(prefix.size() + 1);
  if (rest == "BASE_URL") {
    r.what = k::base_url;
    return r;
  }
  if (rest.substr(0, 7) != "API_KEY") return r;
  rest.remove_prefix(7);
  if (rest.empty()) {
    r.what = k::key;
    return r;
  }
  if (rest.front() != '_') return r;  // e.g. GROQ_API_KEYS: not ours
  rest.remove_prefix(1);
  if (auto s = setting_of(rest)) {
    r.what = k::setting;
    r.which = *s;
    return r;
  }
  std::size_t d = 0;
  while (d < rest.size() && rest[d] >= '0' && rest[d] <= '9') ++d;
  if (d == 0) {
    r.what = k::malformed;
    r.problem = "not a key variable (expected " + std::string(prefix) + "_API_KEY or " + std::string(prefix) +
                "_API_KEY_<N>, N = 1, 2, ...); ignored";
    return r;
  }
  const std::string_view digits = rest.substr(0, d);
  if (digits.size() > 1 && digits.front() == '0') {
    r.what = k::malformed;
    r.problem = "key numbers must not have leading zeros; ignored";
    return r;
  }
  if (digits.size() > 9) {
    r.what = k::malformed;
    r.problem = "key number too large; ignored";
    return r;
  }
  std::uint32_t n = 0;
  for (char c : digits) n = n * 10 + static_cast<std::uint32_t>(c - '0');
  if (n == 0) {
    r.what = k::malformed;
    r.problem = "key numbers start at 1; ignored";
    return r;
  }
  r.number = n;
  rest.remove_prefix(d);
  if (rest.empty()) {
    r.what = k::key;
    return r;
  }
  if (rest.front() == '_')
    if (auto s = setting_of(rest.substr(1))) {
      r.what = k::setting;
      r.which = *s;
      return r;
    }
  r.what = k::malformed;
  r.problem = "unknown per-key setting (expected _WEIGHT, _ACCOUNT or _DAILY_LIMIT); ignored";
  return r;
}

inline std::optional<std::uint64_t> parse_uint(std::string_view s) {
  if (s.empty() || s.size() > 12) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

inline std::string key_variable(std::string_view prefix, std::uint32_t n) {
  std::string v = std::string(prefix) + "_API_KEY";
  if (n) v += "_" + std::to_string(n);
  return v;
}

inline void add_diagnostic(std::vector<diagnostic>& out, const key_source& src, std::string var, std::string msg,
                           severity level = severity::error) {
  out.push_back({src.file, src.line, std::move(var), std::move(msg), level});
}

/// Merges file and environment: one value per variable. A file value the
/// environment overrides gets a note when the variable matters to a provider.
inline std::map<std::string, sourced_value> merge_variables(
    const dotenv_document& file, const environment& env, std::span<const providers::provider_descriptor> provider_list,
    const env_options& options, std::vector<diagnostic>& diagnostics) {
  std::map<std::string, sourced_value> vars;
  for (const auto& e : file.effective()) vars[e.name] = {e.value, {e.file, e.line}};
  for (const auto& [name, value] : env) {
    auto it = vars.find(name);
    const key_source env_src{std::string(environment_source), 0};
    if (it == vars.end()) {
      vars[name] = {value, env_src};
    } else if (options.order == precedence::environment_first) {
      bool matters = false;
      for (const auto& p : provider_list)
        matters = matters || parse_variable(name, p.env_prefix).what != parsed_name::kind::unrelated;
      if (matters && it->second.value != value)
        add_diagnostic(diagnostics, it->second.source, name, "overridden by the process environment", severity::note);
      it->second = {value, env_src};
    }
  }
  return vars;
}

/// The key variable and the settings given for one key number.
struct pending_key {
  std::optional<sourced_value> key;
  std::string key_var;
  std::map<setting, std::pair<std::string, sourced_value>> settings;
};

/// Applies `P_BASE_URL` to `pc` when it is an http(s) URL without spaces.
inline void apply_base_url(provider_config& pc, const std::string& name, const sourced_value& sv,
                           std::vector<diagnostic>& diagnostics) {
  const std::string_view v = sv.value;
  const bool scheme = v.substr(0, 7) == "http://" || v.substr(0, 8) == "https://";
  const bool clean =
      std::none_of(v.begin(), v.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; });
  if (!scheme || !clean) {
    add_diagnostic(diagnostics, sv.source, name, "must be an http:// or https:// URL without spaces; ignored");
  } else {
    pc.provider = pc.provider.with_base_url(sv.value);
    pc.base_url_overridden = true;
  }
}

/// Sorts the variables of provider `desc` by key number (0, the unnumbered
/// key, first); applies its base URL to `pc`.
inline std::map<std::uint32_t, pending_key> collect_keys(const providers::provider_descriptor& desc,
                                                         provider_config& pc,
                                                         const std::map<std::string, sourced_value>& vars,
                                                         std::vector<diagnostic>& diagnostics) {
  std::map<std::uint32_t, pending_key> by_number;
  for (const auto& [name, sv] : vars) {
    const auto pn = parse_variable(name, desc.env_prefix);
    using k = parsed_name::kind;
    switch (pn.what) {
      case k::unrelated: break;
      case k::malformed: add_diagnostic(diagnostics, sv.source, name, pn.problem, severity::warning); break;
      case k::base_url: apply_base_url(pc, name, sv, diagnostics); break;
      case k::key:
        by_number[pn.number].key = sv;
        by_number[pn.number].key_var = name;
        break;
      case k::setting: by_number[pn.number].settings[pn.which] = {name, sv}; break;
    }
  }
  return by_number;
}

/// Applies one per-key setting (`sname` = `sv`) to `ck`, or reports why not.
inline void apply_setting(configured_key& ck, setting which, const std::string& sname, const sourced_value& sv,
                          std::vector<diagnostic>& diagnostics) {
  switch (which) {
    case setting::weight: {
      const auto v = parse_uint(sv.value);
      if (!v || *v < 1 || *v > 1000)
        add_diagnostic(diagnostics, sv.source, sname, "must be a whole number from 1 to 1000; using 1");
      else
        ck.spec.weight = static_cast<std::uint32_t>(*v);
      break;
    }
    case setting::daily_limit: {
      const auto v = parse_uint(sv.value);
      if (!v || *v > 0xFFFFFFFFull)
        add_diagnostic(diagnostics, sv.source, sname,
                       "must be a whole number of requests per day (0 = unlimited); ignored");
      else
        ck.spec.daily_limit = static_cast<std::uint32_t>(*v);
      break;
    }
    case setting::account: {
      const std::string_view v = sv.value;
      const bool bad_chars =
          std::any_of(v.begin(), v.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
      if (v.empty() || v.size() > 128 || bad_chars || v.front() == ' ' || v.back() == ' ')
        add_diagnostic(diagnostics, sv.source, sname,
                       "must be 1 to 128 printable characters without leading or trailing "
                       "spaces; ignored");
      else
        ck.spec.account = sv.value;
      break;
    }
    case setting::none: break;
  }
}

/// (secret, variable) pairs of the keys accepted so far.
using accepted_secrets = std::vector<std::pair<std::string, std::string>>;

/// Turns the collected variables into `pc.keys`: a key with a problem, or
/// listed twice for this provider, is rejected; one also given to another
/// provider (in `all_secrets`) is kept with a warning.
inline void accept_keys(const providers::provider_descriptor& desc, provider_config& pc,
                        std::map<std::uint32_t, pending_key>& by_number, accepted_secrets& all_secrets,
                        std::vector<diagnostic>& diagnostics) {
  accepted_secrets seen;  // in this provider
  for (auto& [n, p] : by_number) {
    const std::string var = key_variable(desc.env_prefix, n);
    if (!p.key) {
      for (const auto& [which, named] : p.settings)
        add_diagnostic(diagnostics, named.second.source, named.first,
                       "setting for " + var + ", which is not defined; ignored", severity::warning);
      continue;
    }
    const auto& src = p.key->source;
    if (auto why = secret_problem(p.key->value)) {
      add_diagnostic(diagnostics, src, var, "key rejected: " + *why);
      continue;
    }
    const std::string& secret = p.key->value;
    auto dup = std::find_if(seen.begin(), seen.end(), [&](auto& s) { return s.first == secret; });
    if (dup != seen.end()) {
      add_diagnostic(
          diagnostics, src, var,
          "same key as " + dup->second + "; ignored (a key listed twice would skew rotation and statistics)");
      continue;
    }
    auto other = std::find_if(all_secrets.begin(), all_secrets.end(), [&](auto& s) { return s.first == secret; });
    if (other != all_secrets.end())
      add_diagnostic(diagnostics, src, var, "same key as " + other->second + " (another provider)", severity::warning);
    seen.emplace_back(secret, var);
    all_secrets.emplace_back(secret, var);

    configured_key ck;
    ck.spec.variable = var;
    ck.spec.secret = secret;
    ck.number = n;
    ck.source = src;
    for (const auto& [which, named] : p.settings) apply_setting(ck, which, named.first, named.second, diagnostics);
    pc.keys.push_back(std::move(ck));
  }
}

}  // namespace detail

/// Builds the key configuration from a parsed file and an environment
/// snapshot. Never throws for bad content: every rejected key or setting is
/// a diagnostic and the valid keys still load.
inline key_config build_key_config(
    const dotenv_document& file, const environment& env,
    std::span<const providers::provider_descriptor> provider_list = providers::builtin_descriptors(),
    const env_options& options = {}) {
  key_config cfg;
  cfg.diagnostics = file.diagnostics;
  const auto vars = detail::merge_variables(file, env, provider_list, options, cfg.diagnostics);
  detail::accepted_secrets all_secrets;  // across providers
  for (const auto& desc : provider_list) {
    provider_config pc;
    pc.provider = desc;
    auto by_number = detail::collect_keys(desc, pc, vars, cfg.diagnostics);
    detail::accept_keys(desc, pc, by_number, all_secrets, cfg.diagnostics);
    cfg.providers.push_back(std::move(pc));
  }
  return cfg;
}

/// Reads `dotenv_path` and (unless disabled) the process environment and
/// builds the configuration for the built-in providers. Throws
/// dotenv_file_error when the file cannot be read.
inline key_config load_key_config(
    const std::filesystem::path& dotenv_path, const env_options& options = {},
    std::span<const providers::provider_descriptor> provider_list = providers::builtin_descriptors()) {
  const auto doc = load_dotenv(dotenv_path);
  const environment env = options.use_process_environment ? process_environment() : environment{};
  return build_key_config(doc, env, provider_list, options);
}

}  // namespace keypool::config
