// keypool::cli::run (cli.hpp): parses the command line and runs the command.
#include "cli.hpp"

#include "commands.hpp"

#include <keypool/config/dotenv.hpp>
#include <keypool/mock/config.hpp>

#include <exception>
#include <string_view>

// The project version, CMake's `project(VERSION)` (meson's project version),
// given by the build as a compile definition: no header carries it.
#ifndef KEYPOOL_VERSION
#error "KEYPOOL_VERSION is not defined: the build passes the project version (CMakeLists.txt, meson.build)"
#endif

namespace keypool::cli {

/// "keypool 0.1.0".
inline constexpr std::string_view version_text = "keypool " KEYPOOL_VERSION "\n";

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
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
