// `keypool ask`: the entry point commands.hpp declares; its parts are in ask.hpp.
#include "ask.hpp"

namespace keypool::cli {

int ask(const options& o, std::ostream& out, std::ostream& err) {
  if (const auto notice = detail::chain_deprecation(o.chain); !notice.empty()) err << "keypool: " << notice << "\n";
  auto req = detail::ask_request(o);
  const auto transport_options = detail::transport_options_for(o);
  const auto loaded = detail::load_config(o);
  const auto& cfg = loaded.keys;
  for (const auto& d : cfg.diagnostics)
    if (detail::is_reported(d)) err << d.to_string() << "\n";
  err << detail::no_keys_hint(o, cfg);

  auto st = detail::open_state(o, err);
  auto p = detail::make_ask_pools(o, loaded, st);
  detail::check_image_limits(o, req, p);
  std::vector<detail::cli_state::link> links;  // declared after the pools: detached first
  for (auto& pool : p.pools) links.push_back(st.attach(*pool));
  auto chain = detail::make_ask_chain(p, std::make_index_sequence<ask_chain_size>{});
  http::transport t(transport_options);
  auto fo = detail::failover_for(o, p);
  detail::model_memory gone;  // before the client, which calls its hook
  fo.on_model_unavailable = gone.hook();
  http::client<ask_chain> client(chain, t, p.routes, fo);
  gone.seed(client, st);
  bool streamed = false;
  const auto print_delta = [&](std::string_view text) {
    streamed = streamed || !text.empty();
    out << text << std::flush;
  };
  const auto r =
      o.stream ? client.chat_stream(std::move(req), http::stream_sinks{print_delta, {}}) : client.chat(std::move(req));

  std::vector<pool_snapshot> snaps;
  for (auto& s : chain.snapshot())
    if (!s.keys.empty()) snaps.push_back(std::move(s));
  const auto& attempts = r ? r->attempts : r.error().attempts;
  const std::string message = r ? std::string() : detail::give_up_message(r.error(), snaps, o, fo.deadline);

  if (o.json)
    detail::print_ask_json(out, r, attempts, message, snaps);
  else
    detail::print_ask_text(out, err, r, attempts, message, snaps, streamed);
  st.add_spend(client.spend().snapshot());
  gone.store(st);
  st.flush(std::chrono::seconds(1));
  return r ? exit_ok : exit_failed;
}

}  // namespace keypool::cli
