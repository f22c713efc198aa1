#pragma once
/// Providers declared in the `.env` rather than built in: an
/// OpenAI-, Anthropic- or Gemini-compatible API (OpenRouter, Together,
/// DeepSeek, a local vLLM or Ollama) becomes a provider with
///
///     TOGETHER_BASE_URL=https://api.together.xyz/v1
///     TOGETHER_FORMAT=openai_chat
///     TOGETHER_MODELS=meta-llama/Llama-3.3-70B-Instruct-Turbo   (optional)
///     TOGETHER_API_KEY_1=...
///
/// and its keys are then read by build_key_config like a built-in
/// provider's (pass declared_providers::descriptors() as its list). The
/// id is the prefix in lower case ("together"), the display name the prefix.

#include <keypool/config/diagnostic.hpp>
#include <keypool/config/dotenv.hpp>
#include <keypool/config/env_keys.hpp>
#include <keypool/providers/builtin.hpp>
#include <keypool/providers/descriptor.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keypool::config {

/// One provider declared by `P_FORMAT` and `P_BASE_URL`.
struct declared_provider {
  providers::provider_descriptor descriptor;
  std::vector<std::string> models;  ///< P_MODELS, comma-separated, in order; may be empty
  key_source source;                ///< where P_FORMAT is set
};

/// The declarations found, and what was wrong with the others.
struct declared_providers {
  std::vector<declared_provider> providers;
  std::vector<diagnostic> diagnostics;

  const declared_provider* find(std::string_view id) const {
    for (const auto& p : providers)
      if (p.descriptor.id == id) return &p;
    return nullptr;
  }

  /// `known` followed by the declared providers: the list build_key_config takes.
  std::vector<providers::provider_descriptor> descriptors(
      std::span<const providers::provider_descriptor> known = providers::builtin_descriptors()) const {
    std::vector<providers::provider_descriptor> out(known.begin(), known.end());
    for (const auto& p : providers) out.push_back(p.descriptor);
    return out;
  }
};

/// The wire format a `P_FORMAT` value names, if any.
inline std::optional<providers::wire_format> parse_wire_format(std::string_view v) {
  using providers::wire_format;
  for (const auto w : {wire_format::openai_chat, wire_format::anthropic_messages, wire_format::gemini_generate_content})
    if (v == providers::to_string(w)) return w;
  return std::nullopt;
}

/// The process environment's variables that declare providers (names
/// ending in `_FORMAT`, `_BASE_URL` or `_MODELS`, and the key variables
/// that make a missing `_FORMAT` worth a diagnostic); nothing else is copied.
inline environment declaration_environment() {
  environment out;
  for (auto& [name, value] : process_environment()) out.emplace_back(std::move(name), std::move(value));
#if !defined(_WIN32)
  char** vars = environ;
#else
  char** vars = _environ;
#endif
  for (char** p = vars; p != nullptr && *p != nullptr; ++p) {
    const std::string_view kv(*p);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    const auto name = kv.substr(0, eq);
    if (name.ends_with("_FORMAT") || name.ends_with("_MODELS"))
      out.emplace_back(std::string(name), std::string(kv.substr(eq + 1)));
  }
  return out;
}

namespace detail {

/// P of a name `P<suffix>` when P reads as a provider prefix: an upper-case
/// letter, then upper-case letters, digits and single underscores.
inline std::string_view declared_prefix(std::string_view name, std::string_view suffix) {
  if (!name.ends_with(suffix) || name.size() == suffix.size()) return {};
  const auto p = name.substr(0, name.size() - suffix.size());
  if (!std::isupper(static_cast<unsigned char>(p.front())) || p.back() == '_' ||
      p.find("__") != std::string_view::npos || p.find("_API_KEY") != std::string_view::npos)
    return {};
  const bool ok = std::all_of(p.begin(), p.end(), [](char c) {
    return std::isupper(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
  });
  return ok ? p : std::string_view{};
}

inline bool is_known_prefix(std::string_view prefix, std::span<const providers::provider_descriptor> known) {
  return std::any_of(known.begin(), known.end(), [&](const auto& d) {
    const auto prefixes = key_prefixes(d);
    return std::find(prefixes.begin(), prefixes.end(), prefix) != prefixes.end();
  });
}

/// The file's effective assignments, then the environment over them (the
/// dotenv convention, as build_key_config's default).
inline std::map<std::string, sourced_value> declaration_variables(const dotenv_document& file, const environment& env) {
  std::map<std::string, sourced_value> vars;
  for (const auto& e : file.effective()) vars[e.name] = {e.value, {e.file, e.line}};
  for (const auto& [name, value] : env) vars[name] = {value, {std::string(environment_source), 0}};
  return vars;
}

/// Why `url` cannot be a base URL at all (the tools hold it to more rules).
inline std::string base_url_shape_problem(std::string_view url) {
  const bool scheme = url.starts_with("http://") || url.starts_with("https://");
  const bool clean =
      std::none_of(url.begin(), url.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; });
  if (!scheme || !clean) return "must be an http:// or https:// URL without spaces";
  if (has_userinfo(url)) return "credentials (user:password@) are not allowed in a base URL";
  return {};
}

/// The descriptor of a provider speaking `format` at `base_url`: the auth
/// and error conventions of the API it imitates, days starting at UTC midnight.
inline providers::provider_descriptor declared_descriptor(std::string_view prefix, providers::wire_format format,
                                                          const std::string& base_url) {
  providers::provider_descriptor d;
  d.env_prefix = std::string(prefix);
  d.display_name = d.env_prefix;
  for (const char c : prefix) d.id += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  d.wire = format;
  switch (format) {
    case providers::wire_format::openai_chat: break;
    case providers::wire_format::anthropic_messages:
      d.auth = providers::auth_style::x_api_key;
      d.errors = providers::error_dialect::anthropic;
      d.extra_headers.emplace_back("anthropic-version", "2023-06-01");
      break;
    case providers::wire_format::gemini_generate_content:
      d.auth = providers::auth_style::x_goog_api_key;
      d.errors = providers::error_dialect::gemini;
      break;
  }
  return d.with_base_url(base_url);
}

/// "a,b , c" -> {"a", "b", "c"}; empty items dropped.
inline std::vector<std::string> split_models(std::string_view v) {
  std::vector<std::string> out;
  while (!v.empty()) {
    const auto comma = v.find(',');
    auto item = v.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty() && std::find(out.begin(), out.end(), item) == out.end()) out.emplace_back(item);
    v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
  }
  return out;
}

/// Whether `prefix` has a base URL or a key variable: then its `_FORMAT`
/// means to declare a provider.
inline bool has_provider_variables(std::string_view prefix, const std::map<std::string, sourced_value>& vars) {
  const std::string key = std::string(prefix) + "_API_KEY";
  const auto it = vars.lower_bound(key);
  return vars.count(std::string(prefix) + "_BASE_URL") || (it != vars.end() && it->first.starts_with(key));
}

/// Declares the provider of `prefix` from its `_FORMAT` (at `fmt`), or says why not.
inline void declare_one(std::string_view prefix, const sourced_value& fmt,
                        const std::map<std::string, sourced_value>& vars, declared_providers& out) {
  const std::string p(prefix);
  const std::string not_declared = "; provider " + declared_descriptor(prefix, {}, "").id + " not declared";
  const auto format = parse_wire_format(fmt.value);
  if (!format && !has_provider_variables(prefix, vars)) return;  // LOG_FORMAT=json: not ours
  if (!format) {
    add_diagnostic(out.diagnostics, fmt.source, p + "_FORMAT",
                   "must be openai_chat, anthropic_messages or gemini_generate_content" + not_declared);
    return;
  }
  const auto url = vars.find(p + "_BASE_URL");
  if (url == vars.end()) {
    add_diagnostic(out.diagnostics, fmt.source, p + "_FORMAT",
                   "needs " + p + "_BASE_URL, the API's root (such as https://api.together.xyz/v1)" + not_declared);
    return;
  }
  if (const auto why = base_url_shape_problem(url->second.value); !why.empty()) {
    add_diagnostic(out.diagnostics, url->second.source, p + "_BASE_URL", why + not_declared);
    return;
  }
  declared_provider dp{declared_descriptor(prefix, *format, url->second.value), {}, fmt.source};
  if (const auto m = vars.find(p + "_MODELS"); m != vars.end()) dp.models = split_models(m->second.value);
  out.providers.push_back(std::move(dp));
}

/// An error for each `P_BASE_URL` of an unknown, undeclared prefix that has
/// key variables: its keys would be silently unread.
inline void report_undeclared(const std::map<std::string, sourced_value>& vars,
                              std::span<const providers::provider_descriptor> known, declared_providers& out) {
  for (const auto& [name, sv] : vars) {
    const auto prefix = declared_prefix(name, "_BASE_URL");
    if (prefix.empty() || is_known_prefix(prefix, known) || vars.count(std::string(prefix) + "_FORMAT")) continue;
    const std::string key = std::string(prefix) + "_API_KEY";
    const auto it = vars.lower_bound(key);
    if (it == vars.end() || !it->first.starts_with(key)) continue;  // no keys: nothing goes unread
    add_diagnostic(out.diagnostics, sv.source, name,
                   "no provider has the prefix " + std::string(prefix) + "; to declare one, add " +
                       std::string(prefix) + "_FORMAT=openai_chat (or anthropic_messages, gemini_generate_content)");
  }
}

}  // namespace detail

/// The providers declared in `file` and `env` (the environment wins, as for
/// keys): one per `P_FORMAT` whose prefix no provider of `known` has. A
/// `P_FORMAT` that names no format is someone else's (`LOG_FORMAT=json`)
/// unless P has a base URL or keys. A bad `P_FORMAT` there, a missing or malformed `P_BASE_URL`, and a `P_BASE_URL`
/// with keys but no `P_FORMAT` are errors naming the variable (never its value). `P_FORMAT` of a known provider is a
/// warning: its format is fixed.
inline declared_providers declare_providers(
    const dotenv_document& file, const environment& env,
    std::span<const providers::provider_descriptor> known = providers::builtin_descriptors()) {
  declared_providers out;
  const auto vars = detail::declaration_variables(file, env);
  for (const auto& [name, sv] : vars) {
    const auto prefix = detail::declared_prefix(name, "_FORMAT");
    if (prefix.empty()) continue;
    if (detail::is_known_prefix(prefix, known)) {
      detail::add_diagnostic(out.diagnostics, sv.source, name,
                             std::string(prefix) + " is a built-in provider, whose format is fixed; ignored",
                             severity::warning);
      continue;
    }
    detail::declare_one(prefix, sv, vars, out);
  }
  detail::report_undeclared(vars, known, out);
  return out;
}

}  // namespace keypool::config
