#pragma once
/// A `.env` parser that accepts what the widely used dotenv packages accept
/// and reports, instead of throwing, every line it cannot use.
///
/// Syntax (one assignment per line, values may span lines inside quotes):
/// - blank lines and lines whose first non-blank character is `#` are skipped;
/// - an optional `export ` prefix; spaces and tabs around `=` are ignored;
/// - names are letters, digits, `_`, `.` and `-`, not starting with a digit;
/// - unquoted values run to the end of the line, trailing blanks trimmed; a
///   `#` starts a comment only after a blank (`KEY=a#b` keeps `a#b`, as
///   python-dotenv and shells do; the JS package would cut at the `#`);
/// - 'single' and `back` quotes are literal (only \' or \` inside them
///   stands for the quote itself); "double" quotes understand the escapes
///   \n \r \t \" \\ \' \` \$ \a \b \f \v \uXXXX (unknown ones are kept as
///   written);
/// - quoted values may span lines; after the closing quote only blanks and
///   a `# comment` may follow. A quote still open when a later line reads
///   `NAME=...` is unterminated (reported; parsing resumes on the next line);
/// - CRLF and lone CR line ends, and a UTF-8 byte-order mark, are accepted;
/// - the last assignment of a name wins (earlier ones get a warning);
/// - no `${VAR}` expansion: `$` is an ordinary character.
///
/// Diagnostics name file:line and the variable, never a value: a malformed
/// line may hold a secret.

#include <keypool/config/diagnostic.hpp>
#include <keypool/core/detail/percent.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace keypool::config {

/// One `NAME=value` assignment as it appeared in a file.
struct dotenv_entry {
  std::string name;
  std::string value;  ///< unquoted and unescaped; may be a secret
  std::string file;
  std::size_t line = 0;  ///< 1-based line where the assignment starts
};

/// Everything read from one file: assignments in file order (repeated
/// names included) and the problems found.
struct dotenv_document {
  std::vector<dotenv_entry> entries;
  std::vector<diagnostic> diagnostics;

  /// The winning (last) assignment of `name`, or nullptr.
  const dotenv_entry* find(std::string_view name) const {
    for (auto it = entries.rbegin(); it != entries.rend(); ++it)
      if (it->name == name) return &*it;
    return nullptr;
  }

  /// One entry per name, the last assignment, in order of first appearance.
  std::vector<dotenv_entry> effective() const {
    std::vector<dotenv_entry> out;
    std::unordered_map<std::string, std::size_t> index;
    for (const auto& e : entries) {
      auto [it, inserted] = index.try_emplace(e.name, out.size());
      if (inserted)
        out.push_back(e);
      else
        out[it->second] = e;
    }
    return out;
  }
};

/// Thrown by load_dotenv when the file cannot be read at all. Bad lines
/// inside a readable file are diagnostics, not exceptions.
class dotenv_file_error : public std::runtime_error {
 public:
  dotenv_file_error(std::filesystem::path p, const std::string& why)
      : std::runtime_error(p.string() + ": " + why), path_(std::move(p)) {}
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

namespace detail {

inline bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }
inline bool is_name_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/// How a diagnostic names the variable of a line: whole when it reads as a
/// variable name (letters, digits and `_`, not starting with a digit, at most
/// 64 characters, and not mixing lower-case letters with digits as generated
/// keys do: `GROQ_API_KEY_1` and `https_proxy` are shown), else its first 4
/// characters and its length, since a key pasted in front of a '=' (
/// `sk-proj-...="...`) is no name to quote.
inline std::string shown_name(std::string_view name) {
  bool lower = false, digit = false, plain = !name.empty() && name.size() <= 64 && !(name[0] >= '0' && name[0] <= '9');
  for (char c : name) {
    lower = lower || (c >= 'a' && c <= 'z');
    digit = digit || (c >= '0' && c <= '9');
    plain = plain && (c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
  }
  if (name.empty() || (plain && !(lower && digit))) return std::string(name);
  return std::string(name.substr(0, 4)) + "... (a " + std::to_string(name.size()) + "-character name)";
}

inline void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// Decodes the inside of a double-quoted value. Sets `unknown_escape` when
/// an escape was kept as written.
inline std::string unescape_double(std::string_view in, bool& unknown_escape) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c != '\\' || i + 1 == in.size()) {
      out += c;
      continue;
    }
    const char e = in[++i];
    switch (e) {
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case '"':
      case '\\':
      case '\'':
      case '`':
      case '$': out += e; break;
      case 'u': {
        std::uint32_t cp = 0;
        bool ok = i + 4 < in.size();
        for (std::size_t k = 1; ok && k <= 4; ++k) {
          if (i + k >= in.size()) {
            ok = false;
            break;
          }
          const int h = ::keypool::detail::hex_digit_value(in[i + k]);
          if (h < 0)
            ok = false;
          else
            cp = cp * 16 + static_cast<std::uint32_t>(h);
        }
        if (ok && !(cp >= 0xD800 && cp <= 0xDFFF)) {
          append_utf8(out, cp);
          i += 4;
        } else {
          unknown_escape = true;
          out += '\\';
          out += e;
        }
        break;
      }
      default:
        unknown_escape = true;
        out += '\\';
        out += e;
    }
  }
  return out;
}

/// Decodes single- or back-quoted text: only `\<quote>` is special.
inline std::string unescape_literal(std::string_view in, char quote) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\\' && i + 1 < in.size() && in[i + 1] == quote) {
      out += quote;
      ++i;
    } else {
      out += in[i];
    }
  }
  return out;
}

inline std::string_view quote_name(char q) noexcept { return q == '"' ? "double" : q == '\'' ? "single" : "back"; }

/// Whether `line` (no '\n') reads as `[export ]NAME=...`. A quoted value
/// never runs into such a line: its opening quote is taken as a stray one, so
/// it cannot swallow the assignments below it. A bare `NAME=` or `NAME==`
/// does not count: that is how the padded last line of a base64 block (a PEM
/// key) looks.
inline bool looks_like_assignment(std::string_view line) noexcept {
  std::size_t i = 0;
  while (i < line.size() && is_blank(line[i])) ++i;
  if (line.substr(i, 6) == "export" && i + 6 < line.size() && is_blank(line[i + 6])) {
    i += 6;
    while (i < line.size() && is_blank(line[i])) ++i;
  }
  const std::size_t name_begin = i;
  while (i < line.size() && is_name_char(line[i])) ++i;
  if (i == name_begin || (line[name_begin] >= '0' && line[name_begin] <= '9')) return false;
  const std::size_t name_end = i;
  while (i < line.size() && is_blank(line[i])) ++i;
  if (i == line.size() || line[i] != '=') return false;
  // Base64 padding: the whole line is letters/digits then "=" or "==".
  const bool base64_tail = name_begin == 0 && i == name_end && line.size() - i <= 2 &&
                           line.find_first_not_of('=', i) == std::string_view::npos;
  return !base64_tail;
}

/// Drops a UTF-8 byte-order mark and turns CRLF and lone CR line ends into
/// '\n', so every later step sees '\n' only.
inline std::string normalise_line_ends(std::string_view input) {
  std::string text;
  text.reserve(input.size());
  if (input.substr(0, 3) == "\xEF\xBB\xBF") input.remove_prefix(3);
  for (std::size_t i = 0; i < input.size(); ++i) {
    if (input[i] == '\r') {
      text += '\n';
      if (i + 1 < input.size() && input[i + 1] == '\n') ++i;
    } else {
      text += input[i];
    }
  }
  return text;
}

/// Parses normalised text (see normalise_line_ends) into `doc`, one
/// assignment at a time.
class dotenv_parser {
 public:
  /// Where parsing resumes: the offset of a line's first character and
  /// that line's number.
  struct resume {
    std::size_t pos = 0;
    std::size_t line = 1;
  };

  dotenv_parser(std::string_view text, std::string_view file, dotenv_document& doc) noexcept
      : s_(text), n_(text.size()), file_(file), doc_(doc) {}

  /// Reads the assignment (or blank line, comment, bad line) starting at
  /// `at`; a quoted value may span lines. Returns where the next one starts.
  resume parse_line(resume at) {
    const std::size_t eol = line_end(at.pos);
    const std::size_t this_line = at.line;
    resume next{eol + 1, at.line + 1};  // past '\n'
    std::size_t i = at.pos;
    while (i < eol && is_blank(s_[i])) ++i;
    if (i == eol || s_[i] == '#') return next;
    // Optional "export" prefix (only when followed by a blank: "export=1"
    // assigns a variable called export).
    if (s_.substr(i, 6) == "export" && i + 6 < eol && is_blank(s_[i + 6])) {
      i += 6;
      while (i < eol && is_blank(s_[i])) ++i;
    }
    const std::size_t name_begin = i;
    while (i < eol && is_name_char(s_[i])) ++i;
    const std::string_view name = s_.substr(name_begin, i - name_begin);
    std::size_t j = i;
    while (j < eol && is_blank(s_[j])) ++j;
    if (name.empty() || j == eol || s_[j] != '=') {
      // The text could be a pasted secret: do not echo any of it.
      report(this_line, "",
             name.empty() ? "expected NAME=value; line ignored"
                          : "no '=' after the name; line ignored (expected NAME=value)");
      return next;
    }
    if (name.front() >= '0' && name.front() <= '9') {
      report(this_line, "", "variable names must not start with a digit; line ignored");
      return next;
    }
    ++j;  // past '='
    const std::size_t after_eq = j;
    while (j < eol && is_blank(s_[j])) ++j;
    if (j < eol && (s_[j] == '"' || s_[j] == '\'' || s_[j] == '`')) {
      if (auto value = read_quoted(name, this_line, j, eol, next)) record(name, std::move(*value), this_line);
    } else {
      record(name, read_unquoted(j, after_eq, eol), this_line);
    }
    return next;
  }

 private:
  /// Where a quoted value ends: the closing quote, or, when there is none,
  /// the line of an assignment the value would run into (0: end of text).
  struct quote_scan {
    std::size_t close = 0;
    bool closed = false;
    std::size_t stray_at = 0;
  };

  void report(std::size_t line, std::string variable, std::string message, severity level = severity::error) {
    doc_.diagnostics.push_back({std::string(file_), line, shown_name(variable), std::move(message), level});
  }

  std::size_t line_end(std::size_t from) const noexcept {
    const auto e = s_.find('\n', from);
    return e == std::string_view::npos ? n_ : e;
  }

  quote_scan scan_quoted(std::size_t open, std::size_t this_line) const {
    const char q = s_[open];
    quote_scan r;
    std::size_t crossed = 0;
    std::size_t k = open + 1;
    while (k < n_) {
      // An escape never hides a line end, so each new line is checked below.
      if (s_[k] == '\\' && k + 1 < n_ && s_[k + 1] != '\n' && (q == '"' || s_[k + 1] == q)) {
        k += 2;
        continue;
      }
      if (s_[k] == q) {
        r.closed = true;
        break;
      }
      if (s_[k] == '\n') {
        ++crossed;
        if (looks_like_assignment(s_.substr(k + 1, line_end(k + 1) - k - 1))) {
          r.stray_at = this_line + crossed;
          break;
        }
      }
      ++k;
    }
    r.close = k;
    return r;
  }

  /// The value whose opening quote is at `j`, or empty (reported) when it
  /// cannot be used. Once the closing quote is found, `next` moves past its
  /// line, which may be a later one.
  std::optional<std::string> read_quoted(std::string_view name, std::size_t this_line, std::size_t j, std::size_t eol,
                                         resume& next) {
    const char q = s_[j];
    const quote_scan scan = scan_quoted(j, this_line);
    if (!scan.closed) {
      report(this_line, std::string(name),
             "unterminated " + std::string(quote_name(q)) + "-quoted value" +
                 (scan.stray_at != 0 ? " (line " + std::to_string(scan.stray_at) + " starts another assignment)" : "") +
                 "; line ignored");
      return std::nullopt;
    }
    const std::size_t k = scan.close;
    const std::string_view inner = s_.substr(j + 1, k - j - 1);
    const std::size_t close_eol = line_end(k);
    std::size_t t = k + 1;
    while (t < close_eol && is_blank(s_[t])) ++t;
    const bool junk_after = t < close_eol && s_[t] != '#';
    if (junk_after && close_eol != eol) {
      // The "closing" quote is really the opening quote of a later line:
      // treat this one as unterminated and keep the later lines.
      report(this_line, std::string(name),
             "unterminated " + std::string(quote_name(q)) + "-quoted value; line ignored");
      return std::nullopt;
    }
    // The closing quote may be on a later line: continue after that line.
    for (char c : inner) next.line += c == '\n';
    next.pos = close_eol + 1;
    if (junk_after) {
      report(this_line, std::string(name), "unexpected text after the closing quote; line ignored");
      return std::nullopt;
    }
    if (q != '"') return unescape_literal(inner, q);
    bool unknown = false;
    std::string value = unescape_double(inner, unknown);
    if (unknown)
      report(this_line, std::string(name), "unknown escape sequence in double quotes, kept as written",
             severity::warning);
    return value;
  }

  /// The unquoted value from `j` (its first non-blank) to the line end: a
  /// '#' preceded by a blank starts a comment, one right after the '=' (at
  /// `after_eq`) does not; trailing blanks are trimmed.
  std::string read_unquoted(std::size_t j, std::size_t after_eq, std::size_t eol) const {
    std::size_t end = eol;
    for (std::size_t k = j; k < eol; ++k)
      if (s_[k] == '#' && (k == after_eq ? false : is_blank(s_[k - 1]))) {
        end = k;
        break;
      }
    std::size_t b = j;
    while (end > b && is_blank(s_[end - 1])) --end;
    return std::string(s_.substr(b, end - b));
  }

  /// Adds the entry; a repeated name gets a warning (the last one wins).
  void record(std::string_view name, std::string value, std::size_t this_line) {
    auto [it, inserted] = first_line_.try_emplace(std::string(name), this_line);
    if (!inserted)
      report(this_line, std::string(name),
             "assigned again (first at line " + std::to_string(it->second) + "); the last assignment wins",
             severity::warning);
    doc_.entries.push_back({std::string(name), std::move(value), std::string(file_), this_line});
  }

  std::string_view s_;
  std::size_t n_;
  std::string_view file_;
  dotenv_document& doc_;
  std::unordered_map<std::string, std::size_t> first_line_;
};

}  // namespace detail

/// Parses `.env` text. Never throws for bad content; see the file comment
/// for the accepted syntax. `file` is used in entries and diagnostics.
inline dotenv_document parse_dotenv(std::string_view input, std::string_view file = "<string>") {
  dotenv_document doc;
  const std::string text = detail::normalise_line_ends(input);
  detail::dotenv_parser parser(text, file, doc);
  detail::dotenv_parser::resume at;
  while (at.pos < text.size()) at = parser.parse_line(at);
  return doc;
}

/// Reads and parses a file. A missing or unreadable file sets `ec` (and
/// returns an empty document); bad lines are diagnostics.
inline dotenv_document load_dotenv(const std::filesystem::path& path, std::error_code& ec) {
  ec.clear();
  std::filesystem::file_status st = std::filesystem::status(path, ec);
  if (ec) return {};
  if (!std::filesystem::exists(st)) {
    ec = std::make_error_code(std::errc::no_such_file_or_directory);
    return {};
  }
  if (std::filesystem::is_directory(st)) {
    ec = std::make_error_code(std::errc::is_a_directory);
    return {};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ec = std::make_error_code(std::errc::permission_denied);
    return {};
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_dotenv(buf.str(), path.string());
}

/// Reads and parses a file; throws dotenv_file_error ("path: No such file
/// or directory") when it cannot be read.
inline dotenv_document load_dotenv(const std::filesystem::path& path) {
  std::error_code ec;
  auto doc = load_dotenv(path, ec);
  if (ec) throw dotenv_file_error(path, ec.message());
  return doc;
}

}  // namespace keypool::config
