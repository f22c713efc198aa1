#pragma once
/// The `keypool` command line: exit codes, usage text, the options each
/// command reads (option_scopes) and parse(). The commands themselves are in
/// commands/; run() (cli.hpp) ties them together.

#include <keypool/http/url.hpp>
#include <keypool/providers/builtin.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace keypool::cli {

inline constexpr int exit_ok = 0;
inline constexpr int exit_failed = 1;  ///< a key or line rejected, a request failed
inline constexpr int exit_usage = 2;   ///< bad arguments, unreadable file

/// The largest --timeout and --deadline: 24 h (the deadlines derived from
/// them stay far from overflowing).
inline constexpr long long max_timeout_ms = 86'400'000;

/// The largest --max-attempts: far more than any chain has keys and models.
inline constexpr long long max_attempts_limit = 100'000;

inline constexpr std::string_view usage_text =
    "usage: keypool <command> [options]\n"
    "\n"
    "  keys  [--env FILE] [--json]                  keys found, redacted, with per-key settings\n"
    "  probe [PROVIDER...] [--env FILE] [--base-url PROVIDER=URL]... [--json]\n"
    "                                               one minimal request per key\n"
    "  ask   [--image FILE]... [--env FILE] [--chain ORDER] [--model PROVIDER=MODEL]...\n"
    "        [--max-attempts N] [--deadline DURATION] [--wait] [--system TEXT] [--tools FILE]\n"
    "        [--json-schema FILE] [--stream] [--json] [--] PROMPT\n"
    "                                               send a prompt (and images) through the chain\n"
    "  mock  [--config FILE] [--port N] [--tls] [--write-env FILE] [--ca-out FILE]\n"
    "                                               run the mock provider fleet on 127.0.0.1\n"
    "  serve [--env FILE] [--config FILE] [--listen ADDR:PORT] [--chain ORDER] [--stats-every SECONDS]\n"
    "        [--drain-timeout DURATION] [--tls-cert FILE --tls-key FILE]\n"
    "                                               the OpenAI/Anthropic-compatible gateway (docs/serve.md)\n"
    "  help | --help | --version\n"
    "\n"
    "common options: --ignore-environment (read only the .env file), --ca-file FILE (extra trusted CA),\n"
    "                --timeout MS (per request, 1..86400000), --model PROVIDER=MODEL (probe, ask; repeatable)\n"
    "                -- (the rest are arguments: a PROMPT may start with '-')\n"
    "config (keys, probe, ask, serve): --config FILE (JSON: providers; for serve also listen, chain, routes,\n"
    "                limits; docs/serve.md). For mock, --config is the fleet's configuration.\n"
    "state (keys, probe, ask, serve): --state FILE (default $XDG_STATE_HOME/keypool/state.db, or Redis when\n"
    "                REDIS_URL is set), --state none (memory only: each run starts fresh)\n"
    "ask: --max-attempts N (default: every key and model of the chain; with --wait, no limit),\n"
    "     --deadline DURATION (30s, 2m, 1m30s, 500ms; default twice --timeout),\n"
    "     --wait (when every key is locked, wait for the first to free, within the deadline),\n"
    "     --system TEXT (a system instruction), --tools FILE (OpenAI-style tool definitions, JSON),\n"
    "     --json-schema FILE (answer JSON following the schema), --stream (print text as it arrives)\n"
    "an option the command does not read is refused (the error names the commands it applies to)\n"
    "PROVIDER: zai nvidia groq mistral anthropic openai google, or one the .env declares\n"
    "          (TOGETHER_FORMAT=openai_chat + TOGETHER_BASE_URL=... declares together; docs/configuration.md)\n"
    "ORDER: priority (default), free-first, or a comma-separated list of providers\n"
    "exit status: 0 ok, 1 a key/line rejected or a request failed, 2 usage error\n";

/// Parsed command line.
struct options {
  std::string command;
  std::vector<std::string> positional;
  std::optional<std::string> env_file;
  bool json = false;
  bool ignore_environment = false;
  std::map<std::string, std::string> base_urls;            ///< provider id -> URL
  std::map<std::string, std::vector<std::string>> models;  ///< provider id -> models, in the order given
  std::vector<std::string> images;
  std::string chain = "priority";  ///< ORDER, see chain_order.hpp
  std::optional<std::string> ca_file;
  std::chrono::milliseconds timeout{60'000};
  std::optional<unsigned> max_attempts;               ///< ask; default: see commands/ask.hpp
  std::optional<std::chrono::milliseconds> deadline;  ///< ask; default: twice the timeout
  bool wait = false;                                  ///< ask: wait for the earliest key
  std::optional<std::string> state;                   ///< --state FILE or "none"; see detail/state.hpp
  std::optional<std::string> system;                  ///< ask: the system instruction
  std::optional<std::string> tools_file;              ///< ask: tool definitions, see detail/chat_files.hpp
  std::optional<std::string> json_schema_file;        ///< ask: structured output, see detail/chat_files.hpp
  bool stream = false;                                ///< ask: print text as it arrives
  std::optional<std::string> config_file;
  std::optional<std::uint16_t> port;
  bool tls = false;
  std::optional<std::string> write_env;
  std::optional<std::string> ca_out;
  std::string listen_address = "127.0.0.1";         ///< serve --listen
  std::uint16_t listen_port = 8080;                 ///< serve --listen
  std::chrono::seconds stats_every{10};             ///< serve: 0 = never
  std::chrono::milliseconds drain_timeout{30'000};  ///< serve, after SIGTERM
  std::string tls_cert;                             ///< serve --tls-cert (PEM chain)
  std::string tls_key;                              ///< serve --tls-key (PEM private key)
  std::set<std::string> given;                      ///< the options on the command line (a config file yields to them)
};

/// A bad command line; the message says what and how to fix it.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A file named on the command line that cannot be used (missing, a
/// directory, unreadable): exit 2 like a usage error, but with the message
/// alone, as for an unreadable --env.
struct file_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The commands run() dispatches to (besides help).
inline constexpr std::array<std::string_view, 5> commands{"keys", "probe", "ask", "mock", "serve"};

/// Which commands read each option, as their code does: keys(), probe() and
/// ask() call detail::load_keys (--env, --ignore-environment, --base-url) and
/// print --json; probe() and ask() build a transport (--ca-file, --timeout)
/// and read --model; only ask() reads --chain, --max-attempts, --deadline,
/// --wait, --system, --tools, --json-schema and --stream; mock() reads nothing else. parse() refuses an option its
/// command does not read, so a typo or a misplaced option is not silently ignored. --, --help and -h apply everywhere;
/// after --help (or with the help command, or a command that does not exist) nothing is checked.
struct option_scope {
  std::string_view option;
  std::array<std::string_view, commands.size()> used_by;  ///< commands that read it; empty entries at the end
};

inline constexpr std::array<option_scope, 27> option_scopes{{
    {"--json", {"keys", "probe", "ask"}},
    {"--env", {"keys", "probe", "ask", "serve"}},
    {"--ignore-environment", {"keys", "probe", "ask", "serve"}},
    {"--base-url", {"keys", "probe", "ask", "serve"}},
    {"--model", {"probe", "ask", "serve"}},
    {"--image", {"ask"}},
    {"--chain", {"ask", "serve"}},
    {"--max-attempts", {"ask", "serve"}},
    {"--deadline", {"ask", "serve"}},
    {"--wait", {"ask"}},
    {"--system", {"ask"}},
    {"--tools", {"ask"}},
    {"--json-schema", {"ask"}},
    {"--stream", {"ask"}},
    {"--state", {"keys", "probe", "ask", "serve"}},
    {"--ca-file", {"probe", "ask", "serve"}},
    {"--timeout", {"probe", "ask", "serve"}},
    {"--listen", {"serve"}},
    {"--stats-every", {"serve"}},
    {"--drain-timeout", {"serve"}},
    {"--tls-cert", {"serve"}},
    {"--tls-key", {"serve"}},
    {"--config", {"keys", "probe", "ask", "mock", "serve"}},
    {"--port", {"mock"}},
    {"--tls", {"mock"}},
    {"--write-env", {"mock"}},
    {"--ca-out", {"mock"}},
}};

namespace detail {

inline bool known_provider(std::string_view id) { return providers::find_builtin(id) != nullptr; }

/// A built-in provider, or a name a provider declared in the .env can have
/// (`TOGETHER_FORMAT` declares "together"): the commands check it against
/// the .env once loaded (detail::check_provider_names).
inline bool plausible_provider(std::string_view id) {
  const bool declarable = !id.empty() && id.size() <= 40 && id.front() >= 'a' && id.front() <= 'z' &&
                          id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string_view::npos;
  return known_provider(id) || declarable;
}

/// How a usage error quotes `v`: a --base-url argument may hold credentials
/// (`openai=user:secret@host/v1`), so of it only what http::parse_url's
/// errors show; a provider id only when it reads as one.
inline std::string quoted_argument(const std::string& flag, std::string_view v, bool is_id = false) {
  if (is_id && v.size() <= 24 && v.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string::npos)
    return "'" + std::string(v) + "'";
  if (flag == "--base-url") return http::detail::quote_prefix(v);
  return "'" + std::string(v.substr(0, 60)) + "'";
}

inline std::pair<std::string, std::string> split_assignment(const std::string& flag, const std::string& v) {
  const auto eq = v.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
    throw usage_error(flag + " expects PROVIDER=VALUE, got " + quoted_argument(flag, v));
  auto id = v.substr(0, eq);
  if (!plausible_provider(id))
    throw usage_error(flag + ": unknown provider " + quoted_argument(flag, id, true) +
                      " (expected zai nvidia groq mistral anthropic openai google, or one declared in the .env)");
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

/// --deadline's DURATION: one or more <whole number><unit> with unit ms, s,
/// m (or min) or h ("30s", "2m", "1m30s", "500ms"), from 1 ms to 24 h. A bare
/// number is refused: --timeout counts milliseconds, and a deadline of "30"
/// could mean either.
inline std::chrono::milliseconds duration_option(const std::string& flag, const std::string& v) {
  const auto bad = [&](const char* why) {
    return usage_error(flag + " expects a duration such as 30s, 2m, 1m30s or 500ms (" + why + "), got '" +
                       v.substr(0, 40) + (v.size() > 40 ? "...'" : "'"));
  };
  long long total = 0;
  std::size_t i = 0;
  if (v.empty()) throw bad("empty");
  while (i < v.size()) {
    std::size_t d = i;
    while (d < v.size() && v[d] >= '0' && v[d] <= '9') ++d;
    if (d == i || d - i > 9) throw bad(d == i ? "a number first" : "number too large");
    const long long n = std::stoll(v.substr(i, d - i));
    std::size_t u = d;
    while (u < v.size() && v[u] >= 'a' && v[u] <= 'z') ++u;
    const std::string_view unit(v.data() + d, u - d);
    long long scale = 0;
    if (unit == "ms")
      scale = 1;
    else if (unit == "s")
      scale = 1000;
    else if (unit == "m" || unit == "min")
      scale = 60'000;
    else if (unit == "h")
      scale = 3'600'000;
    else
      throw bad(unit.empty() ? "a unit after each number: ms, s, m or h" : "unknown unit");
    total += n * scale;
    if (total > max_timeout_ms) throw bad("at most 24h");
    i = u;
  }
  if (total < 1) throw bad("at least 1ms");
  return std::chrono::milliseconds(total);
}

/// Why `url` cannot be a provider's base URL, or empty: it must be a URL the
/// transport accepts, and plain http:// only to a loopback host, since the
/// key would cross the network in clear text (the transport refuses it too,
/// but only later, as a failed request). The reason never quotes a
/// userinfo, port or query (http::parse_url).
inline std::string base_url_problem(const std::string& url) {
  auto parsed = http::parse_url(url);
  if (!parsed) return parsed.error().message;
  if (parsed->scheme == http::scheme::http && !http::is_loopback_host(parsed->host))
    return "plain http:// is accepted for loopback hosts only, not " + parsed->host.substr(0, 60) + " (use https://)";
  return {};
}

/// --base-url's PROVIDER=URL, checked by base_url_problem.
inline std::pair<std::string, std::string> base_url_option(const std::string& flag, const std::string& v) {
  auto [id, url] = split_assignment(flag, v);
  if (const auto why = base_url_problem(url); !why.empty()) throw usage_error("--base-url " + id + ": " + why);
  return {std::move(id), std::move(url)};
}

/// --state's FILE or "none"; an empty value is refused (it would mean
/// neither).
inline std::string state_option(const std::string& flag, const std::string& v) {
  if (v.empty()) throw usage_error(flag + " expects a FILE or 'none', got ''");
  return v;
}

/// serve's --listen ADDR:PORT (an IPv6 address in brackets: [::1]:8080).
inline void listen_option(const std::string& flag, const std::string& v, options& o) {
  const auto colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw usage_error(flag + " expects ADDR:PORT such as 127.0.0.1:8080, got '" + v.substr(0, 60) + "'");
  auto address = v.substr(0, colon);
  if (address.size() > 2 && address.front() == '[' && address.back() == ']')
    address = address.substr(1, address.size() - 2);
  o.listen_port = static_cast<std::uint16_t>(integer_option(flag, v.substr(colon + 1), 0, 65535, "a port number"));
  o.listen_address = std::move(address);
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
    o.given.insert(a);
    if (a == "--json")
      o.json = true;
    else if (a == "--env")
      o.env_file = value();
    else if (a == "--ignore-environment")
      o.ignore_environment = true;
    else if (a == "--base-url") {
      auto [id, url] = detail::base_url_option(a, value());
      o.base_urls[id] = url;
    } else if (a == "--model") {
      auto [id, m] = detail::split_assignment(a, value());
      o.models[id].push_back(std::move(m));
    } else if (a == "--max-attempts")
      o.max_attempts = static_cast<unsigned>(
          detail::integer_option(a, value(), 1, max_attempts_limit, "a whole number of HTTP requests"));
    else if (a == "--deadline")
      o.deadline = detail::duration_option(a, value());
    else if (a == "--wait")
      o.wait = true;
    else if (a == "--system")
      o.system = value();
    else if (a == "--tools")
      o.tools_file = value();
    else if (a == "--json-schema")
      o.json_schema_file = value();
    else if (a == "--stream")
      o.stream = true;
    else if (a == "--image")
      o.images.push_back(value());
    else if (a == "--chain")
      o.chain = value();
    else if (a == "--state")
      o.state = detail::state_option(a, value());
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
    else if (a == "--listen")
      detail::listen_option(a, value(), o);
    else if (a == "--stats-every")
      o.stats_every = std::chrono::seconds(detail::integer_option(a, value(), 0, 86'400, "a whole number of seconds"));
    else if (a == "--drain-timeout")
      o.drain_timeout = detail::duration_option(a, value());
    else if (a == "--tls-cert")
      o.tls_cert = value();
    else if (a == "--tls-key")
      o.tls_key = value();
    else if (a == "--")
      options_ended = true;
    else if (a == "--help" || a == "-h")
      o.command = "help";
    else if (a == "--version")
      o.command = "--version";
    else if (a.size() > 1 && a[0] == '-' && a != "-")
      throw usage_error("unknown option " + a.substr(0, 40));
    else
      o.positional.push_back(a);
  }
  // keys and mock take no arguments: "keypool keys groq" must not quietly
  // list every provider.
  if ((o.command == "keys" || o.command == "mock" || o.command == "serve") && !o.positional.empty())
    throw usage_error("'" + o.command + "' takes no arguments, got '" + o.positional.front().substr(0, 40) + "'");
  return o;
}

}  // namespace keypool::cli
