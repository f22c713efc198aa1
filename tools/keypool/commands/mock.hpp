#pragma once
/// `keypool mock`: the mock provider fleet on 127.0.0.1 until SIGINT or
/// SIGTERM, then what each provider served.

#include "../commands.hpp"
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

}  // namespace keypool::cli
