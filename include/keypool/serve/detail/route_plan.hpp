#pragma once
/// Which chain positions, with which model, may serve a request, from its
/// `model` field: `provider/model` (that provider only, that model), a
/// catalog model id or name (the providers that list it, with their api
/// ids), a chain name (`auto`: the whole chain, each provider with its
/// route's models in order), a named route (gateway_options::named_routes),
/// or a model one of the routes lists.

#include <keypool/http/failover.hpp>
#include <keypool/providers/catalog.hpp>

#include <algorithm>
#include <bitset>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::serve::detail {

template <std::size_t N>
struct route_plan {
  std::bitset<N> skip{};  ///< positions that may not serve
  /// Per position: the model to send; empty: the route's models in order.
  std::vector<std::string> model = std::vector<std::string>(N);
  std::string error{};  ///< not empty: the model names nothing keypool serves
};

template <std::size_t N>
route_plan<N> whole_chain() {
  return {};
}

/// Only the positions given a model.
template <std::size_t N>
void restrict_to_models(route_plan<N>& p) {
  for (std::size_t i = 0; i < N; ++i)
    if (p.model[i].empty()) p.skip.set(i);
}

template <std::size_t N>
std::string unknown_model_message(std::string_view model, const std::vector<http::route>& routes) {
  std::string ids;
  for (const auto& r : routes) ids += (ids.empty() ? "" : ", ") + r.provider.id;
  return "unknown model '" + std::string(model) + "': use provider/model (providers: " + ids +
         "), a catalog model id, or a chain name such as auto";
}

using named_routes = std::map<std::string, std::vector<std::string>>;

/// The plan of a named route: each target's provider with its model.
template <std::size_t N>
route_plan<N> named_plan(const std::vector<std::string>& targets, const std::vector<http::route>& routes) {
  route_plan<N> p;
  for (const auto& t : targets) {
    const auto slash = t.find('/');
    for (std::size_t i = 0; i < N; ++i)
      if (routes[i].provider.id == std::string_view(t).substr(0, slash) && p.model[i].empty())
        p.model[i] = t.substr(slash + 1);
  }
  restrict_to_models(p);
  return p;
}

/// The plan for `model` (see the file comment).
template <std::size_t N>
route_plan<N> plan_route(std::string_view model, const std::vector<http::route>& routes,
                         const std::vector<std::string>& chain_names, const providers::catalog& cat,
                         const named_routes& named = {}) {
  route_plan<N> p;
  if (model.empty()) {
    p.error = "the request has no model: use provider/model, a catalog model id, or a chain name such as auto";
    return p;
  }
  for (const auto& n : chain_names)
    if (n == model) return whole_chain<N>();
  if (const auto it = named.find(std::string(model)); it != named.end()) return named_plan<N>(it->second, routes);
  if (const auto slash = model.find('/'); slash != std::string_view::npos) {
    const auto prefix = model.substr(0, slash);
    for (std::size_t i = 0; i < N; ++i)
      if (routes[i].provider.id == prefix) p.model[i] = std::string(model.substr(slash + 1));
    if (std::any_of(p.model.begin(), p.model.end(), [](auto& m) { return !m.empty(); })) {
      restrict_to_models(p);
      return p;
    }
  }
  for (const auto& e : cat.entries())
    if (e.api_id == model || e.name == model || (!e.seed_api_id.empty() && e.seed_api_id == model))
      for (std::size_t i = 0; i < N; ++i)
        if (routes[i].provider.id == e.provider && p.model[i].empty()) p.model[i] = e.api_id;
  for (std::size_t i = 0; i < N; ++i)
    for (const auto& m : routes[i].models)
      if (m == model && p.model[i].empty()) p.model[i] = m;
  if (std::none_of(p.model.begin(), p.model.end(), [](auto& m) { return !m.empty(); })) {
    p.error = unknown_model_message<N>(model, routes);
    return p;
  }
  restrict_to_models(p);
  return p;
}

}  // namespace keypool::serve::detail
