#pragma once
/// The commands' entry points, one per file of commands/ (X.cpp defines X;
/// X.hpp holds its parts). The build compiles them once, as one translation
/// unit (the commands share the failover client, the gateway and the mock
/// fleet), into the library that both the program and the integration tests
/// link (the keypool_cli_lib target).

#include "options.hpp"

#include <ostream>

namespace keypool::cli {

int keys(const options& o, std::ostream& out, std::ostream& err);
int probe(const options& o, std::ostream& out, std::ostream& err);
int ask(const options& o, std::ostream& out, std::ostream& err);
int mock(const options& o, std::ostream& out, std::ostream& err);
int serve(const options& command_line, std::ostream& out, std::ostream& err);

}  // namespace keypool::cli
