#pragma once
/// What the client commands (keys, probe, ask) build from the options: the
/// key configuration with its rejected lines, and the transport's settings.

#include "../options.hpp"

#include <keypool/config/env_keys.hpp>
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

/// Reads the key configuration: --env FILE (must exist), else ./.env when
/// present, plus the process environment unless --ignore-environment.
/// Throws file_error for a P_BASE_URL that --base-url would refuse.
inline config::key_config load_keys(const options& o) {
  config::env_options eo;
  eo.use_process_environment = !o.ignore_environment;
  config::key_config cfg;
  if (o.env_file) {
    cfg = config::load_key_config(*o.env_file, eo);  // throws dotenv_file_error
  } else if (std::filesystem::exists(".env")) {
    cfg = config::load_key_config(".env", eo);
  } else {
    cfg = config::build_key_config({},
                                   eo.use_process_environment ? config::process_environment() : config::environment{});
  }
  for (auto& p : cfg.providers)
    if (auto it = o.base_urls.find(p.provider.id); it != o.base_urls.end()) {
      p.provider = p.provider.with_base_url(it->second);
      p.base_url_overridden = true;
    } else if (p.base_url_overridden) {
      // P_BASE_URL is held to --base-url's rules, refused here rather than
      // listed by `keys` and failing at the first request.
      if (const auto why = base_url_problem(p.provider.base_url); !why.empty())
        throw file_error(p.provider.env_prefix + "_BASE_URL: " + why);
    }
  return cfg;
}

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
