#pragma once
/// A multipart/form-data body (RFC 7578) split into its parts, as the upload
/// page and `curl -F` send them: the boundary from the Content-Type, each
/// part's name, file name, Content-Type and bytes. The parts are views into
/// the body; nothing is copied. Preamble and epilogue are ignored; a body
/// without its closing delimiter is an error (a truncated upload).

#include <keypool/core/result.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::serve::detail {

struct form_part {
  std::string name;          ///< Content-Disposition's name
  std::string filename;      ///< its filename (empty: a plain field)
  std::string content_type;  ///< the part's Content-Type (empty: none given)
  std::string_view data;     ///< the bytes, a view into the body
};

/// Lowercase ASCII copy.
inline std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

inline std::string_view trim_ascii(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// The value of parameter `name` in a header value such as
/// `multipart/form-data; boundary="x y"` or `form-data; name="image"`
/// (quoted or not; a quoted value may hold `;`). nullopt: absent.
inline std::optional<std::string> header_param(std::string_view value, std::string_view name) {
  std::size_t i = value.find(';');
  while (i != std::string_view::npos && i < value.size()) {
    ++i;
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
    const std::size_t eq = value.find('=', i);
    if (eq == std::string_view::npos) return std::nullopt;
    const bool match = lower_ascii(trim_ascii(value.substr(i, eq - i))) == name;
    std::string v;
    std::size_t j = eq + 1;
    if (j < value.size() && value[j] == '"') {
      for (++j; j < value.size() && value[j] != '"'; ++j) {
        if (value[j] == '\\' && j + 1 < value.size()) ++j;
        v += value[j];
      }
      i = value.find(';', j);
    } else {
      const std::size_t end = value.find(';', j);
      v = std::string(trim_ascii(value.substr(j, end == std::string_view::npos ? std::string_view::npos : end - j)));
      i = end;
    }
    if (match) return v;
  }
  return std::nullopt;
}

/// The part's head (the lines before its empty line) into `p`.
inline bool parse_part_head(std::string_view head, form_part& p) {
  bool disposition = false;
  while (!head.empty()) {
    const auto eol = head.find("\r\n");
    const auto line = head.substr(0, eol);
    head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const auto name = lower_ascii(trim_ascii(line.substr(0, colon)));
    const auto value = trim_ascii(line.substr(colon + 1));
    if (name == "content-disposition") {
      disposition = true;
      p.name = header_param(value, "name").value_or("");
      p.filename = header_param(value, "filename").value_or("");
    } else if (name == "content-type") {
      p.content_type = lower_ascii(trim_ascii(value.substr(0, value.find(';'))));
    }
  }
  return disposition;
}

/// The parts of `body` sent with Content-Type `content_type`, or why not.
inline result<std::vector<form_part>, std::string> parse_multipart(std::string_view content_type,
                                                                   std::string_view body) {
  using fail = ::keypool::unexpected<std::string>;
  const auto boundary = header_param(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 70)
    return fail{"multipart/form-data without a usable boundary parameter in its Content-Type"};
  const std::string delim = "--" + *boundary;
  // The first delimiter may start the body; later ones follow a CRLF.
  const bool first_at_start = body.substr(0, delim.size()) == delim;
  std::size_t pos = first_at_start ? 0 : body.find("\r\n" + delim);
  if (pos == std::string_view::npos) return fail{"the multipart body has no part (boundary not found)"};
  pos += first_at_start ? delim.size() : delim.size() + 2;
  std::vector<form_part> parts;
  const std::string next = "\r\n" + delim;
  for (;;) {
    if (body.substr(pos, 2) == "--") return parts;  // the closing delimiter
    const auto eol = body.find("\r\n", pos);        // transport padding, then CRLF
    if (eol == std::string_view::npos) return fail{"the multipart body ends inside a delimiter line"};
    const auto head_end = body.find("\r\n\r\n", eol);
    if (head_end == std::string_view::npos) return fail{"a multipart part has no end of its headers"};
    form_part p;
    const auto head = head_end > eol ? body.substr(eol + 2, head_end - eol - 2) : std::string_view();
    if (!parse_part_head(head, p)) return fail{"a multipart part has no Content-Disposition header"};
    const std::size_t data_start = head_end + 4;
    const auto end = body.find(next, data_start);
    if (end == std::string_view::npos)
      return fail{"the multipart body ends before its closing boundary (a truncated upload?)"};
    p.data = body.substr(data_start, end - data_start);
    parts.push_back(std::move(p));
    pos = end + next.size();
  }
}

}  // namespace keypool::serve::detail
