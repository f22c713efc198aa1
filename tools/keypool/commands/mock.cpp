// `keypool mock`: the entry point commands.hpp declares; its parts are in mock.hpp.
#include "mock.hpp"

namespace keypool::cli {

/// Runs the fleet until SIGINT or SIGTERM.
int mock(const options& o, std::ostream& out, std::ostream& err) {
  mock::fleet_config cfg = o.config_file ? mock::load_fleet_config(*o.config_file) : mock::sample_fleet();
  if (o.port) cfg.port = *o.port;
  if (o.tls) cfg.tls = true;
  if (o.ca_out && !cfg.tls) throw usage_error("--ca-out needs --tls (or \"tls\": true in the --config file)");
  // Block the signals before the server's threads start, so they inherit
  // the mask and only sigwait() below sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  const detail::signal_mask_guard mask(set);
  mock::fleet fleet(cfg);  // after the guard: its threads are joined before the mask comes back
  detail::print_fleet(out, fleet, cfg.tls);
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
  detail::print_served(out, fleet);
  out << std::flush;  // before the signal mask comes back
  return exit_ok;
}

}  // namespace keypool::cli
