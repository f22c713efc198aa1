#pragma once
/// Which endpoint answers a request, and the small endpoints themselves:
/// /healthz, /readyz, /v1/models, /stats, /metrics. The chat endpoints
/// (/v1/chat/completions, /v1/messages) hand over to passthrough.hpp,
/// POST /v1/describe to describe.hpp; GET / is the upload page (page.hpp).
/// Every endpoint but /, /healthz and /readyz needs a gateway key (when any
/// is configured).

#include <keypool/json/stats_json.hpp>
#include <keypool/report/prometheus.hpp>
#include <keypool/report/text.hpp>
#include <keypool/serve/detail/answer.hpp>
#include <keypool/serve/detail/auth.hpp>
#include <keypool/serve/detail/conn_stream.hpp>
#include <keypool/serve/detail/core.hpp>
#include <keypool/serve/detail/describe.hpp>
#include <keypool/serve/detail/json_scan.hpp>
#include <keypool/serve/detail/page.hpp>
#include <keypool/serve/detail/passthrough.hpp>
#include <keypool/serve/detail/relay.hpp>
#include <keypool/serve/detail/route_plan.hpp>
#include <keypool/serve/detail/usage_scan.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>

namespace keypool::serve::detail {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;

inline std::optional<std::string_view> field(const http_request& req, std::string_view name) {
  const auto it = req.find(boost::beast::string_view(name.data(), name.size()));
  if (it == req.end()) return std::nullopt;
  return std::string_view(it->value().data(), it->value().size());
}

/// The target without its query.
inline std::string_view path_of(const http_request& req) {
  const std::string_view t(req.target().data(), req.target().size());
  return t.substr(0, t.find('?'));
}

/// True while at least one key of the chain can be picked now.
template <class Chain>
bool chain_ready(const Chain& chain) {
  for (const auto& p : chain.snapshot())
    for (const auto& k : p.keys)
      if (k.available() || (k.status == key_status::locked && k.available_in && k.available_in->count() <= 0))
        return true;
  return false;
}

/// GET /v1/models: the routes' and the catalog's models of providers that
/// have keys, as provider/model, in OpenAI's list format.
template <class Chain>
answer models_answer(core<Chain>& c) {
  boost::json::array data;
  std::set<std::string> seen;
  const auto add = [&](const std::string& provider, const std::string& model) {
    auto id = provider + "/" + model;
    if (!seen.insert(id).second) return;
    data.push_back(boost::json::object{{"id", id}, {"object", "model"}, {"created", 0}, {"owned_by", provider}});
  };
  const auto pools = c.chain.snapshot();
  for (std::size_t i = 0; i < c.routes.size(); ++i) {
    if (pools[i].keys.empty()) continue;
    const auto& id = c.routes[i].provider.id;
    for (const auto& m : c.routes[i].models) add(id, m);
    for (const auto& e : c.opts.catalog.entries())
      if (e.provider == id) add(id, e.api_id);
  }
  for (const auto& [name, targets] : c.opts.named_routes)
    data.push_back(boost::json::object{{"id", name}, {"object", "model"}, {"created", 0}, {"owned_by", "keypool"}});
  return text_answer(200, boost::json::serialize(boost::json::object{{"object", "list"}, {"data", data}}),
                     "application/json");
}

/// GET /stats: the 📊 table, or JSON when the caller accepts it.
template <class Chain>
answer stats_answer(core<Chain>& c, const http_request& req) {
  const auto pools = c.chain.snapshot();
  const auto accept = field(req, "accept");
  if (accept && accept->find("application/json") != std::string_view::npos)
    return text_answer(200, boost::json::serialize(json::to_json(std::span<const pool_snapshot>(pools))),
                       "application/json");
  return text_answer(200, report::text(pools));
}

/// The token counts of an answer's body (its `usage`), for the hook.
inline void count_tokens(answer& a, std::string_view body) {
  usage_scan u;
  u.feed(body);
  a.input_tokens = u.input();
  a.output_tokens = u.output();
}

/// The caller's chat request, through the chain.
template <class Chain>
boost::asio::awaitable<answer> chat(core<Chain>& c, const http_request& req, conn_stream& s, api_format in) {
  const std::string_view body = req.body();
  const body_facts facts = scan_body(body);
  if (!facts.error.empty()) co_return error_answer(in, 400, "the request body is not valid JSON: " + facts.error);
  std::optional<std::string_view> model;
  if (facts.model) model = plain_string(facts.model->value);
  if (facts.model && !model) co_return error_answer(in, 400, "'model' must be a string");
  auto plan =
      plan_route<Chain::size>(model.value_or(""), c.routes, c.opts.chain_names, c.opts.catalog, c.opts.named_routes);
  if (!plan.error.empty()) co_return error_answer(in, model ? 404 : 400, std::move(plan.error), "model_not_found");
  if (!facts.stream) {
    passthrough<Chain> px(c, std::move(plan), in, body, facts, nullptr);
    answer a = co_await px.run();
    if (a.status / 100 == 2) count_tokens(a, a.body);
    co_return a;
  }
  relay r(s, c.opts.max_stream_backlog, c.opts.write_timeout);
  passthrough<Chain> px(c, std::move(plan), in, body, facts, &r);
  answer a = co_await px.run();
  if (r.started()) {
    const bool written = co_await r.flush();
    a.streamed = true;
    a.close = a.close || !written || !r.finished();
    a.input_tokens = r.usage().input();
    a.output_tokens = r.usage().output();
  }
  co_return a;
}

/// The endpoint's answer to one request (its body already read).
template <class Chain>
boost::asio::awaitable<answer> route_request(core<Chain>& c, const http_request& req, conn_stream& s) {
  namespace bhttp = boost::beast::http;
  const auto path = path_of(req);
  const bool get = req.method() == bhttp::verb::get || req.method() == bhttp::verb::head;
  const bool post = req.method() == bhttp::verb::post;
  if (path == "/healthz") co_return text_answer(200, "ok\n");
  if (path == "/readyz") {
    if (chain_ready(c.chain)) co_return text_answer(200, "ready\n");
    co_return text_answer(503, "not ready: no key of the chain is available\n");
  }
  if (get && path == "/") co_return text_answer(200, std::string(upload_page), "text/html; charset=utf-8");
  const auto in = path == "/v1/messages" ? api_format::anthropic : api_format::openai;
  if (!key_accepted(c.opts.gateway_keys, presented_key(field(req, "authorization"), field(req, "x-api-key"))))
    co_return error_answer(in, 401, "a valid gateway key is required (Authorization: Bearer <key> or x-api-key: <key>)",
                           "invalid_api_key");
  if (post && path == "/v1/chat/completions") co_return co_await chat(c, req, s, api_format::openai);
  if (post && path == "/v1/messages") co_return co_await chat(c, req, s, api_format::anthropic);
  if (post && path == "/v1/describe") co_return co_await describe(c, req);
  if (get && path == "/v1/models") co_return models_answer(c);
  if (get && path == "/stats") co_return stats_answer(c, req);
  if (get && path == "/metrics")
    co_return text_answer(200, report::prometheus(c.chain.snapshot()), "text/plain; version=0.0.4; charset=utf-8");
  const bool known = path == "/v1/chat/completions" || path == "/v1/messages" || path == "/v1/models" ||
                     path == "/stats" || path == "/metrics" || path == "/v1/describe" || path == "/";
  if (known) co_return error_answer(in, 405, "method not allowed for " + std::string(path));
  co_return error_answer(in, 404, "no endpoint " + std::string(path), "not_found");
}

}  // namespace keypool::serve::detail
