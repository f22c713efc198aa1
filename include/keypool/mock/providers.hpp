#pragma once
/// The mock providers' behaviour, independent of sockets: one request
/// (method, target, headers, body) in, one reply out, exactly as the real
/// provider would answer it — its auth header, its request shape, its
/// success body, its error bodies and status codes (the ones
/// keypool::classify reads), its rate-limit headers.
///
/// Paths: the fleet serves every provider on one port, under a prefix that
/// is the provider id followed by the provider's own base path:
///   /openai/v1/chat/completions            /anthropic/v1/messages
///   /groq/openai/v1/chat/completions       /mistral/v1/chat/completions
///   /nvidia/v1/chat/completions            /zai/api/paas/v4/chat/completions
///   /google/v1beta/models/{model}:generateContent   (and :streamGenerateContent[?alt=sse])
/// so `base_path(id)` appended to the server's origin is a drop-in base URL.
///
/// The pieces, in detail/: the request-shape checks (one per wire format),
/// the error replies (one per error dialect), the success bodies, the
/// rate-limit headers; the answers (answer_plan.hpp: text, a tool call, JSON
/// output) and their streamed forms (stream_body.hpp). This header holds the fleet that runs them in order;
/// its out-of-line bodies are in impl/providers.hpp.
///
/// Thread safety: handle() and every control function may be called from any
/// number of threads; each provider's counters sit behind its own mutex.

#include <keypool/mock/clock.hpp>
#include <keypool/mock/config.hpp>
#include <keypool/mock/detail/error_kind.hpp>
#include <keypool/mock/detail/request_shape.hpp>
#include <keypool/mock/reply.hpp>
#include <keypool/providers/descriptor.hpp>

#include <chrono>
#include <climits>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keypool::mock {

/// What one mock provider answered, by category. A request counts once.
struct provider_stats {
  std::string provider;
  std::uint64_t requests = 0;
  std::uint64_t successes = 0;
  std::uint64_t rate_limited = 0;     ///< per-minute limit hit (429)
  std::uint64_t quota_exhausted = 0;  ///< per-day limit hit
  std::uint64_t auth_errors = 0;      ///< missing, unknown or revoked key
  std::uint64_t credit_errors = 0;    ///< key out of credit
  std::uint64_t forbidden = 0;
  std::uint64_t overloaded = 0;     ///< provider-wide overload
  std::uint64_t server_errors = 0;  ///< injected 5xx
  std::uint64_t bad_requests = 0;   ///< malformed request, wrong path or method, too large
  std::uint64_t model_errors = 0;   ///< unknown or retired model
  std::uint64_t faults = 0;         ///< truncated, malformed, stalled or reset
  std::uint64_t images = 0;         ///< images in well-formed requests
};

/// The seven mock providers behind one handle(). See the file comment.
class provider_fleet {
 public:
  /// Throws config_error for a provider that is not a built-in one.
  explicit provider_fleet(fleet_config cfg, fleet_clock clock = fleet_clock::real());

  provider_fleet(const provider_fleet&) = delete;
  provider_fleet& operator=(const provider_fleet&) = delete;

  /// Answers one request. Thread-safe.
  reply handle(std::string_view method, std::string_view target, const header_lookup& headers, std::string_view body);

  /// "/groq/openai/v1": appended to the server's origin, the provider's base URL.
  std::string base_path(std::string_view id) const {
    for (const auto& r : runtimes_)
      if (r->cfg.id == id) return r->base_path;
    return {};
  }

  /// Provider ids served, in configuration order.
  std::vector<std::string> provider_ids() const {
    std::vector<std::string> out;
    for (const auto& r : runtimes_) out.push_back(r->cfg.id);
    return out;
  }

  /// A copy of a provider's current behaviour (keys included), or empty.
  std::optional<provider_behavior> behavior(std::string_view id) const {
    for (const auto& r : runtimes_)
      if (r->cfg.id == id) {
        std::lock_guard lock(r->mu);
        return r->cfg;
      }
    return std::nullopt;
  }

  // ---- control (tests, demo) --------------------------------------------------

  /// Changes a key's state (revoke it, run it out of credit). False if unknown.
  bool set_key_state(std::string_view id, std::string_view variable, key_state s) {
    return with_key(id, variable, [&](key_behavior& k) { k.state = s; });
  }

  /// Changes a key's per-minute limit. False if unknown.
  bool set_key_limit(std::string_view id, std::string_view variable, std::uint32_t per_minute) {
    return with_key(id, variable, [&](key_behavior& k) { k.per_minute = per_minute; });
  }

  bool set_overloaded(std::string_view id, bool on) {
    return with(id, [&](runtime& r) {
      r.cfg.overloaded = on;
      return true;
    });
  }

  bool set_latency(std::string_view id, std::chrono::milliseconds latency, std::chrono::milliseconds jitter = {}) {
    return with(id, [&](runtime& r) {
      r.cfg.latency = latency;
      r.cfg.jitter = jitter;
      return true;
    });
  }

  bool set_faults(std::string_view id, const fault_config& f) {
    return with(id, [&](runtime& r) {
      r.cfg.faults = f;
      return true;
    });
  }

  /// The next `n` requests to this provider get `status` (a 5xx burst).
  bool fail_next(std::string_view id, std::uint32_t n, unsigned status = 500) {
    return with(id, [&](runtime& r) {
      r.fail_next = n;
      r.fail_status = status;
      return true;
    });
  }

  /// Forgets every rate-limit window and daily count (not the statistics).
  void reset_limits() {
    for (auto& r : runtimes_) {
      std::lock_guard lock(r->mu);
      r->counters.clear();
    }
  }

  provider_stats stats(std::string_view id) const {
    for (const auto& r : runtimes_)
      if (r->cfg.id == id) {
        std::lock_guard lock(r->mu);
        return r->stats;
      }
    return provider_stats{std::string(id)};
  }

  std::vector<provider_stats> stats() const {
    std::vector<provider_stats> out;
    for (const auto& r : runtimes_) {
      std::lock_guard lock(r->mu);
      out.push_back(r->stats);
    }
    return out;
  }

  bool tls() const noexcept { return tls_; }
  std::uint16_t configured_port() const noexcept { return port_; }
  unsigned threads() const noexcept { return threads_; }
  const fleet_clock& clock() const noexcept { return clock_; }

 private:
  /// An account's (or key's) rate-limit window and daily count.
  struct counter {
    long long window_start = LLONG_MIN;
    std::uint32_t minute = 0;
    long long day = LLONG_MIN;
    std::uint32_t day_count = 0;
  };

  struct runtime {
    provider_behavior cfg;
    providers::provider_descriptor desc;
    std::string base_path;
    mutable std::mutex mu;
    std::map<std::string, counter> counters;  // by account (or secret)
    provider_stats stats;
    std::mt19937_64 rng;
    std::uint64_t seq = 0;
    std::uint32_t burst_left = 0;
    std::uint32_t fail_next = 0;
    unsigned fail_status = 500;
  };

  /// What a step of handle_locked() found, or its refusal.
  template <class T>
  struct checked {
    T value{};
    std::optional<reply> refusal{};
  };

  /// What the path says beyond the provider: Gemini's model and streaming.
  struct route_found {
    std::string model;
    detail::stream_mode stream = detail::stream_mode::none;
  };

  /// The counter of one request's key, its windows brought up to date.
  struct window {
    counter* count = nullptr;
    std::chrono::system_clock::time_point wall{};     ///< now
    std::chrono::system_clock::time_point day_end{};  ///< the provider's next day boundary
    std::chrono::milliseconds minute_reset{0};        ///< until the minute window ends
  };

  template <class F>
  bool with(std::string_view id, F&& f) {
    for (auto& r : runtimes_)
      if (r->cfg.id == id) {
        std::lock_guard lock(r->mu);
        return f(*r);
      }
    return false;
  }

  template <class F>
  bool with_key(std::string_view id, std::string_view variable, F&& f) {
    return with(id, [&](runtime& r) {
      for (auto& k : r.cfg.keys)
        if (k.variable == variable) {
          f(k);
          return true;
        }
      return false;
    });
  }

  static bool dice(runtime& r, double p);
  std::chrono::milliseconds latency(runtime& r) const;
  reply refuse(runtime& r, detail::error_kind k, const detail::error_context& c);
  static std::string_view credential(const runtime& r, const header_lookup& h, std::string_view query);
  void add_limit_headers(runtime& r, reply& out, const key_behavior& k, const counter& c, bool limited,
                         std::chrono::milliseconds reset) const;

  // The steps of handle_locked(), in their order.
  std::optional<reply> inject_fault(runtime& r, std::uint64_t seq);
  checked<route_found> check_route(runtime& r, std::string_view method, std::string_view rest, std::string_view query);
  checked<const key_behavior*> authenticate(runtime& r, const header_lookup& h, std::string_view query);
  checked<detail::parsed_request> check_request(runtime& r, std::string_view body, route_found route);
  window open_window(runtime& r, const key_behavior& key);
  std::optional<reply> check_limits(runtime& r, const key_behavior& key, const window& w, const std::string& model);
  reply answer(runtime& r, const key_behavior& key, const window& w, const detail::parsed_request& req,
               std::uint64_t seq);

  reply handle_locked(runtime& r, std::string_view method, std::string_view rest, std::string_view query,
                      const header_lookup& h, std::string_view body);

  fleet_clock clock_;
  bool tls_;
  std::uint16_t port_;
  unsigned threads_;
  std::vector<std::unique_ptr<runtime>> runtimes_;  // fixed after construction
};

}  // namespace keypool::mock

#include <keypool/mock/impl/providers.hpp>
