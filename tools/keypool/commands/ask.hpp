#pragma once
/// `keypool ask`: a prompt (and images) through a chain of the built-in
/// and declared providers with the failover client; the answer, every attempt and the
/// statistics table.
///
/// The attempt budget covers every key and model of the chain (the
/// client's own default of 8 would give up with keys untried); with --wait
/// only the deadline ends the chat.

#include "../chain_order.hpp"
#include "../commands.hpp"
#include "../detail/chat_files.hpp"
#include "../detail/format.hpp"
#include "../detail/give_up.hpp"
#include "../detail/images.hpp"
#include "../detail/load.hpp"
#include "../detail/state.hpp"
#include "../options.hpp"

#include <keypool/chain/chain.hpp>
#include <keypool/config/env_keys.hpp>
#include <keypool/core/error.hpp>
#include <keypool/core/pool.hpp>
#include <keypool/http/client.hpp>
#include <keypool/http/transport.hpp>
#include <keypool/json/stats_json.hpp>
#include <keypool/providers/builtin.hpp>
#include <keypool/report/text.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <limits>
#include <memory>
#include <mutex>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keypool::cli {

using ask_pool = detail::cli_pool;

/// Positions of the chain `ask` builds: the seven built-in providers and up
/// to nine declared in the .env; the positions left over hold empty pools.
inline constexpr std::size_t ask_chain_size = 16;

namespace detail {
template <std::size_t>
using ask_pool_at = ask_pool;
template <class Indices>
struct uniform_chain;
template <std::size_t... I>
struct uniform_chain<std::index_sequence<I...>> {
  using type = chain<ask_pool_at<I>...>;
};
}  // namespace detail

using ask_chain = detail::uniform_chain<std::make_index_sequence<ask_chain_size>>::type;

namespace detail {

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

/// The prompt (the arguments, joined by spaces), the images, the system
/// instruction, the tools and the answer's schema. Throws usage_error for a
/// missing prompt, an image type no provider takes or --stream with --json,
/// file_error for a file that cannot be read or used.
inline wire::chat_request ask_request(const options& o) {
  if (o.positional.empty()) throw usage_error("ask needs a PROMPT");
  if (o.stream && o.json)
    throw usage_error("--stream prints the text as it arrives, --json one document at the end: use one of them");
  std::string prompt;
  for (const auto& p : o.positional) prompt += (prompt.empty() ? "" : " ") + p;
  wire::chat_request req;
  req.prompt = prompt;
  req.images = read_images(o.images);
  if (o.system) req.system = *o.system;
  if (o.tools_file) req.tools = read_tools(*o.tools_file);
  if (o.json_schema_file) req.response_format = read_json_schema(*o.json_schema_file);
  return req;
}

/// One pool and route per position of ask_chain: the chain's providers
/// first, in its order, then the other built-in and declared ones, then
/// placeholders; a position the chain leaves out gets an empty pool, so the
/// chain skips it.
struct ask_pools {
  std::vector<std::unique_ptr<ask_pool>> pools;
  std::vector<http::route> routes;
  std::vector<std::size_t> keys;  ///< per position: the keys its pool got (0 outside the chain)
  std::vector<bool> in_chain;     ///< per position: a provider of the chain (serve reloads these)
};

/// A provider's models: --model (in the order given), else a declared
/// provider's P_MODELS or the catalog's in the chain's order, else "default".
inline std::vector<std::string> ask_models(const options& o, const std::string& id,
                                           const config::declared_providers& declared) {
  if (auto it = o.models.find(id); it != o.models.end()) return it->second;
  auto models = models_for(id, o.chain, declared);
  if (models.empty()) models.push_back("default");
  return models;
}

/// Throws usage_error for a --model of a provider the chain leaves out: it
/// would never be used.
inline void check_models_in_chain(const options& o, const std::vector<std::string>& in_chain) {
  for (const auto& [id, models] : o.models)
    if (std::find(in_chain.begin(), in_chain.end(), id) == in_chain.end())
      throw usage_error("--model " + id + "=" + models.front().substr(0, 60) + ": " + id +
                        " is not in the chain (--chain " + o.chain.substr(0, 60) + ")");
}

/// An empty position past the providers: a route the client accepts, never used.
inline void add_placeholder(ask_pools& out) {
  providers::provider_descriptor d;
  d.id = "unused-" + std::to_string(out.pools.size());
  d.display_name = "UNUSED";
  d.base_url = "http://127.0.0.1";
  out.keys.push_back(0);
  out.in_chain.push_back(false);
  out.pools.push_back(std::make_unique<ask_pool>(d.info(), std::vector<key_spec>{}));
  out.routes.push_back({d, {"default"}});
}

/// `st`: the store the pools publish their lockouts and disables to (attach
/// them to it to load the stored ones); memory only by default.
inline ask_pools make_ask_pools(const options& o, const loaded_config& c, const cli_state& st = {}) {
  auto order = chain_order(o.chain, c);
  for (const auto& p : c.keys.providers)
    if (std::find(order.begin(), order.end(), p.provider.id) == order.end()) order.push_back(p.provider.id);
  const auto in_chain = preset_of(o.chain) == chain_preset::listed ? chain_order(o.chain, c) : order;
  if (order.size() > ask_chain_size)
    throw usage_error("the .env declares " + std::to_string(c.declared.providers.size()) + " providers; ask takes " +
                      std::to_string(ask_chain_size - providers::builtin_descriptors().size()) + " at most");
  check_models_in_chain(o, in_chain);
  ask_pools out;
  for (const auto& id : order) {
    const auto& pc = *c.keys.find(id);
    const bool use = std::find(in_chain.begin(), in_chain.end(), id) != in_chain.end();
    auto specs = use ? pc.key_specs() : std::vector<key_spec>{};
    out.keys.push_back(specs.size());
    out.in_chain.push_back(use);
    out.pools.push_back(
        std::make_unique<ask_pool>(pc.provider.info(), std::move(specs), ask_pool::options{.state = st}));
    out.routes.push_back({pc.provider, ask_models(o, id, c.declared)});
  }
  while (out.pools.size() < ask_chain_size) add_placeholder(out);
  return out;
}

/// make_ask_pools for a configuration that declares no provider.
inline ask_pools make_ask_pools(const options& o, const config::key_config& cfg, const cli_state& st = {}) {
  return make_ask_pools(o, loaded_config{cfg, {}}, st);
}

/// The chain over the pools' positions.
template <std::size_t... I>
ask_chain make_ask_chain(ask_pools& p, std::index_sequence<I...>) {
  return ask_chain(*p.pools[I]...);
}

/// Throws usage_error when a provider of the chain that has keys cannot take
/// the images (images.hpp): it would answer bad_request, which ends the chat.
inline void check_image_limits(const options& o, const wire::chat_request& req, const ask_pools& p) {
  for (std::size_t i = 0; i < p.routes.size(); ++i) {
    if (p.keys[i] == 0) continue;
    const auto& id = p.routes[i].provider.id;
    if (const auto why = image_limit_problem(id, req.images, o.images); !why.empty())
      throw usage_error("--image: " + why + "; leave " + id + " out with --chain");
  }
}

/// Every key and model of the chain once: each key may try each model of
/// its provider (a model that is gone moves to the next with the same key),
/// plus one, so that when every key has failed the chat ends on the chain's
/// own error (which keys are out, why, when the first frees) rather than on
/// the budget. --max-attempts wins; with --wait and no --max-attempts, no
/// limit (the deadline ends the chat, and keys are tried again after waiting).
inline unsigned attempt_budget(const options& o, const ask_pools& p) {
  if (o.max_attempts) return *o.max_attempts;
  if (o.wait) return std::numeric_limits<unsigned>::max();
  std::size_t n = 1;
  for (std::size_t i = 0; i < p.routes.size(); ++i) n += p.keys[i] * p.routes[i].models.size();
  return static_cast<unsigned>(std::clamp<std::size_t>(n, 1, std::numeric_limits<unsigned>::max()));
}

/// The whole chat's deadline: --deadline, else twice --timeout.
inline std::chrono::milliseconds ask_deadline(const options& o) { return o.deadline.value_or(o.timeout * 2); }

inline http::failover_options failover_for(const options& o, const ask_pools& p) {
  http::failover_options fo;
  fo.max_attempts = attempt_budget(o, p);
  fo.deadline = ask_deadline(o);
  fo.wait_for_key = o.wait;
  return fo;
}

/// The client's memory of unavailable models across runs: the store's
/// entries seed the client; what the client learns is collected (on the
/// transport's thread) and stored at the end of the command, off the
/// request path. With --state none (or Redis) nothing is loaded or stored.
class model_memory {
 public:
  template <class Client>
  void seed(Client& c, cli_state& st) {
    for (auto& m : st.load_unavailable_models())
      c.remember_unavailable({std::move(m.provider), std::move(m.account), std::move(m.model), m.until});
  }
  /// For failover_options::on_model_unavailable; the memory must outlive the client.
  http::unavailable_model_hook hook() {
    return [this](const http::unavailable_model& m) {
      std::lock_guard g(mu_);
      learned_.push_back({m.provider, m.account, m.model, m.until});
    };
  }
  void store(cli_state& st) {
    std::lock_guard g(mu_);
    st.add_unavailable_models(learned_);
    learned_.clear();
  }

 private:
  std::mutex mu_;
  std::vector<state::stored_unavailable_model> learned_;
};

/// A tool call for --json: the arguments as a JSON value when they parse
/// (they should), else as the string the model wrote.
inline boost::json::object tool_call_json(const wire::tool_call& c) {
  boost::system::error_code ec;
  auto args = boost::json::parse(c.arguments, ec);
  if (ec) args = boost::json::string(c.arguments);
  return boost::json::object{{"id", c.id}, {"name", c.name}, {"arguments", std::move(args)}};
}

inline boost::json::object answer_json(const http::chat_result& s) {
  const auto& resp = s.response;
  boost::json::array calls;
  for (const auto& c : resp.tool_calls) calls.push_back(tool_call_json(c));
  return boost::json::object{{"answer", resp.text},
                             {"tool_calls", std::move(calls)},
                             {"finish", std::string(wire::to_string(resp.finish))},
                             {"finish_reason", resp.finish_reason},
                             {"provider", s.provider},
                             {"model", s.model},
                             {"variable", s.key_variable},
                             {"usage", boost::json::object{{"input_tokens", resp.usage.input_tokens},
                                                           {"output_tokens", resp.usage.output_tokens},
                                                           {"cached_input_tokens", resp.usage.cached_input_tokens},
                                                           {"reasoning_tokens", resp.usage.reasoning_tokens}}}};
}

inline void print_ask_json(std::ostream& out, const http::chat_outcome& r, const std::vector<http::attempt>& attempts,
                           const std::string& message, std::span<const pool_snapshot> snaps) {
  boost::json::array atts;
  for (const auto& a : attempts) atts.push_back(attempt_json(a));
  boost::json::object root{{"version", 1}, {"ok", bool(r)}, {"attempts", std::move(atts)}};
  if (r) {
    auto answer = answer_json(*r);
    for (auto& kv : answer) root[kv.key()] = std::move(kv.value());
  } else {
    root["error"] = boost::json::object{{"code", std::string(to_string(r.error().code))}, {"message", message}};
  }
  root["statistics"] = json::to_json(snaps);
  out << json_text(root) << "\n";
}

/// `streamed`: the text was printed as it arrived, so only the tool calls
/// and the rest follow.
inline void print_ask_text(std::ostream& out, std::ostream& err, const http::chat_outcome& r,
                           const std::vector<http::attempt>& attempts, const std::string& message,
                           std::span<const pool_snapshot> snaps, bool streamed = false) {
  if (r) {
    if (!streamed) out << r->response.text;
    if (!r->response.text.empty()) out << "\n";
    for (const auto& c : r->response.tool_calls) out << "tool call " << c.name << "(" << c.arguments << ")\n";
    out << "\n";
    out << "served by " << r->provider << " " << r->model << " with " << r->key_variable << " ("
        << r->response.usage.input_tokens << " tokens in, " << r->response.usage.output_tokens << " out)\n";
  } else {
    if (streamed) out << "\n";  // the text so far, cut by the failure
    err << "keypool ask: " << message << "\n";
  }
  out << "attempts:\n";
  for (std::size_t i = 0; i < attempts.size(); ++i) out << "  " << attempt_line(i + 1, attempts[i]) << "\n";
  out << "\n" << report::text(snaps);
}

}  // namespace detail

}  // namespace keypool::cli
