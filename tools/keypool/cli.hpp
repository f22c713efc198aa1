#pragma once
/// The `keypool` command-line tool, as functions (main.cpp is a one-liner;
/// the integration tests call run() directly):
///
///   keypool keys  [--env FILE] [--base-url PROVIDER=URL]... [--ignore-environment] [--json]
///   keypool probe [PROVIDER...] [--env FILE] [--base-url PROVIDER=URL]... [--model PROVIDER=MODEL]...
///                 [--ca-file FILE] [--timeout MS] [--ignore-environment] [--json]
///   keypool ask   [--image FILE]... [--env FILE] [--chain ORDER] [--base-url PROVIDER=URL]...
///                 [--ca-file FILE] [--timeout MS] [--ignore-environment] [--json] [--] PROMPT
///   keypool mock  [--config FILE] [--port N] [--tls] [--write-env FILE] [--ca-out FILE]
///
/// An option the command does not read is a usage error (option_scopes).
///
/// Exit status: 0 all went well; 1 a key or line was rejected, or a request
/// failed (the JSON of what did load is still printed); 2 usage error or an
/// unreadable file. docs/cli.md documents the output and its JSON.
///
/// Secrets: output shows a key by variable, redacted form and fingerprint
/// only. Diagnostics never quote values; transport errors never carry
/// request headers.

#include <keypool/chain/chain.hpp>
#include <keypool/classify/classifier.hpp>
#include <keypool/config/env_keys.hpp>
#include <keypool/core/detail/ascii.hpp>
#include <keypool/core/pool.hpp>
#include <keypool/http/client.hpp>
#include <keypool/json/config_json.hpp>
#include <keypool/json/stats_json.hpp>
#include <keypool/mock/fleet.hpp>
#include <keypool/providers/builtin.hpp>
#include <keypool/providers/catalog.hpp>
#include <keypool/report/text.hpp>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <pthread.h>
#include <signal.h>

namespace keypool::cli {

inline constexpr int exit_ok = 0;
inline constexpr int exit_failed = 1;  ///< a key or line rejected, a request failed
inline constexpr int exit_usage = 2;   ///< bad arguments, unreadable file

/// The largest --timeout: 24 h (the deadlines derived from it stay far from
/// overflowing).
inline constexpr long long max_timeout_ms = 86'400'000;

inline constexpr std::string_view usage_text =
    "usage: keypool <command> [options]\n"
    "\n"
    "  keys  [--env FILE] [--json]                  keys found, redacted, with per-key settings\n"
    "  probe [PROVIDER...] [--env FILE] [--base-url PROVIDER=URL]... [--json]\n"
    "                                               one minimal request per key\n"
    "  ask   [--image FILE]... [--env FILE] [--chain ORDER] [--json] [--] PROMPT\n"
    "                                               send a prompt (and images) through the chain\n"
    "  mock  [--config FILE] [--port N] [--tls] [--write-env FILE] [--ca-out FILE]\n"
    "                                               run the mock provider fleet on 127.0.0.1\n"
    "\n"
    "common options: --ignore-environment (read only the .env file), --ca-file FILE (extra trusted CA),\n"
    "                --timeout MS (per request, 1..86400000), --model PROVIDER=MODEL (probe),\n"
    "                -- (the rest are arguments: a PROMPT may start with '-')\n"
    "an option the command does not read is refused (the error names the commands it applies to)\n"
    "PROVIDER: zai nvidia groq mistral anthropic openai google\n"
    "ORDER: seed (default), free-first, or a comma-separated list of providers\n"
    "exit status: 0 ok, 1 a key/line rejected or a request failed, 2 usage error\n";

/// Parsed command line.
struct options {
  std::string command;
  std::vector<std::string> positional;
  std::optional<std::string> env_file;
  bool json = false;
  bool ignore_environment = false;
  std::map<std::string, std::string> base_urls;  ///< provider id -> URL
  std::map<std::string, std::string> models;     ///< provider id -> model (probe)
  std::vector<std::string> images;
  std::string chain = "seed";
  std::optional<std::string> ca_file;
  std::chrono::milliseconds timeout{60'000};
  std::optional<std::string> config_file;
  std::optional<std::uint16_t> port;
  bool tls = false;
  std::optional<std::string> write_env;
  std::optional<std::string> ca_out;
};

/// A bad command line; the message says what and how to fix it.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The commands run() dispatches to (besides help).
inline constexpr std::array<std::string_view, 4> commands{"keys", "probe", "ask", "mock"};

/// Which commands read each option, as their code does: keys(), probe() and
/// ask() call detail::load_keys (--env, --ignore-environment, --base-url) and
/// print --json; probe() and ask() build a transport (--ca-file, --timeout);
/// only probe() reads --model (ask takes its models from --chain); mock()
/// reads nothing else. parse() refuses an option its command does not read,
/// so a typo or a misplaced option is not silently ignored. --, --help and
/// -h apply everywhere; after --help (or with the help command, or a command
/// that does not exist) nothing is checked.
struct option_scope {
  std::string_view option;
  std::array<std::string_view, commands.size()> used_by;  ///< commands that read it; empty entries at the end
};

inline constexpr std::array<option_scope, 14> option_scopes{{
    {"--json", {"keys", "probe", "ask"}},
    {"--env", {"keys", "probe", "ask"}},
    {"--ignore-environment", {"keys", "probe", "ask"}},
    {"--base-url", {"keys", "probe", "ask"}},
    {"--model", {"probe"}},
    {"--image", {"ask"}},
    {"--chain", {"ask"}},
    {"--ca-file", {"probe", "ask"}},
    {"--timeout", {"probe", "ask"}},
    {"--config", {"mock"}},
    {"--port", {"mock"}},
    {"--tls", {"mock"}},
    {"--write-env", {"mock"}},
    {"--ca-out", {"mock"}},
}};

namespace detail {

inline bool known_provider(std::string_view id) { return providers::find_builtin(id) != nullptr; }

inline std::pair<std::string, std::string> split_assignment(const std::string& flag, const std::string& v) {
  const auto eq = v.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
    throw usage_error(flag + " expects PROVIDER=VALUE, got '" + v.substr(0, 60) + "'");
  auto id = v.substr(0, eq);
  if (!known_provider(id))
    throw usage_error(flag + ": unknown provider '" + id +
                      "' (expected zai nvidia groq mistral anthropic openai google)");
  return {id, v.substr(eq + 1)};
}

/// A whole decimal number in [lo, hi]; anything else (trailing text such as
/// "5s", "1e3", a sign, out of range) is a usage error naming flag and value.
inline long long integer_option(const std::string& flag, const std::string& v, long long lo, long long hi,
                                const char* what) {
  long long n = 0;
  const char* const end = v.data() + v.size();
  const auto [ptr, ec] = std::from_chars(v.data(), end, n);
  if (v.empty() || ec != std::errc{} || ptr != end || n < lo || n > hi)
    throw usage_error(flag + " expects " + what + " from " + std::to_string(lo) + " to " + std::to_string(hi) +
                      ", got '" + v.substr(0, 40) + (v.size() > 40 ? "...'" : "'"));
  return n;
}

/// Throws unless `command` reads `option` (see option_scopes). An option
/// outside the table, the help command and unknown commands pass (run()
/// reports an unknown command by name).
inline void check_applies(const std::string& command, const std::string& option) {
  if (std::find(commands.begin(), commands.end(), command) == commands.end()) return;
  for (const auto& s : option_scopes) {
    if (s.option != option) continue;
    if (std::find(s.used_by.begin(), s.used_by.end(), command) != s.used_by.end()) return;
    std::string where;
    for (const auto c : s.used_by) {
      if (c.empty()) continue;
      if (!where.empty()) where += ", ";
      where += c;
    }
    throw usage_error(option + " does not apply to '" + command + "' (it applies to: " + where + ")");
  }
}

inline std::string json_text(const boost::json::value& v) { return boost::json::serialize(v); }

inline std::string ms_text(std::chrono::microseconds d) { return std::to_string((d.count() + 500) / 1000) + " ms"; }

/// One line per key: "GROQ_API_KEY_1  gsk_…1037  fp 1a2b3c4d5e6f".
inline std::string key_label(std::string_view variable, std::string_view redacted, std::string_view fp) {
  std::string s(variable);
  if (s.size() < 22) s.append(22 - s.size(), ' ');
  s += "  ";
  s += redacted;
  s += "  fingerprint ";
  s += fp;
  return s;
}

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

/// The seed's provider order, or the Best Practices' free-first order, or an
/// explicit list: provider ids, each once.
inline std::vector<std::string> chain_order(const std::string& spec) {
  std::vector<std::string> out;
  auto add = [&](const std::string& id) {
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  };
  const auto cat = providers::catalog::builtin();
  if (spec == "seed" || spec == "default") {
    for (const auto& m : cat.seed_order()) add(m.provider);
  } else if (spec == "free-first" || spec == "free_first") {
    for (const auto& m : cat.free_first()) add(m.provider);
  } else {
    std::string item;
    std::istringstream in(spec);
    while (std::getline(in, item, ',')) {
      if (item.empty()) continue;
      if (!known_provider(item))
        throw usage_error("--chain: unknown provider '" + item + "' (use seed, free-first or a list of providers)");
      add(item);
    }
    if (out.empty()) throw usage_error("--chain: empty order");
  }
  return out;
}

/// Models of a provider in the order of the preset (unique api ids).
inline std::vector<std::string> models_for(const std::string& provider, const std::string& spec) {
  const auto cat = providers::catalog::builtin();
  std::vector<std::string> out;
  for (const auto& m : spec == "free-first" || spec == "free_first" ? cat.free_first() : cat.seed_order())
    if (m.provider == provider && std::find(out.begin(), out.end(), m.api_id) == out.end()) out.push_back(m.api_id);
  return out;
}

inline std::string mime_of(const std::string& path) {
  auto ext = std::filesystem::path(path).extension().string();
  ::keypool::detail::to_lower_in_place(ext);
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".png") return "image/png";
  if (ext == ".webp") return "image/webp";
  if (ext == ".gif") return "image/gif";
  return {};
}

inline boost::json::object attempt_json(const http::attempt& a) {
  return boost::json::object{{"provider", a.provider},
                             {"model", a.model},
                             {"variable", a.key_variable},
                             {"outcome", std::string(to_string(a.outcome.kind))},
                             {"reason", a.reason},
                             {"status", a.status},
                             {"latency_ms", static_cast<double>(a.latency.count()) / 1000.0}};
}

inline std::string attempt_line(std::size_t i, const http::attempt& a) {
  return std::to_string(i) + ". " + a.provider + " " + a.model + " with " + a.key_variable + ": " +
         std::string(to_string(a.outcome.kind)) + " (" + a.reason + ") " + ms_text(a.latency);
}

/// The chain error without the providers that have no keys at all.
inline std::string unavailable_message(const chain_error& e) {
  std::vector<unavailable_error> kept;
  for (const auto& p : e.providers())
    if (!p.keys().empty()) kept.push_back(p);
  return chain_error(std::move(kept)).message();
}

}  // namespace detail

/// Parses arguments (without the program name). Throws usage_error.
inline options parse(const std::vector<std::string>& args) {
  options o;
  if (args.empty()) throw usage_error("no command given");
  o.command = args[0];
  bool options_ended = false;  // after "--" every argument is positional
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (options_ended) {
      o.positional.push_back(a);
      continue;
    }
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw usage_error(a + " needs a value");
      return args[++i];
    };
    detail::check_applies(o.command, a);  // before the value is looked at
    if (a == "--json")
      o.json = true;
    else if (a == "--env")
      o.env_file = value();
    else if (a == "--ignore-environment")
      o.ignore_environment = true;
    else if (a == "--base-url") {
      auto [id, url] = detail::split_assignment(a, value());
      auto parsed = http::parse_url(url);
      if (!parsed) throw usage_error("--base-url " + id + ": " + parsed.error().message);
      // The key would cross the network in clear text (the transport refuses
      // it too, but only later, as a failed request).
      if (parsed->scheme == http::scheme::http && !http::is_loopback_host(parsed->host))
        throw usage_error("--base-url " + id + ": plain http:// is accepted for loopback hosts only, not " +
                          parsed->host.substr(0, 60) + " (use https://)");
      o.base_urls[id] = url;
    } else if (a == "--model") {
      auto [id, m] = detail::split_assignment(a, value());
      o.models[id] = m;
    } else if (a == "--image")
      o.images.push_back(value());
    else if (a == "--chain")
      o.chain = value();
    else if (a == "--ca-file")
      o.ca_file = value();
    else if (a == "--timeout")
      o.timeout = std::chrono::milliseconds(
          detail::integer_option(a, value(), 1, max_timeout_ms, "a whole number of milliseconds"));
    else if (a == "--config")
      o.config_file = value();
    else if (a == "--port")
      o.port = static_cast<std::uint16_t>(detail::integer_option(a, value(), 0, 65535, "a port number"));
    else if (a == "--tls")
      o.tls = true;
    else if (a == "--write-env")
      o.write_env = value();
    else if (a == "--ca-out")
      o.ca_out = value();
    else if (a == "--")
      options_ended = true;
    else if (a == "--help" || a == "-h")
      o.command = "help";
    else if (a.size() > 1 && a[0] == '-' && a != "-")
      throw usage_error("unknown option " + a.substr(0, 40));
    else
      o.positional.push_back(a);
  }
  // keys and mock take no arguments: "keypool keys groq" must not quietly
  // list every provider.
  if ((o.command == "keys" || o.command == "mock") && !o.positional.empty())
    throw usage_error("'" + o.command + "' takes no arguments, got '" + o.positional.front().substr(0, 40) + "'");
  return o;
}

// ---- keys ------------------------------------------------------------------------

inline int keys(const options& o, std::ostream& out, std::ostream& err) {
  const auto cfg = detail::load_keys(o);
  const std::size_t rejected = detail::rejections(cfg.diagnostics);
  if (o.json) {
    auto v = json::config_to_json(cfg);
    auto& root = v.as_object();
    // Every key object carries the same fields as in `probe`: a fresh
    // process has used no key yet.
    for (auto& p : root["providers"].as_array())
      for (auto& k : p.as_object()["keys"].as_array()) {
        auto& ko = k.as_object();
        ko["state"] = "available";
        ko["available_in_ms"] = 0;
        ko["requests"] = 0;
        ko["failures"] = 0;
      }
    root["key_count"] = cfg.key_count();
    root["rejected"] = rejected;
    root["ok"] = rejected == 0;
    out << detail::json_text(v) << "\n";
    return rejected ? exit_failed : exit_ok;
  }
  std::size_t with_keys = 0;
  for (const auto& p : cfg.providers) with_keys += !p.keys.empty();
  out << "keypool: " << cfg.key_count() << " key" << (cfg.key_count() == 1 ? "" : "s") << " for " << with_keys
      << " provider" << (with_keys == 1 ? "" : "s") << "\n";
  for (const auto& p : cfg.providers) {
    if (p.keys.empty()) continue;
    out << "\n\xF0\x9F\x94\x91 " << p.provider.display_name << "  " << p.provider.base_url
        << (p.base_url_overridden ? "  (overridden)" : "") << "\n";
    for (const auto& k : p.keys) {
      out << "   " << detail::key_label(k.spec.variable, redact(k.spec.secret), fingerprint(k.spec.secret));
      std::string settings;
      if (k.spec.weight != 1) settings += ", weight " + std::to_string(k.spec.weight);
      if (!k.spec.account.empty()) settings += ", account " + k.spec.account;
      if (k.spec.daily_limit) settings += ", daily limit " + std::to_string(k.spec.daily_limit);
      out << "  " << k.source.to_string() << settings << "\n";
    }
  }
  if (!cfg.diagnostics.empty()) {
    out << "\n";
    for (const auto& d : cfg.diagnostics) (detail::is_rejection(d) ? err : out) << d.to_string() << "\n";
  }
  if (rejected)
    err << "keypool: " << rejected << " key" << (rejected == 1 ? "" : "s") << " or line" << (rejected == 1 ? "" : "s")
        << " rejected\n";
  return rejected ? exit_failed : exit_ok;
}

// ---- probe -----------------------------------------------------------------------

/// What one probe found.
struct probe_result {
  std::string provider;
  std::string model;
  key_snapshot key;  ///< after the outcome was reported
  outcome result;
  std::string reason;
  unsigned status = 0;
  std::chrono::microseconds latency{0};
};

/// Sends one minimal request with `spec` to `provider` and reports the
/// outcome to a one-key pool, so the resulting state is the pool's verdict.
/// A model that is gone (model_unavailable) is not the key's fault: the next
/// model of `models` is tried with the same key, as the failover client does.
inline probe_result probe_key(http::transport& t, const providers::provider_descriptor& provider, const key_spec& spec,
                              const std::vector<std::string>& models) {
  dynamic_pool pool(provider.info(), {spec});
  auto lease = pool.acquire_or_throw();
  probe_result r;
  r.provider = provider.id;
  auto base = http::parse_url(provider.base_url);
  for (std::size_t m = 0; m < models.size(); ++m) {
    r.model = models[m];
    r.status = 0;
    wire::chat_request req;
    req.prompt = "Reply with the single word OK.";
    req.max_tokens = 16;
    req.model = models[m];
    if (!base) {
      r.result = outcome::bad_request();
      r.reason = base.error().message;
      break;
    }
    auto enc = http::encode_chat(provider, req, lease.secret(), {base->target});
    if (!enc) {
      r.result = outcome::bad_request();
      r.reason = enc.error().message;
      break;
    }
    auto hreq = http::make_request(*base, std::move(*enc));
    for (const auto& [n, v] : provider.extra_headers)
      if (hreq.headers.find(n) == hreq.headers.end()) hreq.headers.set(n, v);
    const auto start = std::chrono::steady_clock::now();
    const auto resp = t.send(std::move(hreq));
    r.latency = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    if (!resp) {
      r.result = outcome::transient();
      r.reason = resp.error().message;
      break;
    }
    r.status = resp->status;
    const http::response& res = *resp;
    const auto lookup = [&res](std::string_view n) { return res.header(n); };
    auto c =
        classify::classify(provider, static_cast<int>(res.status), lookup, res.body, std::chrono::system_clock::now());
    r.result = c.result;
    r.reason = c.reason;
    if (c.result.kind == outcome_kind::success && !http::decode_chat(provider, res.body)) {
      r.result = outcome::transient();
      r.reason = "200 but the body does not decode";
    }
    if (r.result.kind != outcome_kind::model_unavailable) break;
  }
  pool.report(lease, r.result);
  r.key = pool.snapshot().keys.at(0);
  return r;
}

inline int probe(const options& o, std::ostream& out, std::ostream& err) {
  const auto cfg = detail::load_keys(o);
  for (const auto& p : o.positional)
    if (!detail::known_provider(p))
      throw usage_error("unknown provider '" + p + "' (expected zai nvidia groq mistral anthropic openai google)");
  std::vector<const config::provider_config*> selected;
  for (const auto& p : cfg.providers) {
    const bool wanted = o.positional.empty() ||
                        std::find(o.positional.begin(), o.positional.end(), p.provider.id) != o.positional.end();
    if (wanted && !p.keys.empty()) selected.push_back(&p);
  }
  std::size_t total = 0;
  for (const auto* p : selected) total += p->keys.size();
  std::ostream& progress = o.json ? err : out;

  std::vector<probe_result> results;
  if (total == 0) err << "keypool probe: no keys to probe (see `keypool keys`)\n";
  {
    http::transport t(detail::transport_options_for(o));
    std::size_t n = 0;
    for (const auto* p : selected) {
      std::vector<std::string> models;
      if (auto it = o.models.find(p->provider.id); it != o.models.end())
        models.push_back(it->second);
      else
        models = detail::models_for(p->provider.id, "seed");
      if (models.empty()) models.push_back("default");
      for (const auto& k : p->keys) {
        progress << "[" << ++n << "/" << total << "] " << p->provider.id << " " << k.spec.variable << " ("
                 << redact(k.spec.secret) << ") ... " << std::flush;
        auto r = probe_key(t, p->provider, k.spec, models);
        progress << to_string(r.result.kind) << " (" << r.reason << ") " << r.model << " " << detail::ms_text(r.latency)
                 << "\n";
        results.push_back(std::move(r));
      }
    }
  }
  const std::size_t rejected = detail::rejections(cfg.diagnostics);
  std::size_t failed = 0;
  for (const auto& r : results) failed += r.result.kind != outcome_kind::success;
  const bool ok = total > 0 && failed == 0 && rejected == 0;

  if (o.json) {
    boost::json::array keys;
    for (const auto& r : results) {
      auto k = json::to_json(r.key, r.provider);
      k["model"] = r.model;
      k["outcome"] = std::string(to_string(r.result.kind));
      k["reason"] = r.reason;
      k["status"] = r.status;
      k["latency_ms"] = static_cast<double>(r.latency.count()) / 1000.0;
      if (r.result.retry_after)
        k["retry_after_ms"] = r.result.retry_after->count();
      else
        k["retry_after_ms"] = nullptr;
      keys.push_back(std::move(k));
    }
    boost::json::object root{
        {"version", 1},     {"keys", std::move(keys)}, {"probed", results.size()},
        {"failed", failed}, {"rejected", rejected},    {"diagnostics", json::diagnostics_to_json(cfg.diagnostics)},
        {"ok", ok}};
    out << detail::json_text(root) << "\n";
  } else if (!results.empty()) {
    out << "\n";
    std::string current;
    for (const auto& r : results) {
      if (r.provider != current) {
        current = r.provider;
        out << "\xF0\x9F\x94\x91 " << providers::find_builtin(current)->display_name << "\n";
      }
      out << "   " << report::key_line(r.key) << "  [" << r.key.state_name() << "; " << r.reason << "]\n";
    }
    out << "\n" << results.size() - failed << " of " << results.size() << " keys answered\n";
  }
  for (const auto& d : cfg.diagnostics)
    if (detail::is_rejection(d)) err << d.to_string() << "\n";
  return ok ? exit_ok : exit_failed;
}

// ---- ask -------------------------------------------------------------------------

using ask_pool = dynamic_pool;
using ask_chain = chain<ask_pool, ask_pool, ask_pool, ask_pool, ask_pool, ask_pool, ask_pool>;

inline int ask(const options& o, std::ostream& out, std::ostream& err) {
  if (o.positional.empty()) throw usage_error("ask needs a PROMPT");
  std::string prompt;
  for (const auto& p : o.positional) prompt += (prompt.empty() ? "" : " ") + p;
  wire::chat_request req;
  req.prompt = prompt;
  for (const auto& path : o.images) {
    const auto mime = detail::mime_of(path);
    if (mime.empty()) throw usage_error("--image " + path + ": not a .jpg, .jpeg, .png, .webp or .gif file");
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      err << "keypool ask: " << path << ": cannot open\n";
      return exit_usage;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    req.images.push_back({ss.str(), mime});
  }
  const auto cfg = detail::load_keys(o);
  for (const auto& d : cfg.diagnostics)
    if (detail::is_rejection(d)) err << d.to_string() << "\n";

  // Seven pools, the chain's providers first; the others stay empty.
  auto order = detail::chain_order(o.chain);
  for (const auto& d : providers::builtin_descriptors())
    if (std::find(order.begin(), order.end(), d.id) == order.end()) order.push_back(d.id);
  std::vector<std::unique_ptr<ask_pool>> pools;
  std::vector<http::route> routes;
  const bool listed = o.chain != "seed" && o.chain != "default" && o.chain != "free-first" && o.chain != "free_first";
  const auto in_chain = listed ? detail::chain_order(o.chain) : order;
  for (const auto& id : order) {
    const auto* pc = cfg.find(id);
    const auto& desc = pc ? pc->provider : *providers::find_builtin(id);
    const bool use = std::find(in_chain.begin(), in_chain.end(), id) != in_chain.end();
    pools.push_back(std::make_unique<ask_pool>(desc.info(), use && pc ? pc->key_specs() : std::vector<key_spec>{}));
    auto models = detail::models_for(id, o.chain);
    if (models.empty()) models.push_back("default");
    routes.push_back({desc, std::move(models)});
  }
  ask_chain chain(*pools[0], *pools[1], *pools[2], *pools[3], *pools[4], *pools[5], *pools[6]);
  http::transport t(detail::transport_options_for(o));
  http::failover_options fo;
  fo.deadline = o.timeout * 2;
  http::client<ask_chain> client(chain, t, routes, fo);
  auto r = client.chat(req);

  std::vector<pool_snapshot> snaps;
  for (auto& s : chain.snapshot())
    if (!s.keys.empty()) snaps.push_back(std::move(s));
  const auto& attempts = r ? r->attempts : r.error().attempts;
  std::string message;
  if (!r) message = r.error().unavailable ? detail::unavailable_message(*r.error().unavailable) : r.error().message;

  if (o.json) {
    boost::json::array atts;
    for (const auto& a : attempts) atts.push_back(detail::attempt_json(a));
    boost::json::object root{{"version", 1}, {"ok", bool(r)}, {"attempts", std::move(atts)}};
    if (r) {
      root["answer"] = r->response.text;
      root["provider"] = r->provider;
      root["model"] = r->model;
      root["variable"] = r->key_variable;
      root["usage"] = boost::json::object{{"input_tokens", r->response.usage.input_tokens},
                                          {"output_tokens", r->response.usage.output_tokens}};
    } else {
      root["error"] = boost::json::object{{"code", std::string(to_string(r.error().code))}, {"message", message}};
    }
    root["statistics"] = json::to_json(std::span<const pool_snapshot>(snaps));
    out << detail::json_text(root) << "\n";
  } else {
    if (r) {
      out << r->response.text << "\n\n";
      out << "served by " << r->provider << " " << r->model << " with " << r->key_variable << " ("
          << r->response.usage.input_tokens << " tokens in, " << r->response.usage.output_tokens << " out)\n";
    } else {
      err << "keypool ask: " << message << "\n";
    }
    out << "attempts:\n";
    for (std::size_t i = 0; i < attempts.size(); ++i) out << "  " << detail::attempt_line(i + 1, attempts[i]) << "\n";
    out << "\n" << report::text(snaps);
  }
  return r ? exit_ok : exit_failed;
}

// ---- mock ------------------------------------------------------------------------

/// Runs the fleet until SIGINT or SIGTERM.
inline int mock(const options& o, std::ostream& out, std::ostream& err) {
  mock::fleet_config cfg = o.config_file ? mock::load_fleet_config(*o.config_file) : mock::sample_fleet();
  if (o.port) cfg.port = *o.port;
  if (o.tls) cfg.tls = true;
  if (o.ca_out && !cfg.tls) throw usage_error("--ca-out needs --tls (or \"tls\": true in the --config file)");
  // Block the signals before the server's threads start, so they inherit
  // the mask and only sigwait() below sees them. The caller's mask comes
  // back on return (run() is also called in process).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  struct mask_guard {
    sigset_t old;
    explicit mask_guard(const sigset_t& block) { pthread_sigmask(SIG_BLOCK, &block, &old); }
    mask_guard(const mask_guard&) = delete;
    mask_guard& operator=(const mask_guard&) = delete;
    ~mask_guard() { pthread_sigmask(SIG_SETMASK, &old, nullptr); }
  } const mask(set);
  mock::fleet fleet(cfg);  // after the guard: its threads are joined before the mask comes back
  out << "keypool mock fleet listening on " << fleet.origin() << (cfg.tls ? " (TLS, generated certificate)" : "")
      << "\n";
  for (const auto& id : fleet.providers().provider_ids()) {
    const auto b = fleet.providers().behavior(id);
    out << "  " << id << std::string(10 - std::min<std::size_t>(id.size(), 9), ' ') << fleet.base_url(id) << "  ("
        << b->keys.size() << " key" << (b->keys.size() == 1 ? "" : "s") << ")\n";
  }
  if (o.write_env) {
    fleet.write_dotenv(*o.write_env);
    out << "wrote the fleet's fake keys and base URLs to " << *o.write_env << "\n";
  }
  if (o.ca_out) {
    std::ofstream ca(*o.ca_out, std::ios::binary | std::ios::trunc);
    if (ca) {
      ca << fleet.ca_pem();
      ca.close();
    }
    if (!ca) {
      err << "keypool mock: " << *o.ca_out << ": cannot write the CA certificate\n";
      return exit_failed;
    }
    out << "wrote the CA certificate to " << *o.ca_out << " (use --ca-file)\n";
  }
  out << "press Ctrl-C to stop\n" << std::flush;
  int sig = 0;
  sigwait(&set, &sig);
  fleet.stop();
  out << "\nstopped; requests served:\n";
  for (const auto& s : fleet.providers().stats())
    out << "  " << s.provider << ": " << s.requests << " requests, " << s.successes << " ok, " << s.rate_limited
        << " rate limited, " << s.quota_exhausted << " over daily quota, " << s.auth_errors << " auth errors, "
        << s.credit_errors << " out of credit, " << s.forbidden << " forbidden, " << s.model_errors << " model errors, "
        << s.bad_requests << " bad requests, " << s.overloaded + s.server_errors << " 5xx, " << s.faults << " faults\n";
  out << std::flush;  // before the signal mask comes back
  return exit_ok;
}

// ---- entry -----------------------------------------------------------------------

/// Runs one command. Never throws; errors become messages and exit codes.
inline int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  try {
    const auto o = parse(args);
    if (o.command == "help" || o.command == "--help" || o.command == "-h") {
      out << usage_text;
      return exit_ok;
    }
    if (o.command == "keys") return keys(o, out, err);
    if (o.command == "probe") return probe(o, out, err);
    if (o.command == "ask") return ask(o, out, err);
    if (o.command == "mock") return mock(o, out, err);
    throw usage_error("unknown command '" + o.command.substr(0, 40) + "'");
  } catch (const usage_error& e) {
    err << "keypool: " << e.what() << "\n\n" << usage_text;
    return exit_usage;
  } catch (const config::dotenv_file_error& e) {
    err << "keypool: " << e.what() << "\n";
    return exit_usage;
  } catch (const mock::config_error& e) {
    err << "keypool: " << e.what() << "\n";
    return exit_usage;
  } catch (const std::exception& e) {
    err << "keypool: " << e.what() << "\n";
    return exit_failed;
  }
}

}  // namespace keypool::cli
