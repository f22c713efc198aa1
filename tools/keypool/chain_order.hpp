#pragma once
/// `--chain ORDER`: which providers `ask` tries, in which order, and the
/// models of each. ORDER is a preset of the model catalog (`priority`, the
/// default, or `free-first`) or a comma-separated list of providers. The
/// providers the .env declares (config/env_providers.hpp) come after the
/// catalog's in both presets, with the models of their P_MODELS.

#include "detail/load.hpp"
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
/// free-first order, or the explicit list; a preset ends with the declared
/// providers. Throws usage_error for a provider neither built in nor
/// declared, or an empty list.
inline std::vector<std::string> chain_order(const std::string& spec, const loaded_config& c) {
  std::vector<std::string> out;
  auto add = [&](const std::string& id) {
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  };
  const auto preset = preset_of(spec);
  if (preset != chain_preset::listed) {
    for (const auto& m : catalog_order(preset)) add(m.provider);
    for (const auto& d : c.declared.providers) add(d.descriptor.id);
    return out;
  }
  std::string item;
  std::istringstream in(spec);
  while (std::getline(in, item, ',')) {
    if (item.empty()) continue;
    if (!c.keys.find(item)) throw unknown_provider("--chain", item.substr(0, 40), c.keys);
    add(item);
  }
  if (out.empty()) throw usage_error("--chain: empty order");
  return out;
}

/// chain_order with the built-in providers only.
inline std::vector<std::string> chain_order(const std::string& spec) {
  return chain_order(spec, loaded_config{config::build_key_config({}, {}), {}});
}

/// Models of a provider: a declared provider's P_MODELS, else the
/// catalog's in the order of the preset (unique api ids).
inline std::vector<std::string> models_for(const std::string& provider, const std::string& spec,
                                           const config::declared_providers& declared) {
  if (const auto* d = declared.find(provider)) return d->models;
  std::vector<std::string> out;
  for (const auto& m : catalog_order(preset_of(spec)))
    if (m.provider == provider && std::find(out.begin(), out.end(), m.api_id) == out.end()) out.push_back(m.api_id);
  return out;
}

/// models_for of a built-in provider.
inline std::vector<std::string> models_for(const std::string& provider, const std::string& spec) {
  return models_for(provider, spec, {});
}

}  // namespace keypool::cli::detail
