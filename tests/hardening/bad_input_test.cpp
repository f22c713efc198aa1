/// The bad-input catalogue (docs/security.md) as tests, without a network:
/// malformed and huge .env files, keys with CR/LF/NUL, absurd Retry-After
/// values, non-JSON / truncated / 10 MB bodies; plus secret hygiene across
/// every output and the wipe of key records on destruction. Every key in
/// here is obviously fake.

#include <keypool/classify/classifier.hpp>
#include <keypool/clock/manual.hpp>
#include <keypool/config/dotenv.hpp>
#include <keypool/config/env_keys.hpp>
#include <keypool/core/pool.hpp>
#include <keypool/http/url.hpp>
#include <keypool/json/config_json.hpp>
#include <keypool/json/stats_json.hpp>
#include <keypool/lockout/retry_after.hpp>
#include <keypool/providers/builtin.hpp>
#include <keypool/providers/catalog_json.hpp>
#include <keypool/report/prometheus.hpp>
#include <keypool/report/text.hpp>
#include <keypool/wire/anthropic_messages.hpp>
#include <keypool/wire/gemini_generate_content.hpp>
#include <keypool/wire/openai_chat.hpp>

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>
#include <vector>

// ---------------------------------------------------------------- wipe probe
// Replaced global operator new/delete (defined behaviour: [replacement.functions]).
// While armed, every block about to be freed is searched for the needles:
// a freed block still holding a secret means the secret was not wiped.
// Reading the bytes of storage that is still allocated is fine for ASan;
// the C++ standard calls their values indeterminate once the string's
// lifetime ended, which is why secure_wipe is also tested directly below.
namespace wipe_probe {
std::atomic<bool> armed{false};
std::atomic<int> hits{0};
std::atomic<std::size_t> last_hit_block{0}, last_hit_needle{0};  // for the failure message
std::vector<std::string>* needles = nullptr;                     // set before arming, cleared after
/// Blocks allocated and not yet freed (leak checks without a sanitizer).
std::atomic<long> live{0};

void scan(void* p, std::size_t n) noexcept {
  if (p == nullptr || !armed.load(std::memory_order_acquire) || needles == nullptr) return;
  for (std::size_t i = 0; i < needles->size(); ++i) {
    const auto& s = (*needles)[i];
    if (!s.empty() && n >= s.size() && memmem(p, n, s.data(), s.size()) != nullptr) {
      hits.fetch_add(1, std::memory_order_relaxed);
      last_hit_block.store(n, std::memory_order_relaxed);
      last_hit_needle.store(i, std::memory_order_relaxed);
    }
  }
}
}  // namespace wipe_probe

[[gnu::noinline]] void* operator new(std::size_t n) {
  if (void* p = std::malloc(n ? n : 1)) {
    wipe_probe::live.fetch_add(1, std::memory_order_relaxed);
    return p;
  }
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new(std::size_t n, std::align_val_t al) {
  const auto a = static_cast<std::size_t>(al);
  if (void* p = std::aligned_alloc(a, (n + a - 1) / a * a)) {
    wipe_probe::live.fetch_add(1, std::memory_order_relaxed);
    return p;
  }
  throw std::bad_alloc();
}
/// noinline: GCC would otherwise pair the inlined free() with new-expressions
/// and warn (-Wmismatched-new-delete) although new is replaced consistently.
[[gnu::noinline]] void operator delete(void* p) noexcept {
  if (!p) return;
  wipe_probe::live.fetch_sub(1, std::memory_order_relaxed);
  wipe_probe::scan(p, malloc_usable_size(p));
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
[[gnu::noinline]] void operator delete(void* p, std::align_val_t) noexcept { operator delete(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t, std::align_val_t) noexcept { operator delete(p); }
// The nothrow forms too (std::stable_sort's temporary buffer uses them):
// otherwise their blocks, from the runtime's allocator, reach our free().
[[gnu::noinline]] void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return operator new(n);
  } catch (...) {
    return nullptr;
  }
}
[[gnu::noinline]] void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  try {
    return operator new(n, al);
  } catch (...) {
    return nullptr;
  }
}
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept { operator delete(p); }
[[gnu::noinline]] void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  operator delete(p);
}

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace hardening_bad_input_test {
namespace {

namespace kp = keypool;
namespace cfg = keypool::config;
namespace cl = keypool::classify;
namespace wire = keypool::wire;
using namespace std::chrono_literals;

/// Fake secrets, long enough (> 15 bytes) to live on the heap, and short
/// ones that fit std::string's inline buffer.
const std::vector<std::string> fake_secrets = {
    "gsk_test_FAKE_hygiene_groq_0001xYzQ", "gsk_test_FAKE_hygiene_groq_0002aBcD", "nvapi-test-FAKE-hygiene-nvidia-0001",
    "sk-test-FAKE-hygiene-openai-00001",   "sk-ant-test-FAKE-hygiene-claude-01",  "AIzaTestFAKEhygieneGoogle000000001",
    "zai-test-FAKE-hygiene-glm-00000001",  "mistral-test-FAKE-hygiene-0000001",
};

void expect_no_secret(std::string_view text, const std::vector<std::string>& secrets, std::string_view where) {
  for (const auto& s : secrets)
    EXPECT_EQ(text.find(s), std::string_view::npos) << where << " contains a secret:\n" << text;
}

/// A temporary file removed at scope exit.
struct temp_file {
  std::filesystem::path path;
  explicit temp_file(std::string_view content, std::string_view name = "keys.env") {
    path = std::filesystem::temp_directory_path() /
           ("keypool-hardening-" + std::to_string(::getpid()) + "-" + std::string(name));
    std::ofstream(path, std::ios::binary).write(content.data(), static_cast<std::streamsize>(content.size()));
  }
  ~temp_file() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

std::vector<kp::key_spec> specs(std::string_view prefix, int n) {
  std::vector<kp::key_spec> out;
  for (int i = 1; i <= n; ++i)
    out.push_back({std::string(prefix) + "_API_KEY_" + std::to_string(i),
                   "test-FAKE-" + std::string(prefix) + "-key-" + std::to_string(i) + "-padding"});
  return out;
}

std::vector<std::string> variables(const kp::pool_snapshot& s) {
  std::vector<std::string> v;
  for (const auto& k : s.keys) v.push_back(k.variable);
  return v;
}

// ====================================================== malformed .env lines

TEST(BadEnv, MalformedLinesAreReportedWithPlaceAndNeverEchoed) {
  const std::string s = "sk-test-FAKE-pasted-alone-0001";
  const std::string text =
      "GROQ_API_KEY_1=gsk_test_FAKE_good_one_000001\n"
      "sk-test-FAKE-pasted-alone-0001\n"                        // 2: no '='
      "GROQ_API_KEY_2 sk-test-FAKE-pasted-alone-0001\n"         // 3: name, no '='
      "1BAD=sk-test-FAKE-pasted-alone-0001\n"                   // 4: digit first
      "AFTER=\"sk-test-FAKE-pasted-alone-0001\" trailing\n"     // 5: junk after quote
      "=sk-test-FAKE-pasted-alone-0001\n"                       // 6: no name
      "GROQ_API_KEY_3=\"sk-test-FAKE-pasted-alone-0001\\q\"\n"  // 7: unknown escape (warning)
      "GROQ_API_KEY_4='sk-test-FAKE-pasted-alone-0001\n"        // 8: unterminated
      "GROQ_API_KEY_5=gsk_test_FAKE_good_two_000002\n";         // 9
  const auto doc = cfg::parse_dotenv(text, "keys.env");
  std::vector<std::size_t> lines;
  for (const auto& d : doc.diagnostics) {
    lines.push_back(d.line);
    EXPECT_EQ(d.file, "keys.env");
    expect_no_secret(d.to_string(), {s}, "diagnostic");
  }
  EXPECT_EQ(lines, (std::vector<std::size_t>{2, 3, 4, 5, 6, 7, 8}));
  const auto c = cfg::build_key_config(doc, {});
  std::vector<std::string> vars;
  for (const auto& k : c.find("groq")->keys) vars.push_back(k.spec.variable);
  // The valid lines around the bad ones still load.
  EXPECT_EQ(vars, (std::vector<std::string>{"GROQ_API_KEY_1", "GROQ_API_KEY_3", "GROQ_API_KEY_5"}));
  for (const auto& d : c.diagnostics) expect_no_secret(d.to_string(), {s}, "key_config diagnostic");
}

TEST(BadEnv, BinaryGarbageAndEdgeCasesNeverThrow) {
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>((i * 131 + 7) & 0xff));
  for (std::string_view text :
       {std::string_view(junk), std::string_view("\0\0\0=\0", 5), std::string_view("="), std::string_view("\""),
        std::string_view("A=\"\\"), std::string_view("\xEF\xBB\xBF"), std::string_view("export"),
        std::string_view("export \n"), std::string_view("A=\"\\u12\""), std::string_view("\r\r\r\n\n")}) {
    EXPECT_NO_THROW({
      const auto doc = cfg::parse_dotenv(text);
      (void)cfg::build_key_config(doc, {});
    });
  }
}

// ============================================================== huge files

/// 50 MB: the parser is linear and its memory bounded by a small multiple of
/// the file; no limit is imposed, so the file loads (or is reported) and
/// nothing crashes.
constexpr std::size_t huge_size = 50u << 20;

TEST(HugeEnv, FiftyMegabytesOfLinesLoadInLinearTime) {
  std::string text;
  text.reserve(huge_size + 128);
  text += "GROQ_API_KEY_1=gsk_test_FAKE_huge_first_0001\n";
  const std::string pad = "# padding comment line that says nothing at all, repeated many times\n";
  while (text.size() < huge_size) text += pad;
  text += "GROQ_API_KEY_2=gsk_test_FAKE_huge_last_00002\n";
  temp_file f(text, "huge.env");
  text.clear();
  text.shrink_to_fit();
  const auto start = std::chrono::steady_clock::now();
  const auto c = cfg::load_key_config(f.path, {.use_process_environment = false});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(c.find("groq")->keys.size(), 2u);
  EXPECT_FALSE(c.has_errors());
  EXPECT_LT(took, 60s);
}

TEST(HugeEnv, UnterminatedQuoteSpanningFiftyMegabytesIsOneError) {
  std::string text = "GROQ_API_KEY_1=gsk_test_FAKE_before_00001\nGROQ_API_KEY_2=\"";
  text.append(huge_size, 'a');
  const auto start = std::chrono::steady_clock::now();
  const auto doc = cfg::parse_dotenv(text, "huge.env");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 60s);
  ASSERT_EQ(doc.diagnostics.size(), 1u);
  EXPECT_EQ(doc.diagnostics[0].line, 2u);
  EXPECT_NE(doc.diagnostics[0].message.find("unterminated"), std::string::npos);
  EXPECT_LT(doc.diagnostics[0].to_string().size(), 200u);
  ASSERT_EQ(doc.entries.size(), 1u);
  EXPECT_EQ(doc.entries[0].name, "GROQ_API_KEY_1");
}

TEST(HugeEnv, ManyUnterminatedQuotesStayLinear) {
  // Every line opens a quote that the next line closes with junk after it:
  // each scan must stop at the next quote, not run to the end of the file.
  std::string text;
  while (text.size() < (4u << 20)) text += "A=\"x\n\"junk\n";
  const auto start = std::chrono::steady_clock::now();
  const auto doc = cfg::parse_dotenv(text);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
  EXPECT_FALSE(doc.diagnostics.empty());
}

TEST(HugeEnv, MissingFileAndDirectoryAreClearErrors) {
  const auto dir = std::filesystem::temp_directory_path();
  EXPECT_THROW((void)cfg::load_dotenv(dir / "keypool-definitely-missing.env"), cfg::dotenv_file_error);
  std::error_code ec;
  (void)cfg::load_dotenv(dir, ec);
  EXPECT_EQ(ec, std::make_error_code(std::errc::is_a_directory));
}

// ======================================== keys with CR, LF, NUL (injection)

TEST(HeaderInjection, KeysWithControlCharactersAreRejectedAtLoad) {
  const std::string text =
      "OPENAI_API_KEY_1=\"sk-test-FAKE-crlf\\r\\nX-Injected: 1\"\n"
      "OPENAI_API_KEY_2=\"sk-test-FAKE-lf\\nX-Injected: 1\"\n"
      "OPENAI_API_KEY_3=\"sk-test-FAKE-nul\\u0000tail\"\n"
      "OPENAI_API_KEY_4=\"sk-test-FAKE-cr\\rtail\"\n"
      "OPENAI_API_KEY_5=\"sk-test-FAKE-tab\\ttail\"\n"
      "OPENAI_API_KEY_6=\"sk-test-FAKE space\"\n"
      "OPENAI_API_KEY_7=\"sk-test-FAKE-del\\u007ftail\"\n"
      "OPENAI_API_KEY_8=sk-test-FAKE-clean-key-00008\n";
  const auto c = cfg::build_key_config(cfg::parse_dotenv(text, "k.env"), {});
  const auto* p = c.find("openai");
  ASSERT_EQ(p->keys.size(), 1u);
  EXPECT_EQ(p->keys[0].spec.variable, "OPENAI_API_KEY_8");
  std::size_t rejected = 0;
  for (const auto& d : c.diagnostics) {
    const auto s = d.to_string();
    if (s.find("key rejected") != std::string::npos) ++rejected;
    EXPECT_EQ(s.find("sk-test-FAKE"), std::string::npos) << s;
    EXPECT_EQ(s.find('\n'), std::string::npos);
    EXPECT_EQ(s.find('\r'), std::string::npos);
  }
  EXPECT_EQ(rejected, 7u);
  // The environment is checked the same way.
  const auto e = cfg::build_key_config(
      {}, {{"GROQ_API_KEY", std::string("gsk_test_FAKE\0nul", 17)}, {"GROQ_API_KEY_2", "gsk_test_FAKE\r\nX: 1"}});
  EXPECT_TRUE(e.find("groq")->keys.empty());
  EXPECT_EQ(kp::config::count(e.diagnostics, cfg::severity::error), 2u);
}

TEST(HeaderInjection, PoolRefusesUnsafeKeysAndKeepsWhatItHad) {
  kp::dynamic_pool pool({"openai", "OPENAI"}, specs("OPENAI", 2));
  for (std::string bad : {std::string("sk-test-FAKE\r\nX-Injected: 1"), std::string("sk-test-FAKE\nx"),
                          std::string("sk-test-FAKE\0x", 14), std::string("sk-test FAKE"), std::string("")}) {
    auto keys = specs("OPENAI", 2);
    keys.push_back({"OPENAI_API_KEY_3", bad});
    try {
      pool.reload(keys);
      ADD_FAILURE() << "reload accepted an unsafe key";
    } catch (const kp::invalid_key_spec& e) {
      EXPECT_EQ(e.variable(), "OPENAI_API_KEY_3");
      if (!bad.empty()) {
        EXPECT_EQ(std::string(e.what()).find(bad), std::string::npos);
      }
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    }
    // Nothing already loaded is lost.
    EXPECT_EQ(variables(pool.snapshot()), (std::vector<std::string>{"OPENAI_API_KEY_1", "OPENAI_API_KEY_2"}));
    EXPECT_THROW(kp::dynamic_pool({"openai", "OPENAI"}, {{"OPENAI_API_KEY_1", bad}}), kp::invalid_key_spec);
  }
  // Whatever a pool hands out is safe to put in a header.
  for (int i = 0; i < 4; ++i) {
    auto l = pool.acquire();
    ASSERT_TRUE(l);
    EXPECT_EQ(kp::secret_problem(l->secret()), std::nullopt);
    pool.report(*l, kp::outcome::success());
  }
}

/// A pasted file or a megabyte "key" is refused (max_secret_bytes), from
/// .env and by the pool, naming the variable; a key at the limit loads.
TEST(HugeKey, KeysLongerThanTheLimitAreRejected) {
  const std::string at_limit = "sk-test-FAKE-" + std::string(kp::max_secret_bytes - 13, 'k');
  const std::string over = "sk-test-FAKE-" + std::string(kp::max_secret_bytes, 'x');
  const auto c = cfg::build_key_config(
      cfg::parse_dotenv("OPENAI_API_KEY_1=" + over + "\nOPENAI_API_KEY_2=" + at_limit + "\n", "k.env"), {});
  const auto* p = c.find("openai");
  ASSERT_EQ(p->keys.size(), 1u);
  EXPECT_EQ(p->keys[0].spec.variable, "OPENAI_API_KEY_2");
  ASSERT_EQ(kp::config::count(c.diagnostics, cfg::severity::error), 1u);
  const auto msg = c.diagnostics[0].to_string();
  EXPECT_NE(msg.find("OPENAI_API_KEY_1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("k.env:1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at most 4096"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("xxxxxxxx"), std::string::npos) << msg;

  kp::dynamic_pool pool({"openai", "OPENAI"}, specs("OPENAI", 2));
  auto keys = specs("OPENAI", 2);
  keys.push_back({"OPENAI_API_KEY_3", over});
  EXPECT_THROW(pool.reload(keys), kp::invalid_key_spec);
  EXPECT_EQ(variables(pool.snapshot()), (std::vector<std::string>{"OPENAI_API_KEY_1", "OPENAI_API_KEY_2"}));
  keys.back().secret = at_limit;
  EXPECT_NO_THROW(pool.reload(keys));
  EXPECT_EQ(pool.snapshot().keys.size(), 3u);
}

/// Defence in depth: an encoder given an unsafe secret directly (not from a
/// pool) must refuse it rather than build an injected header.
TEST(HeaderInjection, EncodersRefuseSecretsWithControlCharacters) {
  wire::chat_request r;
  r.model = "test-model";
  r.prompt = "hi";
  for (std::string bad : {std::string("sk-test-FAKE\r\nX-Injected: 1"), std::string("sk-test-FAKE\nX: 1"),
                          std::string("sk-test-FAKE\0X", 14)}) {
    EXPECT_FALSE(wire::openai_chat::encode(r, bad)) << "openai_chat accepted a secret with CR/LF/NUL";
    EXPECT_FALSE(wire::anthropic_messages::encode(r, bad)) << "anthropic_messages accepted a secret with CR/LF/NUL";
    EXPECT_FALSE(wire::gemini_generate_content::encode(r, bad))
        << "gemini_generate_content accepted a secret with CR/LF/NUL";
  }
}

// =============================================== huge / negative / junk hints

const cl::sys_time fixed_now{std::chrono::seconds(1795687200)};  // 2026-11-26T10:00:00Z

TEST(RetryAfter, AbsurdValuesAreIgnoredOrClamped) {
  // Ignored: no hint, so the lockout policy's default applies.
  for (std::string_view v : {"-5", "-0.5", "soon", "NaN", "Infinity", "1e3", "0x10", "", "   ", "5 s", "+5", "\xff\xfe",
                             "Sun, 32 Nov 2026 08:49:37 GMT", "Mon, 06 Nov 1800 08:49:37 GMT"})
    EXPECT_EQ(cl::parse_retry_after(v, fixed_now), std::nullopt) << v;
  for (std::string_view v : {"-1", "abc", "1.", ".5", "1e9"}) EXPECT_EQ(cl::parse_retry_after_ms(v), std::nullopt) << v;
  for (std::string_view v : {"-1s", "5x", "s", "1.s", "m5"}) EXPECT_EQ(cl::parse_duration(v), std::nullopt) << v;
  // Huge: parsed without overflow, then clamped by the classifier to the cap.
  const auto huge = cl::parse_retry_after("999999999999999999999999999999", fixed_now);
  ASSERT_TRUE(huge);
  EXPECT_GT(*huge, cl::max_rate_limit_hint);
  EXPECT_EQ(cl::clamp_hint(huge, cl::max_rate_limit_hint), cl::max_rate_limit_hint);
  EXPECT_EQ(cl::clamp_hint(std::chrono::milliseconds(-1), 1h), std::nullopt);
  // A date in the past means "now".
  EXPECT_EQ(cl::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", fixed_now), 0ms);
}

/// Regression (fuzz_retry_hint / fuzz_classifier): dates beyond year 2262
/// overflowed system_clock's nanoseconds (signed overflow, UB) and could
/// come out as a time in the past: a "retry now" from a far-future reset.
TEST(RetryAfter, FarFutureDatesSaturateInsteadOfOverflowing) {
  for (std::string_view v : {"4137-11-27T00:00:00Z", "9999-12-31T23:59:59-23:59", "2262-04-12T00:00:00Z"}) {
    const auto t = cl::parse_rfc3339(v);
    ASSERT_TRUE(t) << v;
    EXPECT_GT(*t, fixed_now) << v;
    EXPECT_GT(cl::until(*t, fixed_now), 24h * 365 * 200) << v;
  }
  const auto d = cl::parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", fixed_now);
  ASSERT_TRUE(d);
  EXPECT_GT(*d, 24h * 365 * 200);
  // Through the classifier: Z.AI prints its reset time in the message.
  const auto c =
      cl::classify(*kp::providers::find_builtin("zai"), 429, cl::headers{},
                   R"({"error":{"code":"1308","message":"limit reached, resets at 4137-11-27 00:00:00"}})", fixed_now);
  ASSERT_TRUE(c.result.retry_after);
  EXPECT_GT(*c.result.retry_after, 0ms);
  EXPECT_LE(*c.result.retry_after, cl::max_quota_hint);
}

TEST(RetryAfter, EveryProviderClampsHintsAndPoolLockoutsStayBounded) {
  using manual_pool = kp::basic_pool<kp::runtime_provider, kp::policy::clock<kp::clock::manual>,
                                     kp::policy::lockout<kp::lockout::retry_after>>;
  for (const auto& prov : kp::providers::builtin_descriptors()) {
    for (std::string_view v : {"99999999999999999999", "-5", "soon", "86400000", "Fri, 31 Dec 9999 23:59:59 GMT"}) {
      cl::headers h{{"retry-after", v}, {"retry-after-ms", v}, {"x-ratelimit-reset-requests", v}};
      const auto c = cl::classify(prov, 429, h, R"({"error":{"message":"rate limited"}})", fixed_now);
      if (c.result.retry_after) {
        EXPECT_GE(c.result.retry_after->count(), 0) << prov.id << " " << v;
        EXPECT_LE(*c.result.retry_after,
                  c.result.kind == kp::outcome_kind::quota_exhausted ? cl::max_quota_hint : cl::max_rate_limit_hint)
            << prov.id << " " << v;
      }
      manual_pool pool(prov.info(), specs("P", 1));
      pool.report(*pool.acquire(), c.result);
      const auto snap = pool.snapshot();
      ASSERT_EQ(snap.keys.size(), 1u);  // the key is locked, never lost
      if (snap.keys[0].available_in) {
        EXPECT_LE(*snap.keys[0].available_in, 25h) << prov.id << " " << v;
      }
    }
  }
}

// ============================================ non-JSON / truncated / 10 MB bodies

std::vector<std::string> bad_bodies() {
  std::vector<std::string> b = {"",
                                "<html><body>502 Bad Gateway</body></html>",
                                "{\"error\":{\"message\":\"cut",
                                "{\"choices\":[{\"message\":{\"content\":\"cut",
                                "null",
                                "[]",
                                "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]",
                                "{\"error\":12}",
                                "{\"error\":{\"code\":{\"nested\":true},\"details\":\"notarray\"}}",
                                std::string("{\"error\":\0}", 11),
                                "\xff\xfe\x00\x01"};
  std::string ten_mb_string = "{\"error\":{\"message\":\"";
  ten_mb_string.append(10u << 20, 'x');
  ten_mb_string += "\"}}";
  b.push_back(std::move(ten_mb_string));
  b.push_back(std::string(10u << 20, '['));  // depth bomb
  std::string ten_mb_garbage(10u << 20, '\0');
  for (std::size_t i = 0; i < ten_mb_garbage.size(); ++i) ten_mb_garbage[i] = static_cast<char>(i * 2654435761u >> 24);
  b.push_back(std::move(ten_mb_garbage));
  return b;
}

TEST(BadBodies, ClassifierFallsBackToTheStatusAndNeverThrows) {
  const auto bodies = bad_bodies();
  for (const auto& prov : kp::providers::builtin_descriptors()) {
    for (const auto& body : bodies) {
      for (int status : {200, 400, 401, 403, 429, 500, 503}) {
        cl::classification c;
        ASSERT_NO_THROW(c = cl::classify(prov, status, cl::headers{}, body, fixed_now)) << prov.id << " " << status;
        EXPECT_LE(c.reason.size(), 64u);
        if (status == 200) {
          EXPECT_EQ(c.result.kind, kp::outcome_kind::success);
        }
        if (status == 500 || status == 503) {
          EXPECT_EQ(c.result.kind, kp::outcome_kind::transient) << prov.id;
        }
        if (status == 401) {
          EXPECT_EQ(c.result.kind, kp::outcome_kind::invalid_key) << prov.id;
        }
      }
    }
  }
}

template <class Codec>
void check_decoder(const std::vector<std::string>& bodies) {
  for (const auto& body : bodies) {
    const auto r = Codec::decode(body);
    ASSERT_FALSE(r) << Codec::name;
    EXPECT_EQ(r.error().message.rfind(std::string(Codec::name) + ": ", 0), 0u) << r.error().message;
    EXPECT_LE(r.error().message.size(), 600u) << Codec::name;  // provider text is clipped
  }
  EXPECT_EQ(Codec::decode("").error().code, wire::decode_errc::empty_body);
  EXPECT_EQ(Codec::decode("{\"a\":[1,2").error().code, wire::decode_errc::truncated_json);
  EXPECT_EQ(Codec::decode("<html>").error().code, wire::decode_errc::invalid_json);
}

TEST(BadBodies, DecodersReturnTypedErrorsAndNeverThrow) {
  const auto bodies = bad_bodies();
  check_decoder<wire::openai_chat>(bodies);
  check_decoder<wire::anthropic_messages>(bodies);
  check_decoder<wire::gemini_generate_content>(bodies);
}

/// Regression (fuzz_wire_decode): a token count of 1e30 was converted to an
/// integer with undefined behaviour; it saturates now.
TEST(BadBodies, HugeTokenCountsSaturate) {
  const auto r = wire::openai_chat::decode(
      R"({"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":-1,"completion_tokens":1e30}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->usage.input_tokens, 0u);
  EXPECT_EQ(r->usage.output_tokens, ~std::uint64_t{0});
}

/// Regression (fuzz_wire_decode): an invalid URL's message echoed the whole
/// text before "://" raw when the URL had userinfo, newlines included.
TEST(BadBodies, UrlErrorsAreClippedAndCleaned) {
  const std::string bad = std::string(300, 'x') + "\r\nX-Injected: 1://user:sk-test-FAKE-pass@host/";
  const auto u = kp::http::parse_url(bad);
  ASSERT_FALSE(u);
  EXPECT_LT(u.error().message.size(), 256u);
  EXPECT_EQ(u.error().message.find('\n'), std::string::npos);
  EXPECT_EQ(u.error().message.find("sk-test-FAKE-pass"), std::string::npos);
  const auto q = kp::http::parse_url("https://bad host/v1?key=AIzaTestFAKEqueryToken0001");
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error().message.find("AIzaTestFAKEqueryToken0001"), std::string::npos);
  // Regression: text before "://" was echoed as the "unsupported scheme",
  // query string included.
  const auto s = kp::http::parse_url("h?key=TestFAKEtok://host/");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message.find("TestFAKEtok"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("missing scheme"), std::string::npos) << s.error().message;
  const auto f = kp::http::parse_url("ftp://host/");
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("unsupported scheme 'ftp'"), std::string::npos) << f.error().message;
}

// ============================================================ secret hygiene

/// Runs the library's outputs over a configuration full of fake secrets:
/// diagnostics, config JSON, snapshots, text report, Prometheus, stats JSON,
/// unavailable errors and every exception message; none may hold a secret.
TEST(SecretHygiene, NoSecretInAnyOutput) {
  const auto& s = fake_secrets;
  std::string env_text =
      "GROQ_API_KEY_1=" + s[0] + "\nGROQ_API_KEY_2=\"" + s[1] + "\"\nGROQ_API_KEY_2_ACCOUNT=team-a\n" +
      "GROQ_API_KEY_1_ACCOUNT=team-a\nNVIDIA_API_KEY=" + s[2] + "\nNVIDIA_API_KEY_WEIGHT=lots\n" +
      "OPENAI_API_KEY_1='" + s[3] + "'\nANTHROPIC_API_KEY_1=" + s[4] + "\nGOOGLE_API_KEY_1=" + s[5] +
      "\nZAI_API_KEY_1=" + s[6] + "\nMISTRAL_API_KEY_1=" + s[7] +
      // Problems that mention the keys: duplicates, rejected values, malformed lines.
      "\nGROQ_API_KEY_3=" + s[0] + "\nMISTRAL_API_KEY_2=" + s[2] + "\nOPENAI_API_KEY_2=\"" + s[3] + " x\"\n" + s[4] +
      "\nGROQ_API_KEY_9 " + s[5] + "\nBROKEN=\"" + s[6] + "\" junk\nGROQ_API_KEY_4=" + s[1] + "\n" +
      "GROQ_API_KEY_01=" + s[7] + "\nGROQ_API_KEY_5=\"" + s[0] + "\\r\\n\"\nUNTERMINATED='" + s[7] + "\n";
  temp_file f(env_text);
  std::vector<std::string> out;
  const auto c = cfg::build_key_config(cfg::load_dotenv(f.path), {{"OPENAI_API_KEY_1", s[3] + "-env-override"}});
  for (const auto& d : c.diagnostics) out.push_back(d.to_string());
  ASSERT_GE(c.diagnostics.size(), 8u);
  out.push_back(kp::json::config_to_json_string(c));
  out.push_back(boost::json::serialize(kp::json::diagnostics_to_json(c.diagnostics)));
  ASSERT_EQ(c.key_count(), 9u);  // MISTRAL_API_KEY_2 reuses NVIDIA's key: a warning only

  std::vector<kp::pool_snapshot> snaps;
  for (const auto& p : c.providers) {
    if (p.keys.empty()) continue;
    using manual_pool = kp::basic_pool<kp::runtime_provider, kp::policy::clock<kp::clock::manual>>;
    manual_pool pool(p.provider.info(), p.key_specs());
    for (auto kind : {kp::outcome::success(), kp::outcome::rate_limited(30s), kp::outcome::invalid_key(),
                      kp::outcome::quota_exhausted(2h), kp::outcome::transient(), kp::outcome::out_of_credit()}) {
      if (auto l = pool.acquire()) {
        out.push_back(std::string(l->variable()) + " " + std::string(l->redacted()) + " " +
                      std::string(l->fingerprint()) + " " + std::string(l->account()));
        pool.report(*l, kind);
      } else {
        out.push_back(l.error().message());
        try {
          (void)pool.acquire_or_throw();
        } catch (const std::exception& e) {
          out.push_back(e.what());
        }
      }
    }
    // Reload problems name variables, never secrets.
    auto keys = p.key_specs();
    keys.push_back({keys[0].variable + "_COPY", keys[0].secret});
    try {
      pool.reload(keys);
    } catch (const std::exception& e) {
      out.push_back(e.what());
    }
    const auto rr = pool.reload(p.key_specs());
    for (const auto& v : rr.kept) out.push_back(v);
    snaps.push_back(pool.snapshot());
  }
  out.push_back(kp::report::text(snaps));
  out.push_back(kp::report::prometheus(snaps));
  out.push_back(boost::json::serialize(kp::json::to_json(std::span<const kp::pool_snapshot>(snaps))));
  for (const auto& sn : snaps)
    for (const auto& k : sn.keys) out.push_back(k.variable + k.redacted + k.fingerprint + std::string(k.state_name()));

  // Classifier reasons never quote message text (OpenAI's 401 quotes the key).
  for (const auto& prov : kp::providers::builtin_descriptors()) {
    const std::string body = R"({"error":{"message":"Incorrect API key provided: )" + s[3] +
                             R"(","type":"invalid_request_error","code":"invalid_api_key"}})";
    out.push_back(cl::classify(prov, 401, cl::headers{}, body, fixed_now).reason);
    out.push_back(cl::classify(prov, 429, cl::headers{}, body, fixed_now).reason);
  }
  // Encoder errors name the request's problem, never the key.
  wire::chat_request bad_req;
  bad_req.model = "m";
  bad_req.images.push_back({"x", "text/html"});
  out.push_back(wire::openai_chat::encode(bad_req, s[3]).error().message);
  out.push_back(wire::anthropic_messages::encode(bad_req, s[4]).error().message);
  out.push_back(wire::gemini_generate_content::encode(bad_req, s[5]).error().message);
  // Construction errors.
  try {
    kp::dynamic_pool p({"groq", "GROQ"}, {{"GROQ_API_KEY_1", s[0]}, {"GROQ_API_KEY_2", s[0]}});
  } catch (const std::exception& e) {
    out.push_back(e.what());
  }
  try {
    kp::dynamic_pool p({"groq", "GROQ"}, {{"GROQ_API_KEY_1", s[0] + "\n"}});
  } catch (const std::exception& e) {
    out.push_back(e.what());
  }
  try {
    (void)cfg::load_dotenv(f.path.string() + ".missing");
  } catch (const std::exception& e) {
    out.push_back(e.what());
  }
  ASSERT_GT(out.size(), 40u);
  for (const auto& text : out) expect_no_secret(text, s, "output");
}

TEST(SecretHygiene, RedactedFormsRevealAtMostFourCharacters) {
  for (const auto& s : fake_secrets) {
    const auto r = kp::redact(s);
    EXPECT_LE(r.size(), 8u + 3u + 4u) << r;
    EXPECT_EQ(r.find(s.substr(s.size() - 8)), std::string::npos) << r;
    EXPECT_EQ(kp::fingerprint(s).size(), 12u);
  }
  EXPECT_EQ(kp::redact("short-key"), "\xE2\x80\xA6");
}

// ================================================================ wiping

struct armed_scope {
  std::vector<std::string> needles;
  explicit armed_scope(std::vector<std::string> n) : needles(std::move(n)) {
    wipe_probe::hits.store(0);
    wipe_probe::needles = &needles;
    wipe_probe::armed.store(true, std::memory_order_release);
  }
  int disarm() {
    wipe_probe::armed.store(false, std::memory_order_release);
    wipe_probe::needles = nullptr;
    return wipe_probe::hits.load();
  }
  ~armed_scope() { disarm(); }
};

TEST(Wipe, SecureWipeZeroesTheBuffer) {
  char buf[64];
  std::memcpy(buf, fake_secrets[0].data(), fake_secrets[0].size());
  kp::detail::secure_wipe(buf, fake_secrets[0].size());
  for (std::size_t i = 0; i < fake_secrets[0].size(); ++i) EXPECT_EQ(buf[i], 0) << i;
}

TEST(Wipe, ProbeDetectsAnUnwipedSecret) {
  // The control: without a wipe, the probe must see the secret being freed.
  auto* copy = new std::string(fake_secrets[1]);
  std::vector<std::string> needles{fake_secrets[1]};  // its temporaries die before arming
  armed_scope armed(std::move(needles));
  delete copy;
  EXPECT_GE(armed.disarm(), 1);
}

TEST(Wipe, KeyRecordsWipeTheirSecretsWhenThePoolIsDestroyed) {
  const std::string long_secret = fake_secrets[2];   // heap buffer
  const std::string short_secret = "sk-tst-FAKE-9";  // inline (SSO) buffer
  auto pool = std::make_unique<kp::dynamic_pool>(
      kp::provider_info{"nvidia", "NVIDIA"},
      std::vector<kp::key_spec>{{"NVIDIA_API_KEY_1", long_secret}, {"NVIDIA_API_KEY_2", short_secret}});
  {
    auto l = pool->acquire();
    ASSERT_TRUE(l);
    pool->report(*l, kp::outcome::success());
    // Replace the records (rename: new records, the old ones stay until the
    // pool dies) so destruction frees several generations of records.
    pool->reload({{"NVIDIA_API_KEY_7", long_secret}, {"NVIDIA_API_KEY_8", short_secret}});
  }
  std::vector<std::string> needles{long_secret, short_secret};  // its temporaries die before arming
  armed_scope armed(std::move(needles));
  pool.reset();
  EXPECT_EQ(armed.disarm(), 0) << "a key record was freed with its secret still in memory (last: needle "
                               << wipe_probe::last_hit_needle << " in a block of " << wipe_probe::last_hit_block
                               << " bytes)";
}

/// The pool owns the key list reload() takes by value: the copies of
/// secrets it does not keep (keys that stay, or a list that fails
/// validation) must be wiped too, not just freed.
TEST(Wipe, ReloadWipesTheKeySpecsItConsumes) {
  const std::string secret = fake_secrets[3];
  kp::dynamic_pool pool({"openai", "OPENAI"}, {{"OPENAI_API_KEY_1", secret}});
  std::vector<kp::key_spec> same{{"OPENAI_API_KEY_1", secret}};                               // the key stays
  std::vector<kp::key_spec> bad{{"OPENAI_API_KEY_1", secret}, {"OPENAI_API_KEY_2", secret}};  // duplicate
  std::vector<std::string> needles{secret};
  armed_scope armed(std::move(needles));
  (void)pool.reload(std::move(same));
  EXPECT_THROW((void)pool.reload(std::move(bad)), kp::invalid_key_spec);
  EXPECT_EQ(armed.disarm(), 0) << "reload() freed a copy of a secret without wiping it (block of "
                               << wipe_probe::last_hit_block << " bytes)";
}

// ================================================================ leaks

/// A pool constructor that throws (unusable key list) must free everything
/// it allocated; found by LeakSanitizer in the ASan run.
TEST(Leaks, ThrowingPoolConstructorFreesEverything) {
  std::vector<kp::key_spec> bad{{"GROQ_API_KEY_1", "gsk_test_FAKE_leak_check_0001"},
                                {"GROQ_API_KEY_2", "gsk_test_FAKE_leak_check_0001"}};
  const long before = wipe_probe::live.load();
  try {
    kp::dynamic_pool p({"groq", "GROQ"}, bad);
    ADD_FAILURE() << "a duplicate key was accepted";
  } catch (const kp::invalid_key_spec&) {
  }
  EXPECT_EQ(wipe_probe::live.load(), before) << "blocks leaked by a throwing constructor";
}

}  // namespace

}  // namespace hardening_bad_input_test
