// `keypool serve`: the entry point commands.hpp declares; its parts are in serve.hpp.
#include "serve.hpp"

namespace keypool::cli {

int serve(const options& command_line, std::ostream& out, std::ostream& err) {
  std::optional<detail::file_config> file;
  if (command_line.config_file) file = detail::read_file_config(*command_line.config_file);
  const options o = file ? detail::with_file_config(command_line, *file) : command_line;
  const auto loaded = detail::load_config(o);
  for (const auto& d : loaded.keys.diagnostics)
    if (detail::is_reported(d)) err << d.to_string() << "\n";
  err << detail::no_keys_hint(o, loaded.keys);
  auto st = detail::open_state(o, err);
  auto p = detail::make_ask_pools(o, loaded, st);
  std::vector<detail::cli_state::link> links;  // declared after the pools: detached first
  for (auto& pool : p.pools) links.push_back(st.attach(*pool));
  auto chain = detail::make_ask_chain(p, std::make_index_sequence<ask_chain_size>{});
  sigset_t set;
  sigemptyset(&set);
  for (const int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
  const detail::signal_mask_guard mask(set);  // before the I/O thread starts
  boost::asio::io_context ioc(1);
  http::transport t(ioc.get_executor(), detail::transport_options_for(o));
  auto gateway_options = detail::gateway_options_for(o, p);
  if (file) detail::apply_file_settings(gateway_options, *file, o, p.routes);
  serve::gateway<ask_chain> g(chain, t, p.routes, std::move(gateway_options));
  auto last_table = std::chrono::steady_clock::now() - o.stats_every;
  g.on_request([&](const serve::request_record& r) {
    err << detail::access_log_line(r) << "\n" << std::flush;
    const auto now = std::chrono::steady_clock::now();
    if (o.stats_every.count() == 0 || now - last_table < o.stats_every) return;
    last_table = now;
    out << report::text(detail::keyed_snapshots(chain)) << std::flush;
  });
  const auto port = g.listen();  // throws std::invalid_argument (no gateway key off loopback)
  const bool v6 = o.listen_address.find(':') != std::string::npos;
  out << "keypool serve listening on " << (g.tls() ? "https" : "http") << "://" << (v6 ? "[" : "") << o.listen_address
      << (v6 ? "]" : "") << ":" << port << " (" << loaded.keys.key_count() << " keys, "
      << g.options().gateway_keys.size() << " gateway keys)\n"
      << "upload page: " << (g.tls() ? "https" : "http") << "://" << (v6 ? "[" : "") << o.listen_address
      << (v6 ? "]" : "") << ":" << port << "/\n"
      << std::flush;
  // Keeps ioc.run() going after stop() closed the last socket, until the
  // drain has run: without it an idle gateway could run out of work first,
  // and the drain would wait on an io_context nobody runs.
  auto work = boost::asio::make_work_guard(ioc);
  std::thread io([&] { ioc.run(); });
  detail::serve_until_stopped(o, set, p, err);
  g.stop();
  const bool drained = g.async_drain(o.drain_timeout, boost::asio::use_future).get();
  work.reset();
  if (!drained) err << "keypool serve: requests still in flight after --drain-timeout; stopping\n";
  ioc.stop();
  io.join();
  st.flush(std::chrono::seconds(1));
  out << "\nstopped; " << g.answered() << " requests answered\n"
      << report::text(detail::keyed_snapshots(chain)) << std::flush;
  return exit_ok;
}

}  // namespace keypool::cli
