// `keypool keys`: the entry point commands.hpp declares; its parts are in keys.hpp.
#include "keys.hpp"

namespace keypool::cli {

int keys(const options& o, std::ostream& out, std::ostream& err) {
  const auto cfg = detail::load_keys(o);
  const std::size_t rejected = detail::rejections(cfg.diagnostics);
  err << detail::no_keys_hint(o, cfg);
  auto st = detail::open_state(o, err);
  const auto stored = detail::read_stored_states(cfg, st);
  const auto spent = detail::read_stored_spend(st);
  if (o.json) {
    detail::print_keys_json(out, cfg, rejected, st, stored, spent);
    return rejected ? exit_failed : exit_ok;
  }
  detail::print_keys_text(out, err, cfg, st, stored, spent);
  if (rejected)
    err << "keypool: " << rejected << " key" << (rejected == 1 ? "" : "s") << " or line" << (rejected == 1 ? "" : "s")
        << " rejected\n";
  return rejected ? exit_failed : exit_ok;
}

}  // namespace keypool::cli
