#pragma once
/// Out-of-line bodies of detail::redis_impl (detail/redis_impl.hpp): the
/// lifecycle (start, stop), the publish queue, attachments, key names and
/// status.

#include <keypool/state/detail/redis_impl.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <random>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace keypool::state::detail {

inline redis_impl::redis_impl(redis_options opts) : opts_(std::move(opts)) {
  validate_namespace(opts_.name_space);
  if (opts_.queue_capacity == 0) throw std::invalid_argument("keypool::state::redis: queue_capacity must be > 0");
  ep_.host = opts_.host;
  ep_.port = opts_.port;
  ep_.username = opts_.username;
  ep_.password = opts_.password;
  ep_.database = opts_.database;
  ep_.connect_timeout = opts_.connect_timeout;
  ep_.command_timeout = opts_.command_timeout;
  ep_.tls = {opts_.tls, opts_.ca_file, opts_.tls_verify};
  // Every key under one hash tag, so a Redis Cluster keeps the namespace on
  // one node (one script may touch several of its keys). The channel keeps
  // its untagged name: channels have no slot, and instances of the previous
  // version still hear and are heard.
  prefix_ = "keypool:{" + opts_.name_space + "}:";
  index_key_ = prefix_ + "index";
  channel_ = "keypool:" + opts_.name_space + ":events";
  instance_id_ = make_instance_id();
  if (::pipe2(wake_, O_NONBLOCK | O_CLOEXEC) != 0) throw std::runtime_error("keypool::state::redis: pipe2 failed");
  try {
    writer_ = std::thread([this] { writer_loop(); });
    subscriber_ = std::thread([this] { subscriber_loop(); });
    budgeter_ = std::thread([this] { budget_loop(); });
  } catch (...) {
    stop();
    ::close(wake_[0]);
    ::close(wake_[1]);
    throw;
  }
}

inline redis_impl::~redis_impl() {
  stop();
  ::close(wake_[0]);
  ::close(wake_[1]);
}

inline void redis_impl::stop() noexcept {
  std::lock_guard j(join_mu_);  // two handles may shut down at once
  {
    std::lock_guard g(mu_);
    if (!stopping_) flush_deadline_ = std::chrono::steady_clock::now() + opts_.shutdown_flush;
    stopping_ = true;
  }
  {
    std::lock_guard g(stock_mu_);
    budget_stop_ = true;
  }
  cv_.notify_all();
  stop_cv_.notify_all();
  idle_cv_.notify_all();
  fetch_cv_.notify_all();
  stock_cv_.notify_all();
  wake();
  // A handler must not own the last handle (it would join its own thread).
  for (std::thread* t : {&writer_, &subscriber_, &budgeter_})
    if (t->joinable() && t->get_id() != std::this_thread::get_id()) t->join();
}

inline void redis_impl::enqueue(const state_change& c) noexcept {
  if (c.status == key_status::probing) return;  // local detail, not shared
  try {
    pending_change w{std::string(c.provider_id), std::string(c.fingerprint), c.status, c.reason, to_wall_ms(c.until)};
    {
      std::lock_guard g(mu_);
      if (stopping_) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      if (queue_.size() >= opts_.queue_capacity) {
        queue_.pop_front();
        dropped_.fetch_add(1, std::memory_order_relaxed);
      }
      remember_live(w, false);
      queue_.push_back(std::move(w));
      published_.fetch_add(1, std::memory_order_relaxed);
    }
    cv_.notify_one();
  } catch (...) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
  }
}

inline bool redis_impl::flush(std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lk(mu_);
  return idle_cv_.wait_until(lk, end, [&] { return queue_.empty() && !in_flight_; });
}

inline std::uint64_t redis_impl::attach(std::string provider_id, remote_fn h) {
  std::uint64_t id;
  {
    std::lock_guard g(registry_mu_);
    id = ++next_attachment_;
    handlers_.push_back({id, std::move(provider_id), std::move(h)});
  }
  // The newcomer needs the lockouts already in Redis; ready() waits for it.
  want_sync_.fetch_add(1, std::memory_order_acq_rel);
  wake();
  return id;
}

inline void redis_impl::detach(std::uint64_t id) noexcept {
  std::lock_guard g(registry_mu_);  // waits for a handler that is running
  std::erase_if(handlers_, [&](const handler_entry& e) { return e.id == id; });
}

inline std::string redis_impl::state_key(std::string_view provider_id, std::string_view fp) const {
  std::string k = prefix_;
  k.append("state:").append(provider_id).append(":").append(fp);
  return k;
}
inline std::string redis_impl::daily_key(std::string_view provider_id, std::string_view fp, std::uint32_t day) const {
  std::string k = prefix_;
  k.append("daily:").append(provider_id).append(":").append(fp).append(":").append(std::to_string(day));
  return k;
}

inline redis_status redis_impl::status() const {
  redis_status s;
  s.configured = true;
  s.connected = writer_up_.load(std::memory_order_acquire);
  s.subscribed = subscribed_.load(std::memory_order_acquire);
  s.writes_refused = writes_refused_.load(std::memory_order_acquire);
  s.degraded = !(s.connected && s.subscribed) || s.writes_refused;
  {
    std::lock_guard g(mu_);
    s.queued = queue_.size() + (in_flight_ ? 1 : 0);
  }
  s.published = published_.load(std::memory_order_relaxed);
  s.written = written_.load(std::memory_order_relaxed);
  s.expired = expired_.load(std::memory_order_relaxed);
  s.dropped = dropped_.load(std::memory_order_relaxed);
  s.write_retries = write_retries_.load(std::memory_order_relaxed);
  s.reconnects = reconnects_.load(std::memory_order_relaxed);
  s.received = received_.load(std::memory_order_relaxed);
  s.applied = applied_.load(std::memory_order_relaxed);
  s.own_ignored = own_ignored_.load(std::memory_order_relaxed);
  s.malformed = malformed_.load(std::memory_order_relaxed);
  s.loaded = loaded_.load(std::memory_order_relaxed);
  s.budget_unavailable = budget_unavailable_.load(std::memory_order_relaxed);
  s.data_losses = data_losses_.load(std::memory_order_relaxed);
  s.redirects = redirects_.load(std::memory_order_relaxed);
  s.asks = asks_.load(std::memory_order_relaxed);
  s.budget_waits = budget_waits_.load(std::memory_order_relaxed);
  s.budget_prefetches = budget_prefetches_.load(std::memory_order_relaxed);
  {
    std::lock_guard g(error_mu_);
    for (const auto& e : errors_) {
      if (e.empty() || s.last_error.find(e) != std::string::npos) continue;  // the same outage seen twice
      if (!s.last_error.empty()) s.last_error += "; ";
      s.last_error += e;
    }
  }
  return s;
}

inline void redis_impl::validate_namespace(const std::string& ns) {
  const bool ok = !ns.empty() && ns.size() <= 64 && std::all_of(ns.begin(), ns.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
  if (!ok)
    throw std::invalid_argument("keypool::state::redis: name_space must be 1..64 of [A-Za-z0-9_.-], got \"" + ns +
                                "\"");
}

inline std::string redis_impl::make_instance_id() {
  std::random_device rd;
  std::uint64_t v = (std::uint64_t{rd()} << 32) ^ rd() ^ static_cast<std::uint64_t>(::getpid()) << 16 ^
                    static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  static constexpr char hex[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = hex[v & 0xf];
  return s;
}

inline std::chrono::milliseconds redis_impl::next_backoff(std::chrono::milliseconds cur) const noexcept {
  if (cur.count() <= 0) return opts_.backoff_min;
  return std::min(cur * 2, opts_.backoff_max);
}

inline void redis_impl::set_error(error_slot slot, const std::string& e) {
  std::string clean = e;
  // Short passwords would blank out ordinary words; AUTH replies are reduced
  // to their code anyway (redis_connection::open), so this only catches echoes.
  if (opts_.password.size() >= 4)
    for (auto at = clean.find(opts_.password); at != std::string::npos; at = clean.find(opts_.password, at))
      clean.replace(at, opts_.password.size(), "***");
  std::lock_guard g(error_mu_);
  errors_[static_cast<std::size_t>(slot)] = std::move(clean);
}

/// The node of a "<kind> <slot> <host>:<port>" cluster redirect, or false.
/// An empty host ("MOVED 1 :7001") is left empty: the caller's node's host.
inline bool parse_redirect(const redisReply* r, std::string_view kind, std::string& host, int& port) {
  if (!r || r->type != REDIS_REPLY_ERROR) return false;
  const auto text = reply_text(r);
  if (!text.starts_with(kind) || text.size() <= kind.size() || text[kind.size()] != ' ') return false;
  const auto space = text.rfind(' '), colon = text.rfind(':');
  if (colon == std::string_view::npos || colon < space) return false;
  const auto digits = text.substr(colon + 1);
  int p = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p);
  if (ec != std::errc{} || end != digits.data() + digits.size() || p <= 0 || p > 65535) return false;
  host = std::string(text.substr(space + 1, colon - space - 1));
  port = p;
  return true;
}

inline bool redis_impl::follow_moved(const redisReply* r, redis_connection& conn, std::string& err) {
  std::string host;
  int p = 0;
  if (!parse_redirect(r, "MOVED", host, p)) return false;
  {
    std::lock_guard g(node_mu_);
    if (host.empty()) host = node_port_ != 0 ? node_host_ : ep_.host;  // "MOVED 1 :7001": same host
    node_host_ = host;
    node_port_ = p;
  }
  redirects_.fetch_add(1, std::memory_order_relaxed);
  err = "the namespace's slot is served by " + host + ":" + std::to_string(p) + " (MOVED): reconnecting there";
  conn.close();
  return true;
}

inline bool redis_impl::follow_ask(reply_ptr& r, std::string_view sha, std::string_view script,
                                   std::vector<std::string_view> args, std::string& err) {
  std::string host;
  int p = 0;
  if (!parse_redirect(r.get(), "ASK", host, p)) return false;
  redis_endpoint ep = endpoint_for("ask");
  if (!host.empty()) ep.host = host;
  ep.port = p;
  asks_.fetch_add(1, std::memory_order_relaxed);
  r.reset();
  scripted_connection target;
  if (!target.open(ep, err)) return true;
  if (auto a = target.conn.command({"ASKING"}, err); !a || a->type == REDIS_REPLY_ERROR) {
    if (a) err = "ASKING refused: " + std::string(reply_text(a.get()));
    return true;
  }
  r = target.eval(sha, script, std::move(args), err);
  return true;
}

inline void redis_impl::clear_error(error_slot slot) {
  std::lock_guard g(error_mu_);
  errors_[static_cast<std::size_t>(slot)].clear();
}

inline redis_endpoint redis_impl::endpoint_for(std::string_view role) const {
  redis_endpoint ep = ep_;
  {
    std::lock_guard g(node_mu_);
    if (node_port_ != 0) {
      ep.host = node_host_;
      ep.port = node_port_;
    }
  }
  ep.client_name = prefix_ + std::string(role) + ":" + instance_id_;
  return ep;
}

inline void redis_impl::wake() noexcept {
  const char b = 1;
  [[maybe_unused]] auto n = ::write(wake_[1], &b, 1);
}

inline bool redis_impl::sleep_or_stop(std::condition_variable& cv, std::chrono::milliseconds d) {
  std::unique_lock lk(mu_);
  return cv.wait_for(lk, d, [&] { return stopping_; });
}

}  // namespace keypool::state::detail
