#pragma once
/// `--chain ORDER`: which providers `ask` tries, in which order, and the
/// models of each. ORDER is a preset of the model catalog (`priority`, the
/// default, or `free-first`) or a comma-separated list of providers.

#include "options.hpp"

#include <keypool/providers/catalog.hpp>

#include <algorithm>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::cli::detail {

/// What an ORDER names.
enum class chain_preset { priority, free_first, listed };

/// "priority" (also "default", and "seed", its former name), "free-first"
/// (or "free_first"); anything else is a list of providers.
inline chain_preset preset_of(std::string_view spec) {
  if (spec == "priority" || spec == "default" || spec == "seed") return chain_preset::priority;
  if (spec == "free-first" || spec == "free_first") return chain_preset::free_first;
  return chain_preset::listed;
}

/// A one-line notice when ORDER is spelt the deprecated way, else empty.
/// "seed" is kept for one release so that scripts written for it still run.
inline std::string_view chain_deprecation(std::string_view spec) {
  return spec == "seed" ? "--chain seed is deprecated; use --chain priority (the same order)" : "";
}

/// The built-in catalog in the preset's order (a list takes its models in
/// the priority order).
inline std::vector<providers::model_entry> catalog_order(chain_preset p) {
  const auto cat = providers::catalog::builtin();
  return p == chain_preset::free_first ? cat.free_first() : cat.priority_order();
}

/// The providers ORDER names, each once: the catalog's priority order, its
/// free-first order, or the explicit list. Throws usage_error for an unknown
/// provider or an empty list.
inline std::vector<std::string> chain_order(const std::string& spec) {
  std::vector<std::string> out;
  auto add = [&](const std::string& id) {
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  };
  const auto preset = preset_of(spec);
  if (preset != chain_preset::listed) {
    for (const auto& m : catalog_order(preset)) add(m.provider);
    return out;
  }
  std::string item;
  std::istringstream in(spec);
  while (std::getline(in, item, ',')) {
    if (item.empty()) continue;
    if (!known_provider(item))
      throw usage_error("--chain: unknown provider '" + item + "' (use priority, free-first or a list of providers)");
    add(item);
  }
  if (out.empty()) throw usage_error("--chain: empty order");
  return out;
}

/// Models of a provider in the order of the preset (unique api ids).
inline std::vector<std::string> models_for(const std::string& provider, const std::string& spec) {
  std::vector<std::string> out;
  for (const auto& m : catalog_order(preset_of(spec)))
    if (m.provider == provider && std::find(out.begin(), out.end(), m.api_id) == out.end()) out.push_back(m.api_id);
  return out;
}

}  // namespace keypool::cli::detail
