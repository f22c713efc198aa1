/// libFuzzer target: the model catalog JSON loader.
///
/// Invariants: no exception; a result is either a catalog or a non-empty
/// list of errors, never both; a loaded catalog dumps to JSON that loads
/// again into the same catalog (dump → parse → dump is a fixed point);
/// extending the built-in catalog never loses a built-in entry that the
/// document did not name.

#include "fuzz_check.hpp"

#include <keypool/providers/catalog_json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace p = keypool::providers;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  static const p::catalog base = p::catalog::builtin();

  for (auto mode : {p::merge_mode::replace, p::merge_mode::extend}) {
    const p::catalog_result r = p::parse_catalog(text, base, mode);
    KEYPOOL_FUZZ_CHECK(r.value.has_value() != !r.errors.empty(), "catalog and errors both (or neither)");
    if (!r) {
      KEYPOOL_FUZZ_CHECK(!r.error_text().empty(), "empty error text");
      continue;
    }
    const std::string dumped = p::dump_catalog(*r.value);
    const p::catalog_result again = p::parse_catalog(dumped);
    KEYPOOL_FUZZ_CHECK(again.value.has_value(), "a dumped catalog does not load again");
    KEYPOOL_FUZZ_CHECK(p::dump_catalog(*again.value) == dumped, "dump/parse is not a fixed point");
    if (mode == p::merge_mode::extend)
      KEYPOOL_FUZZ_CHECK(r.value->entries().size() >= base.entries().size(), "extend lost built-in entries");
  }
  return 0;
}
