#pragma once
/// What the client commands (keys, probe, ask) build from the options: the
/// key configuration with its rejected lines, and the transport's settings.

#include "../options.hpp"
#include "file_config.hpp"

#include <keypool/config/env_keys.hpp>
#include <keypool/config/env_providers.hpp>
#include <keypool/http/transport.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace keypool::cli::detail {

/// A diagnostic that means a key or line was not used.
inline bool is_rejection(const config::diagnostic& d) {
  return d.level == config::severity::error ||
         (d.level == config::severity::warning && d.message.find("ignored") != std::string::npos);
}

inline std::size_t rejections(const std::vector<config::diagnostic>& ds) {
  std::size_t n = 0;
  for (const auto& d : ds) n += is_rejection(d);
  return n;
}

/// A diagnostic the client commands print on stderr: rejections, and the
/// warnings of lines that loaded or were not read but look like a mistake
/// (a misspelt provider prefix). Notes only `keys` lists.
inline bool is_reported(const config::diagnostic& d) { return d.level != config::severity::note; }

/// Why `path` cannot be read as a file; empty when it can.
inline std::string unreadable(const std::string& path) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(st)) return "no such file";
  if (std::filesystem::is_directory(st)) return "is a directory, not a file";
  if (!std::ifstream(path, std::ios::binary)) return "cannot be read";
  return {};
}

/// The .env load_keys reads: --env, else ./.env when present, else none.
inline std::optional<std::string> env_file_of(const options& o) {
  if (o.env_file) return o.env_file;
  if (std::filesystem::exists(".env")) return std::string(".env");
  return std::nullopt;
}

/// When no key was found at all: where keypool looked and how to start;
/// empty when there are keys.
inline std::string no_keys_hint(const options& o, const config::key_config& cfg) {
  if (cfg.key_count() != 0) return {};
  std::error_code ec;
  const auto file = env_file_of(o);
  std::string where = file ? "no keys in " + *file : "no .env in " + std::filesystem::current_path(ec).string();
  where += o.ignore_environment ? " (the environment was not read: --ignore-environment)"
                                : " and no P_API_KEY[_N] variables in the environment";
  return "keypool: " + where +
         ".\nTo start without real keys, run the mock fleet here and keep it running: "
         "`keypool mock --write-env .env`; for your own keys, write lines such as GROQ_API_KEY_1=... "
         "to .env (docs/configuration.md).\n";
}

/// The providers a command line may name: the built-in ones and those the
/// .env declares, space-separated.
inline std::string provider_names(const config::key_config& cfg) {
  std::string names;
  for (const auto& p : cfg.providers) names += (names.empty() ? "" : " ") + p.provider.id;
  return names;
}

/// The usage error for `id`, which `where` names but no provider has.
inline usage_error unknown_provider(const std::string& where, const std::string& id, const config::key_config& cfg) {
  std::string upper;
  for (const char c : id) upper += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return usage_error(where + ": unknown provider '" + id + "' (expected " + provider_names(cfg) +
                     "; to declare it, set " + upper + "_FORMAT=openai_chat and " + upper + "_BASE_URL in the .env)");
}

/// Throws usage_error for a --base-url or --model of a provider that is
/// neither built in nor declared (parse() lets through any name one could
/// declare).
inline void check_provider_names(const options& o, const config::key_config& cfg) {
  for (const auto& [id, url] : o.base_urls)
    if (!cfg.find(id)) throw unknown_provider("--base-url", id, cfg);
  for (const auto& [id, models] : o.models)
    if (!cfg.find(id)) throw unknown_provider("--model", id, cfg);
}

/// The key configuration and the providers the .env declares (P_FORMAT).
struct loaded_config {
  config::key_config keys;
  config::declared_providers declared;
};

/// Applies --base-url, and holds each P_BASE_URL (of a built-in provider
/// or a declared one) to --base-url's rules. Throws file_error for a
/// P_BASE_URL that --base-url would refuse.
inline void apply_base_urls(const options& o, loaded_config& c) {
  for (auto& p : c.keys.providers) {
    const bool declared = c.declared.find(p.provider.id) != nullptr;
    if (auto it = o.base_urls.find(p.provider.id); it != o.base_urls.end()) {
      p.provider = p.provider.with_base_url(it->second);
      p.base_url_overridden = true;
    } else if (p.base_url_overridden) {
      // P_BASE_URL is held to --base-url's rules, refused here rather than
      // listed by `keys` and failing at the first request.
      if (const auto why = base_url_problem(p.provider.base_url); !why.empty())
        throw file_error(p.provider.env_prefix + "_BASE_URL: " + why);
      p.base_url_overridden = !declared;  // a declared provider's own URL overrides nothing
    }
  }
}

/// Reads the key configuration: --env FILE (must exist), else ./.env when
/// present, plus the process environment unless --ignore-environment; the
/// providers it declares are read like the built-in ones.
inline loaded_config load_config(const options& o) {
  const config::environment env = o.ignore_environment ? config::environment{} : config::declaration_environment();
  config::dotenv_document doc;
  if (o.env_file)
    doc = config::load_dotenv(*o.env_file);  // throws dotenv_file_error
  else if (std::filesystem::exists(".env"))
    doc = config::load_dotenv(".env");
  if (o.config_file && o.command != "mock") {
    // Before the .env's own assignments, which win.
    auto declared = read_file_config(*o.config_file).provider_variables;
    doc.entries.insert(doc.entries.begin(), declared.begin(), declared.end());
  }
  loaded_config c;
  c.declared = config::declare_providers(doc, env);
  const auto list = c.declared.descriptors();
  c.keys = config::build_key_config(doc, env, list);
  c.keys.diagnostics.insert(c.keys.diagnostics.end(), c.declared.diagnostics.begin(), c.declared.diagnostics.end());
  apply_base_urls(o, c);
  check_provider_names(o, c.keys);
  return c;
}

/// The key configuration of load_config.
inline config::key_config load_keys(const options& o) { return load_config(o).keys; }

/// The transport's settings. Throws file_error for a --ca-file that cannot
/// be read (the TLS handshake would otherwise fail later, as a failed
/// request).
inline http::transport_options transport_options_for(const options& o) {
  if (o.ca_file)
    if (const auto why = unreadable(*o.ca_file); !why.empty()) throw file_error("--ca-file " + *o.ca_file + ": " + why);
  http::transport_options t;
  t.connect_timeout = std::min(o.timeout, std::chrono::milliseconds(10'000));
  t.read_timeout = o.timeout;
  t.total_timeout = o.timeout + std::chrono::milliseconds(10'000);
  if (o.ca_file) t.tls.ca_file = *o.ca_file;
  return t;
}

}  // namespace keypool::cli::detail
