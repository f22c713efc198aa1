#pragma once
/// The `keypool` command-line tool, as functions (main.cpp is a one-liner;
/// the integration tests call run() directly; cli.cpp defines it):
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
/// command (commands.hpp declares their entry points); chain_order.hpp reads
/// `--chain ORDER`.
///
/// Exit status: 0 all went well; 1 a key or line was rejected, or a request
/// failed (the JSON of what did load is still printed); 2 usage error or an
/// unreadable file. docs/cli.md documents the output and its JSON.
///
/// Secrets: output shows a key by variable, redacted form and fingerprint
/// only. Diagnostics never quote values; transport errors never carry
/// request headers.

#include "options.hpp"

#include <ostream>
#include <string>
#include <vector>

namespace keypool::cli {

/// Runs one command. Never throws; errors become messages and exit codes.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace keypool::cli
