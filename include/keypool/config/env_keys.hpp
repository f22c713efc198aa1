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
/// Keys and their settings are also read under the names the provider's own
/// documentation uses (env_prefix_aliases: `GEMINI_API_KEY[_N]` for Google),
/// after those of P. Everything else is ignored; a name shaped like a key
/// variable whose prefix is close to a provider's (`GROK_API_KEY_1`) gets a
/// warning naming the variable it probably meant. The process environment
/// overrides the file (the dotenv convention); env_options::order reverses
/// that.

#include <keypool/config/diagnostic.hpp>
#include <keypool/config/dotenv.hpp>
#include <keypool/core/key.hpp>
#include <keypool/providers/builtin.hpp>
#include <keypool/providers/descriptor.hpp>

#include <algorithm>
#include <array>
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

/// Other prefixes the keys of the provider with `env_prefix` are read under
/// (keys and per-key settings; not `_BASE_URL`): the names the provider's own
/// documentation uses. Google's Gemini API documentation and SDKs read
/// `GEMINI_API_KEY`, so `GEMINI_API_KEY[_N]` are Google keys, after the
/// `GOOGLE_API_KEY[_N]` ones.
inline std::span<const std::string_view> env_prefix_aliases(std::string_view env_prefix) noexcept {
  static constexpr std::array<std::string_view, 1> google{"GEMINI"};
  if (env_prefix == "GOOGLE") return google;
  return {};
}

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
  std::uint32_t number = 0;  ///< N of P_API_KEY_N; 0 for the unnumbered P_API_KEY (also under an alias prefix)
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

/// The prefixes a provider's keys are read under: its own first, then its
/// aliases (env_prefix_aliases).
inline std::vector<std::string_view> key_prefixes(const providers::provider_descriptor& desc) {
  std::vector<std::string_view> out{desc.env_prefix};
  for (const auto a : env_prefix_aliases(desc.env_prefix)) out.push_back(a);
  return out;
}

/// What `name` means for `desc`, under its prefix or an alias (for which a
/// base URL is not read); `prefix_index` is which one (0: its own).
inline parsed_name parse_for(std::string_view name, const providers::provider_descriptor& desc,
                             std::size_t& prefix_index) {
  const auto prefixes = key_prefixes(desc);
  for (std::size_t i = 0; i < prefixes.size(); ++i) {
    auto pn = parse_variable(name, prefixes[i]);
    if (pn.what == parsed_name::kind::unrelated || (i > 0 && pn.what == parsed_name::kind::base_url)) continue;
    prefix_index = i;
    return pn;
  }
  return {};
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
      std::size_t prefix_index = 0;
      for (const auto& p : provider_list)
        matters = matters || parse_for(name, p, prefix_index).what != parsed_name::kind::unrelated;
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

/// Whether the authority of URL `v` ("scheme://authority/...") holds a
/// userinfo ("user:password@"). The last '@' before the query counts: an
/// unencoded password may hold '/'.
inline bool has_userinfo(std::string_view v) {
  const auto start = v.find("://");
  if (start == std::string_view::npos) return false;
  const auto at = v.substr(0, v.find_first_of("?#")).rfind('@');
  return at != std::string_view::npos && at > start;
}

/// Applies `P_BASE_URL` to `pc` when it is an http(s) URL without spaces or
/// credentials (the tools check the rest, as for --base-url).
inline void apply_base_url(provider_config& pc, const std::string& name, const sourced_value& sv,
                           std::vector<diagnostic>& diagnostics) {
  const std::string_view v = sv.value;
  const bool scheme = v.substr(0, 7) == "http://" || v.substr(0, 8) == "https://";
  const bool clean =
      std::none_of(v.begin(), v.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; });
  if (!scheme || !clean) {
    add_diagnostic(diagnostics, sv.source, name, "must be an http:// or https:// URL without spaces; ignored");
  } else if (has_userinfo(v)) {
    add_diagnostic(diagnostics, sv.source, name,
                   "credentials (user:password@) are not allowed in a base URL: the key goes in the "
                   "P_API_KEY variables; ignored");
  } else {
    pc.provider = pc.provider.with_base_url(sv.value);
    pc.base_url_overridden = true;
  }
}

/// Which key: the prefix it is read under (0: the provider's own, then its
/// aliases) and its number (0: unnumbered). Ordered that way.
using key_slot = std::pair<std::size_t, std::uint32_t>;

/// Sorts the variables of provider `desc` by prefix, then key number (0,
/// the unnumbered key, first); applies its base URL to `pc`.
inline std::map<key_slot, pending_key> collect_keys(const providers::provider_descriptor& desc, provider_config& pc,
                                                    const std::map<std::string, sourced_value>& vars,
                                                    std::vector<diagnostic>& diagnostics) {
  std::map<key_slot, pending_key> by_slot;
  for (const auto& [name, sv] : vars) {
    std::size_t prefix = 0;
    const auto pn = parse_for(name, desc, prefix);
    const key_slot slot{prefix, pn.number};
    using k = parsed_name::kind;
    switch (pn.what) {
      case k::unrelated: break;
      case k::malformed: add_diagnostic(diagnostics, sv.source, name, pn.problem, severity::warning); break;
      case k::base_url: apply_base_url(pc, name, sv, diagnostics); break;
      case k::key:
        by_slot[slot].key = sv;
        by_slot[slot].key_var = name;
        break;
      case k::setting: by_slot[slot].settings[pn.which] = {name, sv}; break;
    }
  }
  return by_slot;
}

/// Whether an account name looks like a pasted key, which `keypool keys`
/// would print: it equals a key variable's value (of any provider), or it
/// is 20 or more characters of a key's alphabet (letters, digits, `_`, `-`,
/// `.`) starting with a provider's key prefix (sk-, gsk_, nvapi-, AIza,
/// xai-, csk-, hf_, pplx-).
inline bool looks_like_key(std::string_view v, const std::vector<std::string>& key_values) {
  if (std::find(key_values.begin(), key_values.end(), v) != key_values.end()) return true;
  if (v.size() < 20) return false;
  const bool alphabet = std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
  constexpr std::array<std::string_view, 8> prefixes{"sk-", "gsk_", "nvapi-", "AIza", "xai-", "csk-", "hf_", "pplx-"};
  return alphabet && std::any_of(prefixes.begin(), prefixes.end(), [&](auto p) { return v.starts_with(p); });
}

/// The values of every variable read as a key, by any provider.
inline std::vector<std::string> key_values(const std::map<std::string, sourced_value>& vars,
                                           std::span<const providers::provider_descriptor> provider_list) {
  std::vector<std::string> out;
  for (const auto& [name, sv] : vars)
    for (const auto& p : provider_list) {
      std::size_t prefix_index = 0;
      if (parse_for(name, p, prefix_index).what == parsed_name::kind::key) {
        out.push_back(sv.value);
        break;
      }
    }
  return out;
}

/// Applies one per-key setting (`sname` = `sv`) to `ck`, or reports why not.
inline void apply_setting(configured_key& ck, setting which, const std::string& sname, const sourced_value& sv,
                          const std::vector<std::string>& key_values, std::vector<diagnostic>& diagnostics) {
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
      else if (looks_like_key(v, key_values))
        add_diagnostic(diagnostics, sv.source, sname,
                       "looks like an API key, not an account name (docs/configuration.md); ignored");
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
/// listed twice for this provider, is rejected (under its own name and an
/// alias, as GOOGLE_API_KEY and GEMINI_API_KEY often are, it is used once,
/// with a note); one also given to another provider (in `all_secrets`) is
/// kept with a warning.
inline void accept_keys(const providers::provider_descriptor& desc, provider_config& pc,
                        std::map<key_slot, pending_key>& by_slot, accepted_secrets& all_secrets,
                        const std::vector<std::string>& key_values, std::vector<diagnostic>& diagnostics) {
  const auto prefixes = key_prefixes(desc);
  accepted_secrets seen;  // in this provider
  for (auto& [slot, p] : by_slot) {
    const auto n = slot.second;
    const std::string var = key_variable(prefixes[slot.first], n);
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
    if (dup != seen.end() && dup->second.rfind(std::string(prefixes[slot.first]) + "_", 0) != 0) {
      add_diagnostic(diagnostics, src, var,
                     "same key as " + dup->second + " (" + std::string(prefixes[slot.first]) +
                         "_ is another name for " + desc.env_prefix + "_); used once",
                     severity::note);
      continue;
    }
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
    for (const auto& [which, named] : p.settings)
      apply_setting(ck, which, named.first, named.second, key_values, diagnostics);
    pc.keys.push_back(std::move(ck));
  }
}

/// Edit distance with a swap of two neighbours counting as one edit
/// (optimal string alignment): "GORQ" is one edit from "GROQ".
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

/// The prefix P of a name shaped like a key variable (`P_API_KEY`,
/// `P_API_KEY_...`); empty for any other name.
inline std::string_view key_prefix_of(std::string_view name) {
  const auto at = name.find("_API_KEY");
  if (at == 0 || at == std::string_view::npos) return {};
  const auto rest = name.substr(at + 8);
  if (!rest.empty() && rest.front() != '_') return {};
  return name.substr(0, at);
}

/// Warns about each variable shaped like a key variable whose prefix no
/// provider has but one is close to (edit distance at most 2; at most 1
/// for prefixes of 4 letters or fewer, so that any three letters are not
/// "close" to ZAI): "GROK_API_KEY_1: no provider has the prefix GROK: not
/// read; did you mean GROQ_API_KEY_1?". The variable is named, never the
/// value. XAI (xAI's own variable) is not taken for a misspelt ZAI.
inline void suggest_prefixes(const std::map<std::string, sourced_value>& vars,
                             std::span<const providers::provider_descriptor> provider_list,
                             std::vector<diagnostic>& diagnostics) {
  std::vector<std::string_view> known;
  for (const auto& p : provider_list)
    for (const auto prefix : key_prefixes(p)) known.push_back(prefix);
  for (const auto& [name, sv] : vars) {
    const auto prefix = key_prefix_of(name);
    if (prefix.empty() || prefix == "XAI" || std::find(known.begin(), known.end(), prefix) != known.end()) continue;
    std::string_view best;
    std::size_t best_distance = 3;
    for (const auto k : known) {
      const auto dist = edit_distance(prefix, k);
      if (dist <= (k.size() <= 4 ? 1u : 2u) && dist < best_distance) {
        best = k;
        best_distance = dist;
      }
    }
    if (best.empty()) continue;
    add_diagnostic(diagnostics, sv.source, name,
                   "no provider has the prefix " + std::string(prefix) + ": not read; did you mean " +
                       std::string(best) + name.substr(prefix.size()) + "?",
                   severity::warning);
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
  const auto key_values = detail::key_values(vars, provider_list);
  for (const auto& desc : provider_list) {
    provider_config pc;
    pc.provider = desc;
    auto by_slot = detail::collect_keys(desc, pc, vars, cfg.diagnostics);
    detail::accept_keys(desc, pc, by_slot, all_secrets, key_values, cfg.diagnostics);
    cfg.providers.push_back(std::move(pc));
  }
  detail::suggest_prefixes(vars, provider_list, cfg.diagnostics);
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
