#pragma once
/// `keypool serve`: the OpenAI- and Anthropic-compatible gateway
/// (serve/gateway.hpp) over the chain `ask` builds, until SIGINT or SIGTERM.
/// One JSON access-log line per answered request on stderr (no prompt text,
/// no secret); the statistics table on stdout after answered requests, at
/// most once per --stats-every; SIGHUP, or a change of the .env file,
/// reloads the keys with their state kept; SIGTERM stops accepting, lets the
/// requests in flight finish (up to --drain-timeout) and prints the final table.

#include "../commands.hpp"
#include "../detail/load.hpp"
#include "../options.hpp"
#include "ask.hpp"
#include "mock.hpp"

#include <keypool/config/dotenv.hpp>
#include <keypool/http/transport.hpp>
#include <keypool/report/text.hpp>
#include <keypool/serve/gateway.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <ostream>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>

namespace keypool::cli {

namespace detail {

/// KEYPOOL_GATEWAY_KEY and KEYPOOL_GATEWAY_KEY_<N> of the .env and (unless
/// --ignore-environment) the process environment, which wins.
inline std::vector<std::string> gateway_keys(const options& o) {
  static const std::regex name("^KEYPOOL_GATEWAY_KEY(_[1-9][0-9]{0,8})?$");
  std::map<std::string, std::string> found;
  if (const auto file = env_file_of(o))
    for (const auto& e : config::load_dotenv(*file).effective())
      if (std::regex_match(e.name, name)) found[e.name] = e.value;
  if (!o.ignore_environment)
    for (char** p = environ; p != nullptr && *p != nullptr; ++p) {
      const std::string kv(*p);
      const auto eq = kv.find('=');
      if (eq != std::string::npos && std::regex_match(kv.substr(0, eq), name))
        found[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  std::vector<std::string> keys;
  for (auto& [n, v] : found) keys.push_back(std::move(v));
  return keys;
}

/// "2026-12-07T08:00:00Z".
inline std::string utc_now_text() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// One access-log line: what was asked and who answered, never the prompt
/// or a secret (the record holds neither).
inline std::string access_log_line(const serve::request_record& r) {
  boost::json::object o{{"time", utc_now_text()}, {"method", r.method},
                        {"route", r.path},        {"status", r.status},
                        {"provider", r.provider}, {"model", r.model},
                        {"key", r.key_variable},  {"attempts", r.attempts},
                        {"streamed", r.streamed}, {"latency_ms", static_cast<double>(r.latency.count()) / 1000.0}};
  if (r.input_tokens) o["input_tokens"] = *r.input_tokens;
  if (r.output_tokens) o["output_tokens"] = *r.output_tokens;
  if (!r.error.empty()) o["error"] = r.error;
  return boost::json::serialize(o);
}

/// The snapshots of the chain's pools that have keys (report::text's input).
inline std::vector<pool_snapshot> keyed_snapshots(const ask_chain& chain) {
  std::vector<pool_snapshot> snaps;
  for (auto& s : chain.snapshot())
    if (!s.keys.empty()) snaps.push_back(std::move(s));
  return snaps;
}

/// Reloads every pool of the chain from the .env: keys that stay keep their
/// state. A provider the first load did not know stays out until a restart.
inline void reload_keys(const options& o, ask_pools& p, std::ostream& err) {
  try {
    const auto c = load_config(o);
    std::size_t added = 0, removed = 0;
    for (std::size_t i = 0; i < p.routes.size(); ++i) {
      if (!p.in_chain[i]) continue;
      const auto* pc = c.keys.find(p.routes[i].provider.id);
      const auto r = p.pools[i]->reload(pc ? pc->key_specs() : std::vector<key_spec>{});
      added += r.added.size();
      removed += r.removed.size();
    }
    err << "keypool serve: keys reloaded (" << added << " added, " << removed << " removed)\n" << std::flush;
  } catch (const std::exception& e) {
    err << "keypool serve: reload failed, keys unchanged: " << e.what() << "\n" << std::flush;
  }
}

inline std::optional<std::filesystem::file_time_type> env_mtime(const options& o) {
  std::error_code ec;
  const auto file = env_file_of(o);
  if (!file) return std::nullopt;
  const auto t = std::filesystem::last_write_time(*file, ec);
  return ec ? std::nullopt : std::optional(t);
}

/// Waits for SIGINT or SIGTERM; SIGHUP or a new .env modification time
/// (checked each second) reloads the keys.
inline void serve_until_stopped(const options& o, const sigset_t& set, ask_pools& p, std::ostream& err) {
  auto seen = env_mtime(o);
  const timespec second{1, 0};
  for (;;) {
    const int sig = sigtimedwait(&set, nullptr, &second);
    if (sig == SIGINT || sig == SIGTERM) return;
    const auto now = env_mtime(o);
    if (sig == SIGHUP || now != seen) {
      seen = now;
      reload_keys(o, p, err);
    }
  }
}

inline serve::gateway_options gateway_options_for(const options& o, const ask_pools& p) {
  serve::gateway_options g;
  g.address = o.listen_address;
  g.port = o.listen_port;
  g.gateway_keys = gateway_keys(o);
  g.tls_cert_file = o.tls_cert;
  g.tls_key_file = o.tls_key;
  g.max_attempts = attempt_budget(o, p);
  g.deadline = ask_deadline(o);
  return g;
}

/// The config file's limits and named routes over `g` (--max-attempts and
/// --deadline on the command line win). Throws file_error for a route
/// target whose provider is not in the chain or a provider named twice.
inline void apply_file_settings(serve::gateway_options& g, const file_config& f, const options& o,
                                const std::vector<http::route>& routes) {
  const auto& l = f.limits;
  if (l.max_body) g.max_body = *l.max_body;
  if (l.max_header) g.max_header = *l.max_header;
  if (l.max_in_flight) g.max_in_flight = *l.max_in_flight;
  if (l.max_connections) g.max_connections = *l.max_connections;
  if (l.header_timeout) g.header_timeout = *l.header_timeout;
  if (l.body_timeout) g.body_timeout = *l.body_timeout;
  if (l.idle_timeout) g.idle_timeout = *l.idle_timeout;
  if (l.write_timeout) g.write_timeout = *l.write_timeout;
  if (l.max_attempts && !o.given.count("--max-attempts")) g.max_attempts = *l.max_attempts;
  if (l.deadline && !o.given.count("--deadline")) g.deadline = *l.deadline;
  for (const auto& [name, targets] : f.routes) {
    std::set<std::string> seen;
    for (std::size_t i = 0; i < targets.size(); ++i) {
      const auto provider = targets[i].substr(0, targets[i].find('/'));
      const std::string where = f.path + ": routes." + name + "[" + std::to_string(i) + "]: ";
      if (std::none_of(routes.begin(), routes.end(), [&](const auto& r) { return r.provider.id == provider; }))
        throw file_error(where + "provider '" + provider + "' is neither built in nor declared");
      if (!seen.insert(provider).second)
        throw file_error(where + "provider '" + provider + "' named twice (one model per provider in a route)");
    }
  }
  g.named_routes = f.routes;
}

}  // namespace detail

}  // namespace keypool::cli
