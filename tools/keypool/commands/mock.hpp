#pragma once
/// `keypool mock`: the mock provider fleet on 127.0.0.1 until SIGINT or
/// SIGTERM, then what each provider served.

#include "../options.hpp"

#include <keypool/mock/config.hpp>
#include <keypool/mock/fleet.hpp>

#include <algorithm>
#include <cstddef>
#include <fstream>
#include <ostream>
#include <string>

#include <pthread.h>
#include <signal.h>

namespace keypool::cli {

namespace detail {

/// Blocks `block` on the calling thread for its lifetime: threads started
/// meanwhile inherit the mask, so only sigwait() on this thread sees the
/// signals. The caller's mask comes back on destruction (run() is also
/// called in process).
class signal_mask_guard {
 public:
  explicit signal_mask_guard(const sigset_t& block) { pthread_sigmask(SIG_BLOCK, &block, &old_); }
  signal_mask_guard(const signal_mask_guard&) = delete;
  signal_mask_guard& operator=(const signal_mask_guard&) = delete;
  ~signal_mask_guard() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

 private:
  sigset_t old_;
};

/// The fleet's origin and each provider's base URL and key count.
inline void print_fleet(std::ostream& out, const mock::fleet& fleet, bool tls) {
  out << "keypool mock fleet listening on " << fleet.origin() << (tls ? " (TLS, generated certificate)" : "") << "\n";
  for (const auto& id : fleet.providers().provider_ids()) {
    const auto b = fleet.providers().behavior(id);
    out << "  " << id << std::string(10 - std::min<std::size_t>(id.size(), 9), ' ') << fleet.base_url(id) << "  ("
        << b->keys.size() << " key" << (b->keys.size() == 1 ? "" : "s") << ")\n";
  }
}

/// What each provider answered, by category.
inline void print_served(std::ostream& out, const mock::fleet& fleet) {
  out << "\nstopped; requests served:\n";
  for (const auto& s : fleet.providers().stats())
    out << "  " << s.provider << ": " << s.requests << " requests, " << s.successes << " ok, " << s.rate_limited
        << " rate limited, " << s.quota_exhausted << " over daily quota, " << s.auth_errors << " auth errors, "
        << s.credit_errors << " out of credit, " << s.forbidden << " forbidden, " << s.model_errors << " model errors, "
        << s.bad_requests << " bad requests, " << s.overloaded + s.server_errors << " 5xx, " << s.faults << " faults\n";
}

}  // namespace detail

/// Runs the fleet until SIGINT or SIGTERM.
inline int mock(const options& o, std::ostream& out, std::ostream& err) {
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
