// `keypool probe`: the entry point commands.hpp declares; its parts are in probe.hpp.
#include "probe.hpp"

namespace keypool::cli {

int probe(const options& o, std::ostream& out, std::ostream& err) {
  const auto loaded = detail::load_config(o);
  const auto& cfg = loaded.keys;
  const auto selected = detail::probe_selection(o, cfg);
  std::size_t total = 0;
  for (const auto* p : selected) total += p->keys.size();
  std::ostream& progress = o.json ? err : out;

  if (total == 0) err << "keypool probe: no keys to probe (see `keypool keys`)\n" << detail::no_keys_hint(o, cfg);
  auto st = detail::open_state(o, err);
  const auto results = detail::probe_all(o, loaded.declared, selected, total, progress, st);
  st.flush(std::chrono::seconds(1));
  const std::size_t rejected = detail::rejections(cfg.diagnostics);
  std::size_t failed = 0;
  for (const auto& r : results) failed += r.result.kind != outcome_kind::success;
  const bool ok = total > 0 && failed == 0 && rejected == 0;

  if (o.json)
    detail::print_probe_json(out, results, failed, rejected, cfg, ok);
  else if (!results.empty())
    detail::print_probe_text(out, results, failed, cfg);
  for (const auto& d : cfg.diagnostics)
    if (detail::is_reported(d)) err << d.to_string() << "\n";
  return ok ? exit_ok : exit_failed;
}

}  // namespace keypool::cli
