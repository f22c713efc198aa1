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
#include <string>
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

/// Reads the key configuration: --env FILE (must exist), else ./.env when
/// present, plus the process environment unless --ignore-environment.
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
    }
  return cfg;
}

inline http::transport_options transport_options_for(const options& o) {
  http::transport_options t;
  t.connect_timeout = std::min(o.timeout, std::chrono::milliseconds(10'000));
  t.read_timeout = o.timeout;
  t.total_timeout = o.timeout + std::chrono::milliseconds(10'000);
  if (o.ca_file) t.tls.ca_file = *o.ca_file;
  return t;
}

}  // namespace keypool::cli::detail
