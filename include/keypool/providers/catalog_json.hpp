#pragma once
/// The model catalog as JSON (Boost.JSON): load a catalog that replaces or
/// extends another, and dump one. Loading checks everything and reports
/// every problem with its JSON path ("$.models[3].tier: ..."); on any error
/// nothing is applied, so the catalog already in use is never lost.
///
/// Format:
///   {
///     "models": [
///       { "provider": "groq", "name": "Llama 3.2 11B Vision",
///         "api_id": "qwen/qwen3.6-27b",
///         "seed_api_id": "llama-3.2-11b-vision-preview",   // optional
///         "price_per_mtok": 0, "tier": "free",               // free|trial|paid
///         "vision": true, "priority": 9,
///         "note": "..." }                                    // optional
///     ]
///   }
/// Required: provider, name, api_id, tier, priority. Defaults: price 0,
/// vision true. Unknown fields are errors (they are usually typos), and so is
/// a field given twice (Boost.JSON would silently keep the last one).

#include <keypool/providers/catalog.hpp>

#include <boost/json.hpp>
// basic_parser with our own handler needs the parser's definitions.
#include <boost/json/basic_parser_impl.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace keypool::providers {

/// One problem in a catalog document.
struct json_problem {
  std::string path;  ///< "$.models[3].tier"
  std::string message;
  std::string to_string() const { return path + ": " + message; }
};

/// A catalog, or the reasons there is none.
struct catalog_result {
  std::optional<catalog> value;
  std::vector<json_problem> errors;
  explicit operator bool() const noexcept { return value.has_value(); }
  /// All errors, one per line.
  std::string error_text() const {
    std::string out;
    for (const auto& e : errors) out += e.to_string() + "\n";
    return out;
  }
};

enum class merge_mode : std::uint8_t {
  replace,  ///< the document is the whole catalog
  extend,   ///< the document's entries are upserted into the base (same provider + name)
};

namespace detail {

inline std::string line_col(std::string_view text, std::size_t offset) {
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

/// A basic_parser handler over the text of a document: records every object
/// member given twice, by JSON path. The DOM parser keeps only the last duplicate, so a second
/// "tier" (or a second "models" array) would otherwise win unnoticed. It also
/// re-reads every double from its text with std::from_chars: Boost 1.81's
/// parser is not correctly rounded (48e-30 comes out one ulp off), so a
/// catalog dumped and loaded again would not be the same catalog.
class document_scanner {
 public:
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  using error_code = boost::json::error_code;
  using string_view = boost::json::string_view;

  std::vector<json_problem> problems;
  std::vector<double> doubles;  ///< every double, correctly rounded, in document order

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code&) { return open(false); }
  bool on_array_end(std::size_t, error_code&) { return close(); }
  bool on_object_begin(error_code&) { return open(true); }
  bool on_object_end(std::size_t, error_code&) { return close(); }
  bool on_string_part(string_view, std::size_t, error_code&) { return true; }
  bool on_string(string_view, std::size_t, error_code&) { return value_done(); }
  bool on_key_part(string_view s, std::size_t, error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code&) {
    key_.append(s.data(), s.size());
    auto& f = frames_.back();
    if (++f.seen[key_] == 2) problems.push_back({f.path + "." + key_, "given twice"});
    f.key = std::move(key_);
    key_.clear();
    return true;
  }
  bool on_number_part(string_view s, error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t, string_view, error_code&) { return number_done(); }
  bool on_uint64(std::uint64_t, string_view, error_code&) { return number_done(); }
  bool on_double(double d, string_view s, error_code&) {
    number_.append(s.data(), s.size());
    std::from_chars(number_.data(), number_.data() + number_.size(), d);  // out of range: keeps Boost's
    doubles.push_back(d);
    return number_done();
  }
  bool on_bool(bool, error_code&) { return value_done(); }
  bool on_null(error_code&) { return value_done(); }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }

 private:
  struct frame {
    std::string path;  // of this object or array
    bool is_object = false;
    std::size_t index = 0;  // arrays: the next element's index
    std::string key;        // objects: the member being read
    std::unordered_map<std::string, unsigned> seen;
  };

  bool open(bool is_object) {
    std::string path = "$";
    if (!frames_.empty()) {
      const auto& f = frames_.back();
      path = f.is_object ? f.path + "." + f.key : f.path + "[" + std::to_string(f.index) + "]";
    }
    frames_.push_back({std::move(path), is_object, 0, {}, {}});
    return true;
  }
  bool close() {
    frames_.pop_back();
    return value_done();
  }
  bool value_done() {
    if (!frames_.empty() && !frames_.back().is_object) ++frames_.back().index;
    return true;
  }
  bool number_done() {
    number_.clear();
    return value_done();
  }

  std::vector<frame> frames_;
  std::string key_;
  std::string number_;  // a number split over parts
};

/// Scans `text` (one complete JSON document).
inline document_scanner scan_document(std::string_view text) {
  boost::json::basic_parser<document_scanner> p{boost::json::parse_options{}};
  boost::json::error_code ec;
  p.write_some(false, text.data(), text.size(), ec);
  return std::move(p.handler());
}

/// Members given twice in `text` (one complete JSON document).
inline std::vector<json_problem> duplicate_keys(std::string_view text) { return scan_document(text).problems; }

/// Gives the doubles of `v` the values `exact` lists in document order
/// (document_scanner::doubles of the text `v` was parsed from, which had
/// no duplicate member: then `v` holds every value in document order).
inline void use_exact_doubles(boost::json::value& v, const std::vector<double>& exact, std::size_t& next) {
  if (v.is_double()) {
    if (next < exact.size()) v = exact[next++];
  } else if (v.is_array()) {
    for (auto& e : v.get_array()) use_exact_doubles(e, exact, next);
  } else if (v.is_object()) {
    for (auto& kv : v.get_object()) use_exact_doubles(kv.value(), exact, next);
  }
}

inline void read_entry(const boost::json::value& v, const std::string& path, std::vector<model_entry>& out,
                       std::vector<json_problem>& errors) {
  if (!v.is_object()) {
    errors.push_back({path, "expected an object"});
    return;
  }
  const auto& o = v.get_object();
  model_entry m;
  bool ok = true;
  auto fail = [&](std::string_view field, std::string msg) {
    errors.push_back({path + "." + std::string(field), std::move(msg)});
    ok = false;
  };
  for (const auto& kv : o) {
    static constexpr std::string_view known[] = {"provider", "name",   "api_id",   "seed_api_id", "price_per_mtok",
                                                 "tier",     "vision", "priority", "note"};
    if (std::find(std::begin(known), std::end(known), kv.key()) == std::end(known)) fail(kv.key(), "unknown field");
  }
  auto req_string = [&](std::string_view field, std::string& dst, bool required) {
    const auto* f = o.if_contains(field);
    if (f == nullptr) {
      if (required) fail(field, "missing (a string is required)");
      return;
    }
    if (!f->is_string()) return fail(field, "expected a string");
    dst = std::string(f->get_string());
    if (required && dst.empty()) fail(field, "must not be empty");
  };
  req_string("provider", m.provider, true);
  req_string("name", m.name, true);
  req_string("api_id", m.api_id, true);
  req_string("seed_api_id", m.seed_api_id, false);
  req_string("note", m.note, false);
  for (char c : m.provider)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
      fail("provider", "must be a lower-case id like \"groq\"");
      break;
    }
  if (const auto* f = o.if_contains("price_per_mtok")) {
    if (!f->is_number()) {
      fail("price_per_mtok", "expected a number");
    } else {
      const double p = f->to_number<double>();
      if (!std::isfinite(p) || p < 0)
        fail("price_per_mtok", "must be a non-negative number");
      else
        m.price_per_mtok = p;
    }
  }
  if (const auto* f = o.if_contains("tier")) {
    const auto t = f->is_string() ? tier_from_string(f->get_string()) : std::nullopt;
    if (!t)
      fail("tier", "expected one of \"free\", \"trial\", \"paid\"");
    else
      m.tier = *t;
  } else {
    fail("tier", "missing (one of \"free\", \"trial\", \"paid\")");
  }
  if (const auto* f = o.if_contains("vision")) {
    if (!f->is_bool())
      fail("vision", "expected true or false");
    else
      m.vision = f->get_bool();
  }
  if (const auto* f = o.if_contains("priority")) {
    if (f->is_int64() && f->get_int64() >= -1000000 && f->get_int64() <= 1000000)
      m.priority = static_cast<int>(f->get_int64());
    else if (f->is_uint64() && f->get_uint64() <= 1000000)
      m.priority = static_cast<int>(f->get_uint64());
    else
      fail("priority", "expected a whole number (-1000000..1000000)");
  } else {
    fail("priority", "missing (a whole number; lower is tried first)");
  }
  if (ok) out.push_back(std::move(m));
}

}  // namespace detail

/// Reads catalog entries from a parsed document.
inline catalog_result catalog_from_json(const boost::json::value& doc, const catalog& base = {},
                                        merge_mode mode = merge_mode::replace) {
  catalog_result r;
  if (!doc.is_object()) {
    r.errors.push_back({"$", "expected an object with a \"models\" array"});
    return r;
  }
  const auto& o = doc.get_object();
  for (const auto& kv : o)
    if (kv.key() != "models") r.errors.push_back({"$." + std::string(kv.key()), "unknown field"});
  const auto* models = o.if_contains("models");
  if (models == nullptr || !models->is_array()) {
    r.errors.push_back({"$.models", models ? "expected an array" : "missing"});
    return r;
  }
  std::vector<model_entry> entries;
  const auto& arr = models->get_array();
  for (std::size_t i = 0; i < arr.size(); ++i)
    detail::read_entry(arr[i], "$.models[" + std::to_string(i) + "]", entries, r.errors);
  for (std::size_t i = 0; i < entries.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (entries[i].provider == entries[j].provider && entries[i].name == entries[j].name)
        r.errors.push_back({"$.models", "\"" + entries[i].provider + "/" + entries[i].name + "\" is listed twice"});
  if (!r.errors.empty()) return r;
  if (mode == merge_mode::replace) {
    r.value = catalog(std::move(entries));
  } else {
    catalog c = base;
    for (auto& m : entries) c.upsert(std::move(m));
    r.value = std::move(c);
  }
  return r;
}

/// Parses catalog JSON text; a syntax error names line and column.
inline catalog_result parse_catalog(std::string_view text, const catalog& base = {},
                                    merge_mode mode = merge_mode::replace) {
  boost::json::stream_parser p;
  boost::system::error_code ec;
  const std::size_t used = p.write_some(text.data(), text.size(), ec);
  if (!ec) p.finish(ec);
  if (ec) {
    catalog_result r;
    r.errors.push_back({"$", "invalid JSON at " + detail::line_col(text, used) + ": " + ec.message()});
    return r;
  }
  // The parsed value has lost any duplicate member: find them in the text.
  auto scan = detail::scan_document(text.substr(0, used));
  auto& duplicates = scan.problems;
  boost::json::value doc = p.release();
  std::size_t next = 0;
  if (duplicates.empty()) detail::use_exact_doubles(doc, scan.doubles, next);
  auto r = catalog_from_json(doc, base, mode);
  if (!duplicates.empty()) {
    r.value.reset();
    r.errors.insert(r.errors.begin(), std::make_move_iterator(duplicates.begin()),
                    std::make_move_iterator(duplicates.end()));
  }
  return r;
}

/// Reads a catalog file. A missing file is an error in the result.
inline catalog_result load_catalog_file(const std::filesystem::path& path, const catalog& base = {},
                                        merge_mode mode = merge_mode::replace) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    catalog_result r;
    r.errors.push_back({path.string(), "cannot open the file"});
    return r;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  auto r = parse_catalog(buf.str(), base, mode);
  for (auto& e : r.errors) e.path = path.string() + ": " + e.path;
  return r;
}

/// One entry as JSON.
inline boost::json::object to_json(const model_entry& m) {
  boost::json::object o;
  o["provider"] = m.provider;
  o["name"] = m.name;
  o["api_id"] = m.api_id;
  if (!m.seed_api_id.empty()) o["seed_api_id"] = m.seed_api_id;
  o["price_per_mtok"] = m.price_per_mtok;
  o["tier"] = std::string(to_string(m.tier));
  o["vision"] = m.vision;
  o["priority"] = m.priority;
  if (!m.note.empty()) o["note"] = m.note;
  return o;
}

/// The catalog in the format parse_catalog reads.
inline boost::json::value to_json(const catalog& c) {
  boost::json::array models;
  for (const auto& m : c.entries()) models.push_back(to_json(m));
  return boost::json::object{{"models", std::move(models)}};
}

/// Compact JSON text of a catalog.
inline std::string dump_catalog(const catalog& c) { return boost::json::serialize(to_json(c)); }

}  // namespace keypool::providers
