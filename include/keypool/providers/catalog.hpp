#pragma once
/// The model catalog: which models exist at which provider, what they cost,
/// whether they see images, and in which order to try them. It is data:
/// the built-in default is a priority table of vision models across the
/// seven providers (with current API identifiers where a listed model was
/// retired and has a successor), and users replace or extend it from JSON
/// (providers/catalog_json.hpp) or code without recompiling.

#include <keypool/core/detail/ascii.hpp>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keypool::providers {

/// How a model is billed: a free tier, trial credit, or paid.
enum class model_tier : std::uint8_t { free, trial, paid };

constexpr std::string_view to_string(model_tier t) noexcept {
  switch (t) {
    case model_tier::free: return "free";
    case model_tier::trial: return "trial";
    case model_tier::paid: return "paid";
  }
  return "unknown";
}

/// "free" / "trial" / "paid", any case.
constexpr std::optional<model_tier> tier_from_string(std::string_view s) noexcept {
  using ::keypool::detail::iequals;
  if (iequals(s, "free")) return model_tier::free;
  if (iequals(s, "trial")) return model_tier::trial;
  if (iequals(s, "paid")) return model_tier::paid;
  return std::nullopt;
}

/// One model at one provider.
struct model_entry {
  std::string provider;       ///< provider id: "groq"
  std::string name;           ///< display name: "Llama 3.2 11B Vision"
  std::string api_id;         ///< identifier sent on the wire (current)
  std::string seed_api_id;    ///< the identifier first listed, when that model was retired; else empty
  double price_per_mtok = 0;  ///< USD per million tokens as listed; 0 for free
  model_tier tier = model_tier::paid;
  bool vision = true;
  int priority = 0;    ///< lower is tried first
  std::string note{};  ///< why an identifier differs, deprecations, ...

  friend bool operator==(const model_entry&, const model_entry&) = default;
};

/// "provider/api_id", the way orders and messages refer to an entry.
inline std::string model_ref(const model_entry& m) { return m.provider + "/" + m.api_id; }

/// Thrown by catalog::ordered_by for a reference that names no entry.
class unknown_model : public std::invalid_argument {
 public:
  explicit unknown_model(const std::string& ref)
      : std::invalid_argument("unknown model \"" + ref + "\" (expected provider/api_id or provider/name)") {}
};

class catalog {
 public:
  catalog() = default;
  explicit catalog(std::vector<model_entry> entries) : entries_(std::move(entries)) {}

  /// The built-in priority table: vision models of the seven providers,
  /// paid first.
  static catalog builtin();

  const std::vector<model_entry>& entries() const noexcept { return entries_; }
  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }

  /// By an api_id or a display name (either matches), or nullptr.
  const model_entry* find(std::string_view provider, std::string_view api_id_or_name) const {
    for (const auto& m : entries_)
      if (m.provider == provider && (m.api_id == api_id_or_name || m.name == api_id_or_name ||
                                     (!m.seed_api_id.empty() && m.seed_api_id == api_id_or_name)))
        return &m;
    return nullptr;
  }

  /// Adds an entry, replacing one with the same provider and name.
  void upsert(model_entry m) {
    for (auto& e : entries_)
      if (e.provider == m.provider && e.name == m.name) {
        e = std::move(m);
        return;
      }
    entries_.push_back(std::move(m));
  }

  /// Upserts every entry of `other`.
  void extend(const catalog& other) {
    for (const auto& m : other.entries_) upsert(m);
  }

  /// Removes the entries of a provider matching `api_id_or_name`; returns how many.
  std::size_t remove(std::string_view provider, std::string_view api_id_or_name) {
    const auto before = entries_.size();
    std::erase_if(entries_, [&](const model_entry& m) {
      return m.provider == provider && (m.api_id == api_id_or_name || m.name == api_id_or_name);
    });
    return before - entries_.size();
  }

  /// The default order: by `priority` (lowest first, paid models of the
  /// built-in table first), ties in insertion order.
  std::vector<model_entry> priority_order() const {
    return sorted([](const model_entry& a, const model_entry& b) { return a.priority < b.priority; });
  }

  /// The former name of priority_order(); kept for one release.
  [[deprecated("use priority_order()")]] std::vector<model_entry> seed_order() const { return priority_order(); }

  /// Free tiers first (Groq, then NVIDIA, then Z.AI; other free providers
  /// after), then trial, then paid; by priority within each group: no money
  /// is spent while a free key is left.
  std::vector<model_entry> free_first() const {
    auto free_rank = [](const model_entry& m) {
      if (m.tier != model_tier::free) return 0;
      if (m.provider == "groq") return 0;
      if (m.provider == "nvidia") return 1;
      if (m.provider == "zai") return 2;
      return 3;
    };
    return sorted([&](const model_entry& a, const model_entry& b) {
      if (a.tier != b.tier) return a.tier < b.tier;
      if (free_rank(a) != free_rank(b)) return free_rank(a) < free_rank(b);
      return a.priority < b.priority;
    });
  }

  /// Entries in a user-defined order of references ("groq/qwen/qwen3.6-27b"
  /// or "groq/Llama 3.2 11B Vision"). Throws unknown_model for a reference
  /// that names nothing; entries not mentioned are left out.
  std::vector<model_entry> ordered_by(std::span<const std::string> refs) const {
    std::vector<model_entry> out;
    for (const auto& r : refs) out.push_back(by_ref(r));
    return out;
  }

  /// The same for a braced list: ordered_by({"groq/qwen/qwen3.6-27b",
  /// "openai/GPT-4o"}) (a span cannot be made from one in C++20).
  std::vector<model_entry> ordered_by(std::initializer_list<std::string_view> refs) const {
    std::vector<model_entry> out;
    for (const auto r : refs) out.push_back(by_ref(r));
    return out;
  }

  /// Entries sorted by any strict weak order (stable).
  template <class Compare>
  std::vector<model_entry> sorted(Compare less) const {
    std::vector<model_entry> out = entries_;
    std::stable_sort(out.begin(), out.end(), less);
    return out;
  }

  /// The entries of one provider, in priority order.
  std::vector<model_entry> for_provider(std::string_view provider) const {
    std::vector<model_entry> out;
    for (auto& m : priority_order())
      if (m.provider == provider) out.push_back(std::move(m));
    return out;
  }

  /// Drops later entries with the same provider/api_id (several retired
  /// models of the built-in table map to one successor), keeping the first
  /// in `order`.
  static std::vector<model_entry> unique(std::vector<model_entry> order) {
    std::vector<model_entry> out;
    for (auto& m : order)
      if (std::none_of(out.begin(), out.end(),
                       [&](const model_entry& o) { return o.provider == m.provider && o.api_id == m.api_id; }))
        out.push_back(std::move(m));
    return out;
  }

 private:
  /// The entry a "provider/api_id" or "provider/name" reference names.
  const model_entry& by_ref(std::string_view ref) const {
    const auto slash = ref.find('/');
    const model_entry* m =
        slash == std::string_view::npos ? nullptr : find(ref.substr(0, slash), ref.substr(slash + 1));
    if (m == nullptr) throw unknown_model(std::string(ref));
    return *m;
  }

  std::vector<model_entry> entries_;
};

inline catalog catalog::builtin() {
  using enum model_tier;
  auto e = [](const char* provider, const char* name, const char* api_id, const char* old_id, double price,
              model_tier t, int priority, const char* note = "") {
    return model_entry{provider, name, api_id, old_id, price, t, true, priority, note};
  };
  // The priority table, row by row (priorities 19 and 22-24 are unused).
  // Prices are list prices per million tokens; they may be stale.
  return catalog(std::vector<model_entry>{
      e("anthropic", "Claude 3.5 Sonnet", "claude-sonnet-4-6", "claude-3-5-sonnet-20241022", 3.00, paid, 1,
        "Claude 3.5 Sonnet retired 2025-10; current Sonnet"),
      e("openai", "GPT-4o", "gpt-4o", "", 5.00, paid, 2),
      e("anthropic", "Claude 3 Opus", "claude-opus-4-8", "claude-3-opus-20240229", 15.00, paid, 3,
        "claude-3-opus-20240229 retired 2026-01-05; current Opus"),
      e("openai", "GPT-4 Vision", "gpt-4o", "gpt-4-vision-preview", 10.00, paid, 4,
        "gpt-4-vision-preview shut down; OpenAI names gpt-4o as its replacement"),
      e("anthropic", "Claude 3 Haiku", "claude-haiku-4-5", "claude-3-haiku-20240307", 0.25, paid, 5,
        "claude-3-haiku-20240307 retired; current Haiku"),
      e("google", "Gemini 2.5 Flash", "gemini-2.5-flash", "", 0.075, paid, 6),
      e("google", "Gemini 2.5 Pro", "gemini-2.5-pro", "", 1.25, paid, 7),
      e("zai", "GLM-4.6V-Flash", "glm-4.6v-flash", "", 0, free, 8),
      e("groq", "Llama 3.2 11B Vision", "qwen/qwen3.6-27b", "llama-3.2-11b-vision-preview", 0, free, 9,
        "decommissioned 2025-04; successor Llama 4 Scout was decommissioned too"),
      e("groq", "Llama 3.2 90B Vision", "qwen/qwen3.6-27b", "llama-3.2-90b-vision-preview", 0, free, 10,
        "decommissioned 2025-04; successor Llama 4 Scout was decommissioned too"),
      e("nvidia", "Llama 3.2 11B Vision", "meta/llama-3.2-11b-vision-instruct", "", 0, free, 11,
        "marked deprecated by NVIDIA"),
      e("nvidia", "Llama 3.2 90B Vision", "meta/llama-3.2-90b-vision-instruct", "", 0, free, 12),
      e("nvidia", "Phi-3.5 Vision", "microsoft/phi-3.5-vision-instruct", "", 0, free, 13),
      e("mistral", "Pixtral 12B", "ministral-14b-latest", "pixtral-12b-2409", 0.15, trial, 14,
        "pixtral-12b-2409 retired 2025-12-31; Mistral names Ministral 3 14B as replacement"),
      e("mistral", "Pixtral Large", "mistral-medium-latest", "pixtral-large-2411", 2.00, trial, 15,
        "pixtral-large-2411 retired 2026-05-31; Mistral names Mistral Medium 3.5 as replacement"),
      e("google", "Gemini 3.0 Flash", "gemini-3-flash-preview", "", 0.10, paid, 16),
      e("google", "Gemini 1.5 Pro", "gemini-2.5-pro", "gemini-1.5-pro", 1.25, paid, 17, "Gemini 1.5 shut down"),
      e("google", "Gemini 1.5 Flash", "gemini-2.5-flash", "gemini-1.5-flash", 0.075, paid, 18, "Gemini 1.5 shut down"),
      e("zai", "GLM-4.6V", "glm-4.6v", "", 0.3, paid, 20),
      e("zai", "GLM-4.5V", "glm-4.5v", "", 0.6, paid, 21),
      e("zai", "GLM-5", "glm-5", "", 1.0, paid, 25, "vision support unconfirmed"),
  });
}

}  // namespace keypool::providers
