#pragma once
/// The `keypool` command-line tool, as functions (main.cpp is a one-liner;
/// the integration tests call run() directly):
///
///   keypool keys  [--env FILE] [--base-url PROVIDER=URL]... [--ignore-environment] [--json]
///   keypool probe [PROVIDER...] [--env FILE] [--base-url PROVIDER=URL]... [--model PROVIDER=MODEL]...
///                 [--ca-file FILE] [--timeout MS] [--ignore-environment] [--json]
///   keypool ask   [--image FILE]... [--env FILE] [--chain ORDER] [--model PROVIDER=MODEL]...
///                 [--max-attempts N] [--deadline DURATION] [--wait] [--base-url PROVIDER=URL]...
///                 [--ca-file FILE] [--timeout MS] [--ignore-environment] [--json] [--] PROMPT
///   keypool mock  [--config FILE] [--port N] [--tls] [--write-env FILE] [--ca-out FILE]
///   keypool serve [--env FILE] [--listen ADDR:PORT] [--chain ORDER] [--stats-every SECONDS]
///                 [--drain-timeout DURATION] [client options as for ask]
///   keypool --version
///
/// options.hpp parses the command line (an option the command does not read
/// is a usage error, see option_scopes); commands/ holds one file per
/// command; chain_order.hpp reads `--chain ORDER`.
///
/// Exit status: 0 all went well; 1 a key or line was rejected, or a request
/// failed (the JSON of what did load is still printed); 2 usage error or an
/// unreadable file. docs/cli.md documents the output and its JSON.
///
/// Secrets: output shows a key by variable, redacted form and fingerprint
/// only. Diagnostics never quote values; transport errors never carry
/// request headers.

#include "commands/ask.hpp"
#include "commands/keys.hpp"
#include "commands/mock.hpp"
#include "commands/probe.hpp"
#include "commands/serve.hpp"
#include "options.hpp"

#include <keypool/config/dotenv.hpp>
#include <keypool/mock/config.hpp>

#include <exception>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

// The project version, CMake's `project(VERSION)` (meson's project version),
// given by the build as a compile definition: no header carries it.
#ifndef KEYPOOL_VERSION
#error "KEYPOOL_VERSION is not defined: the build passes the project version (CMakeLists.txt, meson.build)"
#endif

namespace keypool::cli {

/// "keypool 0.1.0".
inline constexpr std::string_view version_text = "keypool " KEYPOOL_VERSION "\n";

/// Runs one command. Never throws; errors become messages and exit codes.
inline int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  try {
    const auto o = parse(args);
    if (o.command == "help" || o.command == "--help" || o.command == "-h") {
      out << usage_text;
      return exit_ok;
    }
    if (o.command == "--version") {
      out << version_text;
      return exit_ok;
    }
    if (o.command == "keys") return keys(o, out, err);
    if (o.command == "probe") return probe(o, out, err);
    if (o.command == "ask") return ask(o, out, err);
    if (o.command == "mock") return mock(o, out, err);
    if (o.command == "serve") return serve(o, out, err);
    throw usage_error("unknown command '" + o.command.substr(0, 40) + "'");
  } catch (const usage_error& e) {
    err << "keypool: " << e.what() << "\n\n" << usage_text;
    return exit_usage;
  } catch (const file_error& e) {
    err << "keypool: " << e.what() << "\n";
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
