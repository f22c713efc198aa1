#pragma once
/// The bytes of an HTTP/1.1 request before its body: request line, Host,
/// the caller's fields, User-Agent, Content-Length. Written by hand rather
/// than through Beast's serializer, whose buffer-sequence views cost about
/// 15 k instructions per request, half of a raw Beast client's whole I/O
/// thread (docs/benchmarks.md, "The request head written by hand").

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace keypool::http::detail {

/// True if `v` holds CR, LF or NUL (header injection). Runs over every
/// header of every request, so eight bytes at a time: a word with no byte
/// below 0x0e holds none of them (find_first_of called memchr per byte).
inline bool has_cr_lf_nul(std::string_view v) noexcept {
  const char* p = v.data();
  const std::size_t n = v.size();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t x;
    std::memcpy(&x, p + i, 8);
    constexpr std::uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    if ((x - ones * 0x0e) & ~x & highs) break;  // some byte < 0x0e: look closely
  }
  for (; i < n; ++i)
    if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0') return true;
  return false;
}

/// Whether `name` is an HTTP field name: a non-empty RFC 9110 token (letters,
/// digits and !#$%&'*+-.^_`|~). Anything else, a space or a colon above
/// all, would change the meaning of the head it is written into.
inline bool is_field_name(std::string_view name) noexcept {
  static constexpr auto table = [] {
    struct {
      bool ok[256] = {};
    } t;
    for (int c = '0'; c <= '9'; ++c) t.ok[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) t.ok[c] = t.ok[c - 'a' + 'A'] = true;
    for (const char c : std::string_view("!#$%&'*+-.^_`|~")) t.ok[static_cast<unsigned char>(c)] = true;
    return t;
  }();
  if (name.empty()) return false;
  for (const char c : name)
    if (!table.ok[static_cast<unsigned char>(c)]) return false;
  return true;
}

/// The head of a keep-alive HTTP/1.1 request, as Beast's
/// `prepare_payload()` + `keep_alive(true)` would write it. The transport
/// owns framing and connection management, so the caller's Host,
/// Content-Length, Transfer-Encoding and Connection fields are replaced, not
/// sent; a User-Agent of the caller's wins over `user_agent` (none if both are
/// empty). Content-Length is sent for a body, and for POST, PUT and OPTIONS
/// also when it is empty (RFC 9110 8.6). Names must have been checked with
/// is_field_name and values with has_cr_lf_nul: both are written verbatim.
inline std::string request_head(boost::beast::http::verb method, std::string_view target, std::string_view host,
                                std::string_view user_agent, const boost::beast::http::fields& fields,
                                std::size_t body_size) {
  namespace bhttp = boost::beast::http;
  using bhttp::field;
  const auto method_name = bhttp::to_string(method);
  std::size_t n = method_name.size() + target.size() + host.size() + user_agent.size() + 64;
  bool own_agent = false;
  for (const auto& f : fields) {
    n += f.name_string().size() + f.value().size() + 4;
    own_agent = own_agent || f.name() == field::user_agent;
  }
  std::string out;
  out.reserve(n);
  const auto put = [&out](std::string_view a, std::string_view b) {
    out.append(a);
    out.append(": ", 2);
    out.append(b);
    out.append("\r\n", 2);
  };
  out.append(method_name.data(), method_name.size());
  out.push_back(' ');
  out.append(target);
  out.append(" HTTP/1.1\r\n", 11);
  put("Host", host);
  for (const auto& f : fields) {
    const auto name = f.name();
    if (name == field::host || name == field::content_length || name == field::transfer_encoding ||
        name == field::connection)
      continue;
    const auto k = f.name_string();
    const auto v = f.value();
    put(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size()));
  }
  if (!own_agent && !user_agent.empty()) put("User-Agent", user_agent);
  if (body_size > 0 || method == bhttp::verb::post || method == bhttp::verb::put || method == bhttp::verb::options)
    put("Content-Length", std::to_string(body_size));
  out.append("\r\n", 2);
  return out;
}

}  // namespace keypool::http::detail
