#pragma once
/// Cost accounting and spend caps for the failover client.
///
/// Every successful chat adds its token usage (`wire::chat_response::usage`)
/// times the model's price to a `spend_ledger`, per key (variable and
/// fingerprint), provider and model. A provider may have a spend cap: once
/// its accumulated cost reaches the cap the client skips it, and says so
/// ("OPENAI spend cap of $5.00 reached ($5.02 spent)").
///
/// Prices come from the model catalog (`providers::catalog`), which lists one
/// USD-per-million-tokens figure per model: `price_table::from_catalog` uses
/// it for input and output tokens alike. `price_table::set` takes separate
/// input/output prices when you know them.
///
/// Thread safety and cost on the request path:
///  - `cap_reason()` (called before every attempt) is lock-free while the cap
///    is not reached: two relaxed atomic loads per provider.
///  - `record()` (once per successful chat, after the response) takes one
///    short mutex for the per-key rows; the provider totals the caps read are
///    atomics updated inside the same critical section, so a snapshot is
///    consistent.
///  - Caps are soft: they are checked before each attempt, so requests already
///    in flight when a cap is reached still complete and are counted; spend
///    can exceed a cap by the cost of the requests in flight.
/// Costs are kept in integer nano-dollars (1e-9 USD), rounded per request.

#include <keypool/core/detail/ascii.hpp>
#include <keypool/providers/catalog.hpp>
#include <keypool/report/prometheus.hpp>
#include <keypool/wire/request.hpp>

#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keypool::spend {

/// USD per million tokens.
struct model_price {
  double input_per_mtok = 0;
  double output_per_mtok = 0;
  friend bool operator==(const model_price&, const model_price&) = default;
};

/// Prices by (provider id, model api identifier).
class price_table {
 public:
  price_table() = default;

  /// The catalog's single price per model, applied to input and output
  /// tokens. A model listed twice under one api identifier (a retired model
  /// mapped to its successor) takes the price of the entry tried first
  /// (lowest priority number). Retired identifiers (seed_api_id) are priced
  /// too.
  static price_table from_catalog(const providers::catalog& c) {
    price_table t;
    for (const auto& m : c.priority_order()) {
      const model_price p{m.price_per_mtok, m.price_per_mtok};
      t.add_if_missing(m.provider, m.api_id, p);
      if (!m.seed_api_id.empty()) t.add_if_missing(m.provider, m.seed_api_id, p);
    }
    return t;
  }

  /// Sets (or replaces) one model's price.
  void set(const std::string& provider, const std::string& model, model_price p) { prices_[provider][model] = p; }

  std::optional<model_price> find(std::string_view provider, std::string_view model) const {
    const auto pi = prices_.find(provider);
    if (pi == prices_.end()) return std::nullopt;
    const auto mi = pi->second.find(model);
    if (mi == pi->second.end()) return std::nullopt;
    return mi->second;
  }

  std::size_t size() const noexcept {
    std::size_t n = 0;
    for (const auto& [_, models] : prices_) n += models.size();
    return n;
  }

 private:
  void add_if_missing(const std::string& provider, const std::string& model, model_price p) {
    prices_[provider].try_emplace(model, p);
  }

  std::map<std::string, std::map<std::string, model_price, std::less<>>, std::less<>> prices_;
};

/// One key × model row of the ledger.
struct key_spend {
  std::string provider_id;  ///< "openai"
  std::string provider;     ///< display name, "OPENAI"
  std::string variable;     ///< "OPENAI_API_KEY_2" (never the secret)
  std::string fingerprint;  ///< short SHA-256 of the secret
  std::string model;        ///< api identifier sent
  std::uint64_t requests = 0;
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
  double cost_usd = 0;
  bool priced = true;  ///< false: the model has no price in the table (cost 0)
};

/// One provider's totals and cap.
struct provider_spend {
  std::string provider_id;
  std::string provider;  ///< display name
  std::uint64_t requests = 0;
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
  double cost_usd = 0;
  std::optional<double> cap_usd{};
  bool cap_reached = false;
};

/// One provider × model's totals (over all keys).
struct model_spend {
  std::string provider_id;
  std::string model;
  std::uint64_t requests = 0;
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
  double cost_usd = 0;
};

struct spend_snapshot {
  std::vector<provider_spend> providers;  ///< in registration order
  std::vector<model_spend> models;        ///< by provider, then model
  std::vector<key_spend> keys;            ///< by provider, variable, model
  std::uint64_t requests = 0;
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
  double cost_usd = 0;

  const provider_spend* provider(std::string_view id) const {
    for (const auto& p : providers)
      if (p.provider_id == id) return &p;
    return nullptr;
  }
};

/// "$5.00", "$0.0123", "$0.000075": two decimals at least, up to six.
inline std::string format_usd(double usd) {
  char buf[64];  // to_chars, not printf: the C locale could make the point a comma
  std::string s(buf, std::to_chars(buf, buf + sizeof buf, usd, std::chars_format::fixed, 6).ptr);
  const auto dot = s.find('.');
  while (s.size() > dot + 3 && s.back() == '0') s.pop_back();
  return "$" + s;
}

class spend_ledger {
  static constexpr std::uint64_t no_cap = std::numeric_limits<std::uint64_t>::max();

  struct account {
    std::string id;
    std::string display_name;
    std::atomic<std::uint64_t> spent_nusd{0};
    std::atomic<std::uint64_t> cap_nusd{no_cap};
    std::uint64_t requests = 0;  // under mu_
    std::uint64_t input_tokens = 0;
    std::uint64_t output_tokens = 0;
  };

  struct row {
    account* acct = nullptr;
    std::string variable, fingerprint, model;
    std::uint64_t requests = 0, input_tokens = 0, output_tokens = 0, cost_nusd = 0;
    bool priced = true;
  };

 public:
  /// A provider registered with the ledger; cheap to copy, valid as long as
  /// the ledger lives.
  class provider_handle {
   public:
    provider_handle() = default;
    explicit operator bool() const noexcept { return a_ != nullptr; }

   private:
    friend class spend_ledger;
    explicit provider_handle(account* a) noexcept : a_(a) {}
    account* a_ = nullptr;
  };

  /// Prices from the built-in catalog.
  spend_ledger() : spend_ledger(price_table::from_catalog(providers::catalog::builtin())) {}
  explicit spend_ledger(price_table prices) : prices_(std::move(prices)) {}
  spend_ledger(const spend_ledger&) = delete;
  spend_ledger& operator=(const spend_ledger&) = delete;

  /// Registers a provider (idempotent); `display_name` ("OPENAI") is used in
  /// cap messages and reports, defaulting to the id in upper case.
  provider_handle provider(std::string_view id, std::string_view display_name = {}) {
    std::lock_guard lock(mu_);
    return provider_handle(account_locked(id, display_name));
  }

  /// Sets a spend cap in USD for a provider: once its cost reaches `usd`
  /// the client skips it. 0 skips it from the start.
  void set_cap(std::string_view provider_id, double usd) {
    std::lock_guard lock(mu_);
    account_locked(provider_id, {})->cap_nusd.store(to_nusd(usd), std::memory_order_relaxed);
  }
  void clear_cap(std::string_view provider_id) {
    std::lock_guard lock(mu_);
    account_locked(provider_id, {})->cap_nusd.store(no_cap, std::memory_order_relaxed);
  }

  /// Sets one model's price (input/output USD per million tokens).
  void set_price(const std::string& provider_id, const std::string& model, model_price p) {
    std::lock_guard lock(mu_);
    prices_.set(provider_id, model, p);
  }

  /// Why the provider must be skipped, or nullopt. Lock-free unless the cap
  /// is reached.
  std::optional<std::string> cap_reason(provider_handle h) const {
    if (!h) return std::nullopt;
    const auto cap = h.a_->cap_nusd.load(std::memory_order_relaxed);
    if (cap == no_cap) return std::nullopt;
    const auto spent = h.a_->spent_nusd.load(std::memory_order_relaxed);
    if (spent < cap) return std::nullopt;
    // provider() may rewrite display_name (another client registering).
    std::lock_guard lock(mu_);
    return h.a_->display_name + " spend cap of " + format_usd(from_nusd(cap)) + " reached (" +
           format_usd(from_nusd(spent)) + " spent)";
  }
  bool cap_reached(provider_handle h) const noexcept {
    if (!h) return false;
    const auto cap = h.a_->cap_nusd.load(std::memory_order_relaxed);
    return cap != no_cap && h.a_->spent_nusd.load(std::memory_order_relaxed) >= cap;
  }

  /// Adds one successful request; returns its cost in USD (0 when the model
  /// has no price: the row is marked unpriced). `fallback_model` (the model
  /// the provider reported) is priced when `model` is not in the table.
  double record(provider_handle h, std::string_view variable, std::string_view fingerprint, std::string_view model,
                const wire::usage& u, std::string_view fallback_model = {}) {
    if (!h) return 0;
    std::lock_guard lock(mu_);
    auto price = prices_.find(h.a_->id, model);
    if (!price && !fallback_model.empty()) price = prices_.find(h.a_->id, fallback_model);
    const double nusd = price ? (static_cast<double>(u.input_tokens) * price->input_per_mtok +
                                 static_cast<double>(u.output_tokens) * price->output_per_mtok) *
                                    1000.0
                              : 0.0;
    const auto cost = static_cast<std::uint64_t>(std::llround(nusd));
    row& r = row_locked(h.a_, variable, fingerprint, model);
    ++r.requests;
    r.input_tokens += u.input_tokens;
    r.output_tokens += u.output_tokens;
    r.cost_nusd += cost;
    if (!price) r.priced = false;
    ++h.a_->requests;
    h.a_->input_tokens += u.input_tokens;
    h.a_->output_tokens += u.output_tokens;
    h.a_->spent_nusd.fetch_add(cost, std::memory_order_relaxed);
    return static_cast<double>(cost) / 1e9;
  }

  /// Adds a row recorded elsewhere (an earlier run, another process, read
  /// back from a state store: spend/stored.hpp) to this ledger's row and its
  /// provider's totals, so caps and reports count it.
  void restore(const key_spend& k) {
    std::lock_guard lock(mu_);
    account* a = account_locked(k.provider_id, k.provider);
    row& r = row_locked(a, k.variable, k.fingerprint, k.model);
    const auto cost = to_nusd(k.cost_usd);
    r.requests += k.requests;
    r.input_tokens += k.input_tokens;
    r.output_tokens += k.output_tokens;
    r.cost_nusd += cost;
    r.priced = r.priced && k.priced;
    a->requests += k.requests;
    a->input_tokens += k.input_tokens;
    a->output_tokens += k.output_tokens;
    a->spent_nusd.fetch_add(cost, std::memory_order_relaxed);
  }

  /// A provider's accumulated cost in USD.
  double spent(std::string_view provider_id) const {
    std::lock_guard lock(mu_);
    for (const auto& a : accounts_)
      if (a->id == provider_id) return from_nusd(a->spent_nusd.load(std::memory_order_relaxed));
    return 0;
  }

  spend_snapshot snapshot() const {
    spend_snapshot s;
    std::lock_guard lock(mu_);
    for (const auto& a : accounts_) {
      provider_spend p;
      p.provider_id = a->id;
      p.provider = a->display_name;
      p.requests = a->requests;
      p.input_tokens = a->input_tokens;
      p.output_tokens = a->output_tokens;
      p.cost_usd = from_nusd(a->spent_nusd.load(std::memory_order_relaxed));
      const auto cap = a->cap_nusd.load(std::memory_order_relaxed);
      if (cap != no_cap) {
        p.cap_usd = from_nusd(cap);
        p.cap_reached = a->spent_nusd.load(std::memory_order_relaxed) >= cap;
      }
      s.requests += p.requests;
      s.input_tokens += p.input_tokens;
      s.output_tokens += p.output_tokens;
      s.cost_usd += p.cost_usd;
      s.providers.push_back(std::move(p));
    }
    std::map<std::pair<std::string, std::string>, model_spend> models;
    for (const auto& [_, r] : rows_) {
      s.keys.push_back({r.acct->id, r.acct->display_name, r.variable, r.fingerprint, r.model, r.requests,
                        r.input_tokens, r.output_tokens, from_nusd(r.cost_nusd), r.priced});
      auto& m = models[{r.acct->id, r.model}];
      m.provider_id = r.acct->id;
      m.model = r.model;
      m.requests += r.requests;
      m.input_tokens += r.input_tokens;
      m.output_tokens += r.output_tokens;
      m.cost_usd += from_nusd(r.cost_nusd);
    }
    for (auto& [_, m] : models) s.models.push_back(std::move(m));
    return s;
  }

  /// Forgets all usage (a new billing period); caps and prices stay.
  void reset() {
    std::lock_guard lock(mu_);
    rows_.clear();
    for (auto& a : accounts_) {
      a->spent_nusd.store(0, std::memory_order_relaxed);
      a->requests = a->input_tokens = a->output_tokens = 0;
    }
  }

 private:
  static std::uint64_t to_nusd(double usd) {
    if (!(usd > 0)) return 0;
    const double n = usd * 1e9;
    return n >= 1.8e19 ? no_cap - 1 : static_cast<std::uint64_t>(std::llround(n));
  }
  static double from_nusd(std::uint64_t n) { return static_cast<double>(n) / 1e9; }

  row& row_locked(account* a, std::string_view variable, std::string_view fingerprint, std::string_view model) {
    std::string k;
    k.reserve(a->id.size() + variable.size() + fingerprint.size() + model.size() + 3);
    k.append(a->id).append(1, '\x1f').append(variable).append(1, '\x1f');
    k.append(fingerprint).append(1, '\x1f').append(model);
    auto it = rows_.find(k);
    if (it == rows_.end()) {
      row fresh;
      fresh.acct = a;
      fresh.variable = std::string(variable);
      fresh.fingerprint = std::string(fingerprint);
      fresh.model = std::string(model);
      it = rows_.emplace(std::move(k), std::move(fresh)).first;
    }
    return it->second;
  }

  account* account_locked(std::string_view id, std::string_view display_name) {
    for (auto& a : accounts_)
      if (a->id == id) {
        if (!display_name.empty()) a->display_name = std::string(display_name);
        return a.get();
      }
    auto a = std::make_unique<account>();
    a->id = std::string(id);
    if (!display_name.empty()) {
      a->display_name = std::string(display_name);
    } else {
      a->display_name = a->id;
      ::keypool::detail::to_upper_in_place(a->display_name);
    }
    accounts_.push_back(std::move(a));
    return accounts_.back().get();
  }

  mutable std::mutex mu_;
  price_table prices_;
  std::vector<std::unique_ptr<account>> accounts_;  // stable addresses for handles
  std::map<std::string, row> rows_;                 // provider \x1f variable \x1f fingerprint \x1f model
};

/// The "💰 SPEND" block for the text report (append it to report::text()).
inline std::string spend_text(const spend_snapshot& s) {
  std::string out = "\xF0\x9F\x92\xB0 SPEND\n";  // 💰
  out += std::string(80, '=') + "\n";
  out += "   Total: " + format_usd(s.cost_usd) + " (" + std::to_string(s.requests) + " requests, " +
         std::to_string(s.input_tokens) + " input / " + std::to_string(s.output_tokens) + " output tokens)\n";
  for (const auto& p : s.providers) {
    out += "   " + p.provider + ": " + format_usd(p.cost_usd);
    if (p.cap_usd) out += " of " + format_usd(*p.cap_usd) + " cap" + (p.cap_reached ? " (cap reached, skipped)" : "");
    out += ", " + std::to_string(p.requests) + " requests\n";
    for (const auto& k : s.keys)
      if (k.provider_id == p.provider_id)
        out += "      " + k.variable + " " + k.model + ": " + (k.priced ? format_usd(k.cost_usd) : "no price") + ", " +
               std::to_string(k.requests) + " requests, " + std::to_string(k.input_tokens) + " in / " +
               std::to_string(k.output_tokens) + " out\n";
  }
  return out;
}

/// Prometheus series for the ledger, to append to report::prometheus().
/// Labels: provider, key (variable), fingerprint, model; never a secret.
inline std::string spend_prometheus(const spend_snapshot& s) {
  using report::detail::label_value;
  auto key_labels = [](const key_spend& k) {
    return "provider=\"" + label_value(k.provider_id) + "\",key=\"" + label_value(k.variable) + "\",fingerprint=\"" +
           label_value(k.fingerprint) + "\",model=\"" + label_value(k.model) + "\"";
  };
  auto num = [](double v) {  // %.9g in the "C" locale whatever the process's is
    char buf[64];
    return std::string(buf, std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 9).ptr);
  };
  std::string out;
  out += "# HELP keypool_spend_usd_total Cost of successful requests in USD per key and model.\n";
  out += "# TYPE keypool_spend_usd_total counter\n";
  for (const auto& k : s.keys) out += "keypool_spend_usd_total{" + key_labels(k) + "} " + num(k.cost_usd) + "\n";
  out += "# HELP keypool_spend_requests_total Successful (billed) requests per key and model.\n";
  out += "# TYPE keypool_spend_requests_total counter\n";
  for (const auto& k : s.keys)
    out += "keypool_spend_requests_total{" + key_labels(k) + "} " + std::to_string(k.requests) + "\n";
  out += "# HELP keypool_spend_tokens_total Tokens per key, model and direction.\n";
  out += "# TYPE keypool_spend_tokens_total counter\n";
  for (const auto& k : s.keys) {
    out += "keypool_spend_tokens_total{" + key_labels(k) + ",direction=\"input\"} " + std::to_string(k.input_tokens) +
           "\n";
    out += "keypool_spend_tokens_total{" + key_labels(k) + ",direction=\"output\"} " + std::to_string(k.output_tokens) +
           "\n";
  }
  out += "# HELP keypool_spend_cap_usd Spend cap per provider in USD.\n";
  out += "# TYPE keypool_spend_cap_usd gauge\n";
  for (const auto& p : s.providers)
    if (p.cap_usd)
      out += "keypool_spend_cap_usd{provider=\"" + label_value(p.provider_id) + "\"} " + num(*p.cap_usd) + "\n";
  out += "# HELP keypool_spend_cap_reached 1 when the provider is skipped for its spend cap.\n";
  out += "# TYPE keypool_spend_cap_reached gauge\n";
  for (const auto& p : s.providers)
    if (p.cap_usd)
      out += "keypool_spend_cap_reached{provider=\"" + label_value(p.provider_id) + "\"} " +
             (p.cap_reached ? "1" : "0") + "\n";
  return out;
}

}  // namespace keypool::spend
