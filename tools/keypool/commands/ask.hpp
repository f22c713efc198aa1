#pragma once
/// `keypool ask`: a prompt (and images) through a chain of the seven
/// providers with the failover client; the answer, every attempt and the
/// statistics table.

#include "../chain_order.hpp"
#include "../detail/format.hpp"
#include "../detail/load.hpp"
#include "../options.hpp"

#include <keypool/chain/chain.hpp>
#include <keypool/config/env_keys.hpp>
#include <keypool/core/detail/ascii.hpp>
#include <keypool/core/error.hpp>
#include <keypool/core/pool.hpp>
#include <keypool/http/client.hpp>
#include <keypool/http/transport.hpp>
#include <keypool/json/stats_json.hpp>
#include <keypool/providers/builtin.hpp>
#include <keypool/report/text.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace keypool::cli {

using ask_pool = dynamic_pool;
using ask_chain = chain<ask_pool, ask_pool, ask_pool, ask_pool, ask_pool, ask_pool, ask_pool>;

namespace detail {

inline std::string mime_of(const std::string& path) {
  auto ext = std::filesystem::path(path).extension().string();
  ::keypool::detail::to_lower_in_place(ext);
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".png") return "image/png";
  if (ext == ".webp") return "image/webp";
  if (ext == ".gif") return "image/gif";
  return {};
}

inline boost::json::object attempt_json(const http::attempt& a) {
  return boost::json::object{{"provider", a.provider},
                             {"model", a.model},
                             {"variable", a.key_variable},
                             {"outcome", std::string(to_string(a.outcome.kind))},
                             {"reason", a.reason},
                             {"status", a.status},
                             {"latency_ms", static_cast<double>(a.latency.count()) / 1000.0}};
}

inline std::string attempt_line(std::size_t i, const http::attempt& a) {
  return std::to_string(i) + ". " + a.provider + " " + a.model + " with " + a.key_variable + ": " +
         std::string(to_string(a.outcome.kind)) + " (" + a.reason + ") " + ms_text(a.latency);
}

/// The chain error without the providers that have no keys at all.
inline std::string unavailable_message(const chain_error& e) {
  std::vector<unavailable_error> kept;
  for (const auto& p : e.providers())
    if (!p.keys().empty()) kept.push_back(p);
  return chain_error(std::move(kept)).message();
}

/// The prompt (the arguments, joined by spaces) and the images. Throws
/// usage_error for a missing prompt or an image type no provider takes;
/// nullopt, after a message on `err`, when an image cannot be opened.
inline std::optional<wire::chat_request> ask_request(const options& o, std::ostream& err) {
  if (o.positional.empty()) throw usage_error("ask needs a PROMPT");
  std::string prompt;
  for (const auto& p : o.positional) prompt += (prompt.empty() ? "" : " ") + p;
  wire::chat_request req;
  req.prompt = prompt;
  for (const auto& path : o.images) {
    const auto mime = mime_of(path);
    if (mime.empty()) throw usage_error("--image " + path + ": not a .jpg, .jpeg, .png, .webp or .gif file");
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      err << "keypool ask: " << path << ": cannot open\n";
      return std::nullopt;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    req.images.push_back({ss.str(), mime});
  }
  return req;
}

/// One pool and route per built-in provider, as ask_chain takes seven: the
/// chain's providers first, in its order; a provider the chain leaves out
/// gets an empty pool, so the chain skips it.
struct ask_pools {
  std::vector<std::unique_ptr<ask_pool>> pools;
  std::vector<http::route> routes;
};

inline ask_pools make_ask_pools(const options& o, const config::key_config& cfg) {
  auto order = chain_order(o.chain);
  for (const auto& d : providers::builtin_descriptors())
    if (std::find(order.begin(), order.end(), d.id) == order.end()) order.push_back(d.id);
  const auto in_chain = preset_of(o.chain) == chain_preset::listed ? chain_order(o.chain) : order;
  ask_pools out;
  for (const auto& id : order) {
    const auto* pc = cfg.find(id);
    const auto& desc = pc ? pc->provider : *providers::find_builtin(id);
    const bool use = std::find(in_chain.begin(), in_chain.end(), id) != in_chain.end();
    out.pools.push_back(std::make_unique<ask_pool>(desc.info(), use && pc ? pc->key_specs() : std::vector<key_spec>{}));
    auto models = models_for(id, o.chain);
    if (models.empty()) models.push_back("default");
    out.routes.push_back({desc, std::move(models)});
  }
  return out;
}

inline void print_ask_json(std::ostream& out, const http::chat_outcome& r, const std::vector<http::attempt>& attempts,
                           const std::string& message, std::span<const pool_snapshot> snaps) {
  boost::json::array atts;
  for (const auto& a : attempts) atts.push_back(attempt_json(a));
  boost::json::object root{{"version", 1}, {"ok", bool(r)}, {"attempts", std::move(atts)}};
  if (r) {
    root["answer"] = r->response.text;
    root["provider"] = r->provider;
    root["model"] = r->model;
    root["variable"] = r->key_variable;
    root["usage"] = boost::json::object{{"input_tokens", r->response.usage.input_tokens},
                                        {"output_tokens", r->response.usage.output_tokens}};
  } else {
    root["error"] = boost::json::object{{"code", std::string(to_string(r.error().code))}, {"message", message}};
  }
  root["statistics"] = json::to_json(snaps);
  out << json_text(root) << "\n";
}

inline void print_ask_text(std::ostream& out, std::ostream& err, const http::chat_outcome& r,
                           const std::vector<http::attempt>& attempts, const std::string& message,
                           std::span<const pool_snapshot> snaps) {
  if (r) {
    out << r->response.text << "\n\n";
    out << "served by " << r->provider << " " << r->model << " with " << r->key_variable << " ("
        << r->response.usage.input_tokens << " tokens in, " << r->response.usage.output_tokens << " out)\n";
  } else {
    err << "keypool ask: " << message << "\n";
  }
  out << "attempts:\n";
  for (std::size_t i = 0; i < attempts.size(); ++i) out << "  " << attempt_line(i + 1, attempts[i]) << "\n";
  out << "\n" << report::text(snaps);
}

}  // namespace detail

inline int ask(const options& o, std::ostream& out, std::ostream& err) {
  if (const auto notice = detail::chain_deprecation(o.chain); !notice.empty()) err << "keypool: " << notice << "\n";
  auto req = detail::ask_request(o, err);
  if (!req) return exit_usage;
  const auto cfg = detail::load_keys(o);
  for (const auto& d : cfg.diagnostics)
    if (detail::is_rejection(d)) err << d.to_string() << "\n";

  auto p = detail::make_ask_pools(o, cfg);
  ask_chain chain(*p.pools[0], *p.pools[1], *p.pools[2], *p.pools[3], *p.pools[4], *p.pools[5], *p.pools[6]);
  http::transport t(detail::transport_options_for(o));
  http::failover_options fo;
  fo.deadline = o.timeout * 2;
  http::client<ask_chain> client(chain, t, p.routes, fo);
  const auto r = client.chat(std::move(*req));

  std::vector<pool_snapshot> snaps;
  for (auto& s : chain.snapshot())
    if (!s.keys.empty()) snaps.push_back(std::move(s));
  const auto& attempts = r ? r->attempts : r.error().attempts;
  std::string message;
  if (!r) message = r.error().unavailable ? detail::unavailable_message(*r.error().unavailable) : r.error().message;

  if (o.json)
    detail::print_ask_json(out, r, attempts, message, snaps);
  else
    detail::print_ask_text(out, err, r, attempts, message, snaps);
  return r ? exit_ok : exit_failed;
}

}  // namespace keypool::cli
