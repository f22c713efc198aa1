/// The whole stack against the mock provider fleet over real loopback HTTP:
/// the seed guide's scenarios (rotation, failover to key 2, the 60 s lockout
/// on a manual clock, the all-rate-limited and invalid-key messages), every
/// provider's error dialect through the classifier, faults, TLS, and a 429
/// storm in which no request is lost and the statistics add up.
/// Keys are the fleet's obviously fake ones.

#include <keypool/chain/chain.hpp>
#include <keypool/classify/classifier.hpp>
#include <keypool/clock/manual.hpp>
#include <keypool/core/pool.hpp>
#include <keypool/http/client.hpp>
#include <keypool/mock/fleet.hpp>
#include <keypool/providers/builtin.hpp>

#include <gtest/gtest.h>
#include <boost/asio/thread_pool.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <thread>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace integration_fleet_test {
namespace {

using namespace std::chrono_literals;
namespace http = keypool::http;
namespace mock = keypool::mock;
namespace wire = keypool::wire;
using keypool::outcome_kind;

using manual_pool = keypool::basic_pool<keypool::runtime_provider, keypool::policy::clock<keypool::clock::manual>>;

http::transport_options fast() {
  http::transport_options o;
  o.connect_timeout = 2s;
  o.read_timeout = 5s;
  o.total_timeout = 10s;
  o.proxy = http::proxy_options{};
  return o;
}

wire::chat_request vision() {
  wire::chat_request r;
  r.prompt = "What is in this picture?";
  r.images.push_back({std::string("\x89PNG\r\n\x1a\n fake image bytes", 25), "image/png"});
  r.max_tokens = 64;
  return r;
}

mock::provider_behavior provider(const char* id, std::vector<mock::key_behavior> keys) {
  mock::provider_behavior p;
  p.id = id;
  p.keys = std::move(keys);
  return p;
}

mock::fleet_config one(mock::provider_behavior p) {
  mock::fleet_config c;
  c.providers.push_back(std::move(p));
  c.threads = 1;
  return c;
}

manual_pool make_pool(const mock::fleet& f, const char* id, keypool::clock::manual clk) {
  manual_pool::options o;
  o.clock = std::move(clk);
  return manual_pool(f.descriptor(id).info(), f.key_specs(id), o);
}

// ---- the seed guide's scenarios ------------------------------------------------------

TEST(SeedScenarios, RoundRobinRotationOneTwoThreeOne) {
  keypool::clock::manual clk;
  mock::fleet f(one(provider("groq", mock::sample_keys("groq", 3))), mock::fleet_clock::from(clk));
  auto groq = make_pool(f, "groq", clk);
  auto chain = keypool::make_chain(groq);
  http::transport t(fast());
  http::client c(chain, t, {{f.descriptor("groq"), {"qwen/qwen3.6-27b"}}});
  std::vector<std::string> used;
  for (int i = 0; i < 4; ++i) {
    auto r = c.chat(vision());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->attempts.size(), 1u);
    used.push_back(r->key_variable);
    EXPECT_NE(r->response.text.find("1 image"), std::string::npos) << r->response.text;
  }
  EXPECT_EQ(used, (std::vector<std::string>{"GROQ_API_KEY_1", "GROQ_API_KEY_2", "GROQ_API_KEY_3", "GROQ_API_KEY_1"}));
  EXPECT_EQ(f.providers().stats("groq").successes, 4u);
  EXPECT_EQ(f.providers().stats("groq").images, 4u);
}

TEST(SeedScenarios, RateLimitedKeyFailsOverToKeyTwoThenSixtySecondLockout) {
  keypool::clock::manual clk;
  mock::fleet f(one(provider("nvidia", mock::sample_keys("nvidia", 2, 1))), mock::fleet_clock::from(clk));
  auto nv = make_pool(f, "nvidia", clk);
  auto chain = keypool::make_chain(nv);
  http::transport t(fast());
  http::client c(chain, t, {{f.descriptor("nvidia"), {"meta/llama-3.2-90b-vision-instruct"}}});

  ASSERT_TRUE(c.chat(vision()));  // key 1: its one request this minute
  f.providers().set_key_limit("nvidia", "NVIDIA_API_KEY_2", 10);
  ASSERT_TRUE(c.chat(vision()));  // key 2
  // Request -> Key 1 (rate limited) -> auto switch to Key 2.
  auto r = c.chat(vision());
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->attempts.size(), 2u);
  EXPECT_EQ(r->attempts[0].key_variable, "NVIDIA_API_KEY_1");
  EXPECT_EQ(r->attempts[0].status, 429u);
  EXPECT_EQ(r->attempts[0].outcome.kind, outcome_kind::rate_limited);
  EXPECT_EQ(r->attempts[1].key_variable, "NVIDIA_API_KEY_2");
  EXPECT_EQ(r->key_variable, "NVIDIA_API_KEY_2");

  // Key 1: rate limited at 10:00, available again at 10:01.
  auto snap = nv.snapshot();
  EXPECT_TRUE(snap.keys[0].rate_limited());
  ASSERT_TRUE(snap.keys[0].available_in);
  EXPECT_EQ(*snap.keys[0].available_in, 60s);

  clk.advance(59s);
  for (int i = 0; i < 3; ++i) {
    auto again = c.chat(vision());
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(again->attempts.size(), 1u);
    EXPECT_EQ(again->key_variable, "NVIDIA_API_KEY_2");  // key 1 still sits out
  }
  clk.advance(2s);  // 61 s: the lockout and the provider's window are over
  bool key1_back = false;
  for (int i = 0; i < 2; ++i) {
    auto back = c.chat(vision());
    ASSERT_TRUE(back) << back.error().message;
    key1_back = key1_back || back->key_variable == "NVIDIA_API_KEY_1";
  }
  EXPECT_TRUE(key1_back);
  EXPECT_TRUE(nv.snapshot().keys[0].available());
}

TEST(SeedScenarios, AllKeysRateLimitedSaysSoAndWhen) {
  keypool::clock::manual clk;
  mock::fleet f(one(provider("groq", mock::sample_keys("groq", 2, 1))), mock::fleet_clock::from(clk));
  auto groq = make_pool(f, "groq", clk);
  auto chain = keypool::make_chain(groq);
  http::transport t(fast());
  http::client c(chain, t, {{f.descriptor("groq"), {"qwen/qwen3.6-27b"}}});
  ASSERT_TRUE(c.chat(vision()));
  ASSERT_TRUE(c.chat(vision()));
  auto r = c.chat(vision());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::failover_errc::all_unavailable);
  EXPECT_NE(r.error().message.find("All GROQ API keys are rate limited"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("next available in"), std::string::npos) << r.error().message;
  ASSERT_TRUE(r.error().unavailable);
  ASSERT_TRUE(r.error().unavailable->next_available());
  EXPECT_LE(*r.error().unavailable->next_available(), 60s);
  EXPECT_EQ(r.error().attempts.size(), 2u);
  // Groq sends retry-after on its 429s; the classifier read it.
  for (const auto& a : r.error().attempts) EXPECT_TRUE(a.outcome.retry_after.has_value());
  // Nothing is sent while every key sits out.
  const auto sent = f.providers().stats("groq").requests;
  auto again = c.chat(vision());
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().attempts.empty());
  EXPECT_EQ(f.providers().stats("groq").requests, sent);
}

TEST(SeedScenarios, InvalidKeyMessageAndNoRetryOnIt) {
  keypool::clock::manual clk;
  auto keys = mock::sample_keys("mistral", 2);
  keys[0].state = mock::key_state::revoked;
  keys[1].state = mock::key_state::revoked;
  mock::fleet f(one(provider("mistral", keys)), mock::fleet_clock::from(clk));
  auto mi = make_pool(f, "mistral", clk);
  auto chain = keypool::make_chain(mi);
  http::transport t(fast());
  http::client c(chain, t, {{f.descriptor("mistral"), {"mistral-medium-latest"}}});
  auto r = c.chat(vision());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("All MISTRAL API keys are invalid"), std::string::npos) << r.error().message;
  for (const auto& k : mi.snapshot().keys) EXPECT_EQ(k.state_name(), "invalid");
  auto again = c.chat(vision());
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().attempts.empty());
  EXPECT_EQ(f.providers().stats("mistral").auth_errors, 2u);
}

TEST(SeedScenarios, FailoverAcrossProvidersOnOverloadAndBadKeys) {
  keypool::clock::manual clk;
  mock::fleet_config cfg;
  auto anthropic = provider("anthropic", mock::sample_keys("anthropic", 1));
  anthropic.overloaded = true;
  auto google = provider("google", mock::sample_keys("google", 1));
  google.keys[0].state = mock::key_state::revoked;
  cfg.providers = {anthropic, google, provider("zai", mock::sample_keys("zai", 1))};
  mock::fleet f(cfg, mock::fleet_clock::from(clk));
  auto a = make_pool(f, "anthropic", clk);
  auto g = make_pool(f, "google", clk);
  auto z = make_pool(f, "zai", clk);
  auto chain = keypool::make_chain(a, g, z);
  http::transport t(fast());
  http::client c(chain, t,
                 {{f.descriptor("anthropic"), {"claude-sonnet-4-6"}},
                  {f.descriptor("google"), {"gemini-2.5-flash"}},
                  {f.descriptor("zai"), {"glm-4.6v-flash"}}});
  auto r = c.chat(vision());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->provider, "zai");
  ASSERT_EQ(r->attempts.size(), 3u);
  EXPECT_EQ(r->attempts[0].status, 529u);
  EXPECT_EQ(r->attempts[0].outcome.kind, outcome_kind::transient);
  EXPECT_EQ(r->attempts[1].status, 400u);
  EXPECT_EQ(r->attempts[1].outcome.kind, outcome_kind::invalid_key);
  EXPECT_EQ(r->attempts[2].outcome.kind, outcome_kind::success);
  EXPECT_TRUE(a.snapshot().keys[0].available());  // overload is not the key's fault
  EXPECT_EQ(g.snapshot().keys[0].state_name(), "invalid");
}

// ---- every provider's dialect, through the classifier ---------------------------------

struct direct {
  const mock::fleet& f;
  http::transport& t;

  /// One request with `secret` (or none), classified as the client would.
  keypool::classify::classification send(const std::string& id, const std::string& secret, const std::string& model,
                                         bool bad_shape = false) {
    const auto d = f.descriptor(id);
    auto base = http::parse_url(d.base_url);
    EXPECT_TRUE(base);
    auto req = vision();
    req.model = model;
    wire::encode_result enc = [&] {
      if (d.wire == keypool::providers::wire_format::anthropic_messages) {
        wire::anthropic_messages::options o;
        o.base_path = base->target;
        return wire::anthropic_messages::encode(req, secret.empty() ? "x" : secret, o);
      }
      if (d.wire == keypool::providers::wire_format::gemini_generate_content) {
        wire::gemini_generate_content::options o;
        o.base_path = base->target;
        return wire::gemini_generate_content::encode(req, secret.empty() ? "x" : secret, o);
      }
      wire::openai_chat::options o;
      o.base_path = base->target;
      return wire::openai_chat::encode(req, secret.empty() ? "x" : secret, o);
    }();
    EXPECT_TRUE(enc);
    if (bad_shape) enc->body = R"({"model":")" + model + R"(","messages":[],"contents":[],"max_tokens":16})";
    auto hreq = http::make_request(*base, std::move(*enc));
    for (const auto& [n, v] : d.extra_headers) hreq.headers.set(n, v);
    if (secret.empty()) {
      hreq.headers.erase("Authorization");
      hreq.headers.erase("x-api-key");
      hreq.headers.erase("x-goog-api-key");
    }
    auto res = t.send(std::move(hreq));
    EXPECT_TRUE(res) << res.error().message;
    if (!res) return {};
    const http::response& rr = *res;
    // Never echo a secret back in full.
    if (!secret.empty()) {
      EXPECT_EQ(rr.body.find(secret), std::string::npos) << rr.body;
    }
    return keypool::classify::classify(
        d, static_cast<int>(rr.status), [&rr](std::string_view n) { return rr.header(n); }, rr.body,
        std::chrono::system_clock::now());
  }
};

TEST(FleetDialects, EachProviderAnswersAsTheClassifierExpects) {
  mock::fleet_config cfg;
  for (const char* id : {"zai", "nvidia", "groq", "mistral", "anthropic", "openai", "google"}) {
    auto p = provider(id, mock::sample_keys(id, 6));
    p.keys[1].state = mock::key_state::revoked;
    p.keys[2].state = mock::key_state::out_of_credit;
    p.keys[3].state = mock::key_state::forbidden;
    p.keys[4].per_minute = 1;
    p.keys[5].per_day = 1;
    p.retired = {"retired-model"};
    cfg.providers.push_back(std::move(p));
  }
  mock::fleet f(cfg);
  http::transport t(fast());
  direct d{f, t};
  for (const char* id : {"zai", "nvidia", "groq", "mistral", "anthropic", "openai", "google"}) {
    SCOPED_TRACE(id);
    const auto keys = f.key_specs(id);
    const std::string model = "some-model";
    auto kind = [&](const std::string& secret, const std::string& m = "some-model", bool bad = false) {
      return d.send(id, secret, m, bad).result.kind;
    };
    EXPECT_EQ(kind(keys[0].secret), outcome_kind::success);
    EXPECT_EQ(kind(keys[1].secret), outcome_kind::invalid_key);
    EXPECT_EQ(kind("unknown-" + keys[0].secret), outcome_kind::invalid_key);
    // Gemini's depleted credits are a 429 RESOURCE_EXHAUSTED, told apart by the message.
    EXPECT_EQ(kind(keys[2].secret), outcome_kind::out_of_credit);
    EXPECT_EQ(kind(keys[3].secret), outcome_kind::forbidden);
    EXPECT_EQ(kind(keys[4].secret), outcome_kind::success);
    const auto limited = d.send(id, keys[4].secret, model);
    EXPECT_EQ(limited.result.kind, outcome_kind::rate_limited) << limited.reason;
    // Providers that say how long: a hint within the 60 s window.
    const std::string sid(id);
    if (sid != "nvidia" && sid != "zai") {
      ASSERT_TRUE(limited.result.retry_after) << limited.reason;
      EXPECT_LE(*limited.result.retry_after, 60s);
    }
    EXPECT_EQ(kind(keys[5].secret), outcome_kind::success);
    const auto daily = d.send(id, keys[5].secret, model);
    const bool per_day_dialect = sid == "openai" || sid == "groq" || sid == "google" || sid == "zai";
    EXPECT_EQ(daily.result.kind, per_day_dialect ? outcome_kind::quota_exhausted : outcome_kind::rate_limited)
        << daily.reason;
    EXPECT_EQ(kind(keys[0].secret, "retired-model"), outcome_kind::model_unavailable);
    EXPECT_EQ(kind(keys[0].secret, model, true), outcome_kind::bad_request);
    // No key at all: the provider's missing-credential answer.
    const auto none = kind("");
    EXPECT_TRUE(none == outcome_kind::invalid_key || none == outcome_kind::forbidden) << to_string(none);
    f.providers().set_overloaded(id, true);
    EXPECT_EQ(kind(keys[0].secret), outcome_kind::transient);
    f.providers().set_overloaded(id, false);
    f.providers().fail_next(id, 1, 502);
    EXPECT_EQ(kind(keys[0].secret), outcome_kind::transient);
  }
}

TEST(FleetDialects, RateLimitHeadersInEachProvidersStyle) {
  mock::fleet_config cfg;
  for (const char* id : {"openai", "groq", "mistral", "anthropic"})
    cfg.providers.push_back(provider(id, mock::sample_keys(id, 1, 5)));
  mock::fleet f(cfg);
  http::transport t(fast());
  auto headers_of = [&](const std::string& id) {
    const auto d = f.descriptor(id);
    auto base = http::parse_url(d.base_url);
    auto req = vision();
    req.model = "m";
    wire::encode_result enc =
        d.wire == keypool::providers::wire_format::anthropic_messages
            ? wire::anthropic_messages::encode(req, f.key_specs(id)[0].secret, {base->target, "2023-06-01"})
            : wire::openai_chat::encode(req, f.key_specs(id)[0].secret, {base->target, {}, "max_tokens"});
    auto res = t.send(http::make_request(*base, std::move(*enc)));
    EXPECT_TRUE(res && res->status == 200);
    return *res;
  };
  auto o = headers_of("openai");
  EXPECT_EQ(o.header("x-ratelimit-limit-requests"), "5");
  EXPECT_EQ(o.header("x-ratelimit-remaining-requests"), "4");
  EXPECT_TRUE(o.header("x-ratelimit-reset-requests"));
  auto g = headers_of("groq");
  EXPECT_EQ(g.header("x-ratelimit-limit-requests"), "14400");  // Groq: per day
  auto m = headers_of("mistral");
  EXPECT_EQ(m.header("x-ratelimit-remaining-req-minute"), "4");
  auto a = headers_of("anthropic");
  EXPECT_EQ(a.header("anthropic-ratelimit-requests-limit"), "5");
  ASSERT_TRUE(a.header("anthropic-ratelimit-requests-reset"));
  EXPECT_EQ(a.header("anthropic-ratelimit-requests-reset")->back(), 'Z');
}

// ---- faults and TLS ---------------------------------------------------------------------

TEST(FleetFaults, BrokenAnswersFailOverToTheNextProvider) {
  using fault_setter = void (*)(mock::fault_config&);
  const std::vector<std::pair<const char*, fault_setter>> cases = {
      {"truncated", [](mock::fault_config& f) { f.truncate_rate = 1; }},
      {"malformed", [](mock::fault_config& f) { f.malformed_rate = 1; }},
      {"reset", [](mock::fault_config& f) { f.reset_rate = 1; }},
      {"stall",
       [](mock::fault_config& f) {
         f.stall_rate = 1;
         f.stall = 3s;
       }},
      {"5xx", [](mock::fault_config& f) { f.error_rate = 1; }},
  };
  for (const auto& [name, setter] : cases) {
    SCOPED_TRACE(name);
    mock::fleet_config cfg;
    auto bad = provider("openai", mock::sample_keys("openai", 2));
    setter(bad.faults);
    cfg.providers = {bad, provider("groq", mock::sample_keys("groq", 1))};
    mock::fleet f(cfg);
    keypool::dynamic_pool o(f.descriptor("openai").info(), f.key_specs("openai"));
    keypool::dynamic_pool g(f.descriptor("groq").info(), f.key_specs("groq"));
    auto chain = keypool::make_chain(o, g);
    auto opts = fast();
    opts.read_timeout = 500ms;  // shorter than the stall
    http::transport t(opts);
    http::client c(chain, t, {{f.descriptor("openai"), {"gpt-4o"}}, {f.descriptor("groq"), {"qwen/qwen3.6-27b"}}});
    auto r = c.chat(vision());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->provider, "groq");
    ASSERT_EQ(r->attempts.size(), 2u);
    EXPECT_EQ(r->attempts[0].outcome.kind, outcome_kind::transient) << r->attempts[0].reason;
    EXPECT_EQ(o.snapshot().available(), 2u);  // the provider's trouble locks no key
  }
}

TEST(FleetFaults, BurstsOfServerErrors) {
  auto p = provider("groq", mock::sample_keys("groq", 1));
  p.faults.burst_every = 4;
  p.faults.burst_length = 2;
  mock::fleet f(one(p));
  http::transport t(fast());
  direct d{f, t};
  std::vector<outcome_kind> kinds;
  for (int i = 0; i < 8; ++i) kinds.push_back(d.send("groq", f.key_specs("groq")[0].secret, "m").result.kind);
  using enum outcome_kind;
  EXPECT_EQ(kinds,
            (std::vector<outcome_kind>{success, success, success, transient, transient, success, success, transient}));
}

TEST(FleetTls, HttpsWithTheGeneratedCertificate) {
  auto cfg = one(provider("anthropic", mock::sample_keys("anthropic", 1)));
  cfg.tls = true;
  mock::fleet f(cfg);
  EXPECT_EQ(f.origin().rfind("https://localhost:", 0), 0u);
  keypool::dynamic_pool a(f.descriptor("anthropic").info(), f.key_specs("anthropic"));
  auto chain = keypool::make_chain(a);
  auto opts = fast();
  opts.tls.ca_pem = f.ca_pem();
  opts.tls.use_default_verify_paths = false;
  http::transport t(opts);
  http::client c(chain, t, {{f.descriptor("anthropic"), {"claude-haiku-4-5"}}});
  auto r = c.chat(vision());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->response.finish_reason, "end_turn");
  // Without trusting the generated CA the handshake fails.
  http::transport untrusting(fast());
  http::client c2(chain, untrusting, {{f.descriptor("anthropic"), {"claude-haiku-4-5"}}});
  auto bad = c2.chat(vision());
  ASSERT_FALSE(bad);
  ASSERT_FALSE(bad.error().attempts.empty());
  EXPECT_NE(bad.error().attempts[0].reason.find("tls_failed"), std::string::npos) << bad.error().attempts[0].reason;
}

// ---- the 429 storm --------------------------------------------------------------------------

TEST(Storm, ManyConcurrentRequestsNoneLostStatisticsAddUp) {
  keypool::clock::manual clk;
  mock::fleet_config cfg;
  cfg.threads = 2;
  auto groq = provider("groq", mock::sample_keys("groq", 5, 6));
  groq.latency = 2ms;
  groq.jitter = 3ms;
  auto nvidia = provider("nvidia", mock::sample_keys("nvidia", 3, 8));
  nvidia.latency = 1ms;
  nvidia.faults.error_rate = 0.05;
  cfg.providers = {groq, nvidia};
  mock::fleet f(cfg, mock::fleet_clock::from(clk));
  auto gp = make_pool(f, "groq", clk);
  auto np = make_pool(f, "nvidia", clk);
  auto chain = keypool::make_chain(gp, np);
  boost::asio::thread_pool io(2);
  http::transport t(io.get_executor(), fast());
  http::failover_options fo;
  fo.max_attempts = 16;
  http::client c(
      chain, t,
      {{f.descriptor("groq"), {"qwen/qwen3.6-27b"}}, {f.descriptor("nvidia"), {"meta/llama-3.2-90b-vision-instruct"}}},
      fo);

  constexpr int total = 200;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, ok = 0;
  std::map<http::failover_errc, int> errors;
  std::size_t attempts = 0, ok_attempts = 0;
  std::map<std::string, int> served;
  for (int i = 0; i < total; ++i)
    c.async_chat(vision(), [&](http::chat_outcome r) {
      std::lock_guard g(mu);
      ++done;
      if (r) {
        ++ok;
        ++served[r->provider];
        attempts += r->attempts.size();
        ++ok_attempts;
      } else {
        ++errors[r.error().code];
        attempts += r.error().attempts.size();
        EXPECT_FALSE(r.error().message.empty());
      }
      cv.notify_all();
    });
  {
    std::unique_lock lk(mu);
    ASSERT_TRUE(cv.wait_for(lk, 60s, [&] { return done == total; })) << "lost requests: " << total - done;
  }
  io.join();

  // Capacity this minute: 5 x 6 + 3 x 8 = 54 (minus injected 5xx).
  EXPECT_GT(ok, 30);
  EXPECT_LE(ok, 54);
  EXPECT_EQ(ok + errors[http::failover_errc::all_unavailable] + errors[http::failover_errc::attempts_exhausted] +
                errors[http::failover_errc::deadline_exceeded],
            total);
  EXPECT_GT(errors[http::failover_errc::all_unavailable], 0);

  // The pools' books, the client's attempts and the fleet's books agree.
  std::uint64_t leases = 0, successes = 0, reports = 0;
  for (const auto& s : chain.snapshot()) {
    leases += s.requests();
    successes += s.successes();
    reports += s.successes() + s.failures();
  }
  EXPECT_EQ(successes, static_cast<std::uint64_t>(ok));
  EXPECT_EQ(leases, reports);  // every lease was reported exactly once
  std::uint64_t fleet_requests = 0, fleet_ok = 0;
  for (const auto& s : f.providers().stats()) {
    fleet_requests += s.requests;
    fleet_ok += s.successes;
    EXPECT_EQ(s.requests, s.successes + s.rate_limited + s.quota_exhausted + s.auth_errors + s.credit_errors +
                              s.forbidden + s.overloaded + s.server_errors + s.bad_requests + s.model_errors + s.faults)
        << s.provider;
  }
  EXPECT_EQ(fleet_requests, attempts);  // every HTTP attempt reached the fleet once
  EXPECT_EQ(fleet_ok, static_cast<std::uint64_t>(ok));
  EXPECT_EQ(leases, attempts);
  EXPECT_EQ(served["groq"] + served["nvidia"], ok);
}

// ---- stop() ---------------------------------------------------------------------------------

/// A blocking loopback TCP connection (raw: the client must not reconnect).
struct raw_connection {
  int fd = -1;
  explicit raw_connection(std::uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;
  ~raw_connection() {
    if (fd >= 0) ::close(fd);
  }
  bool send(const std::string& s) const { return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == ssize_t(s.size()); }
  /// What arrives within `wait`: "timeout", "closed" (EOF or reset) or the bytes.
  std::string receive(std::chrono::milliseconds wait) const {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) == 0) return "timeout";
    char buf[16384];
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return "closed";
    return n < 0 ? "error" : std::string(buf, static_cast<std::size_t>(n));
  }
  /// Reads (and drops) whatever is left until EOF or reset: "closed", or
  /// "still open" after `wait`.
  std::string wait_closed(std::chrono::milliseconds wait) const {
    const auto until = std::chrono::steady_clock::now() + wait;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left <= 0ms) return "still open";
      const auto r = receive(left);
      if (r == "closed" || r == "error") return "closed";
      if (r == "timeout") return "still open";
    }
  }
};

std::string keep_alive_request(const mock::fleet& f) {
  const std::string body = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";
  return "POST " + f.providers().base_path("groq") + "/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
         "Authorization: Bearer " + f.key_specs("groq")[0].secret +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

/// A new connection after stop() is refused, or closed at once.
void expect_refused(std::uint16_t port) {
  raw_connection c(port);
  if (c.fd < 0) return;  // refused
  EXPECT_EQ(c.wait_closed(2s), "closed") << "a connection made after stop() was accepted and left open";
}

/// Oversized requests are answered as a provider's front end answers them,
/// 413 for the body and 431 for the head, then the connection is closed;
/// the handler never sees them, and a normal request still works after.
TEST(FleetFaults, OversizedRequestsGet413And431) {
  std::atomic<int> handled{0};
  mock::server_options o;
  o.threads = 1;
  o.max_body = 1024;
  o.max_header = 2048;
  mock::server srv(
      [&](const mock::incoming&) {
        ++handled;
        return mock::reply{};
      },
      o);
  auto to = http::transport_options{};
  to.proxy = http::proxy_options{};
  http::transport t(to);
  const std::string url = "http://127.0.0.1:" + std::to_string(srv.port()) + "/v1/chat/completions";

  auto big_body = t.send(http::bhttp::verb::post, url, {}, std::string(4096, 'x'));
  ASSERT_TRUE(big_body) << big_body.error().message;
  EXPECT_EQ(big_body->status, 413u);
  EXPECT_NE(big_body->body.find("Request Entity Too Large"), std::string::npos);

  http::bhttp::fields h;
  h.set("X-Padding", std::string(4096, 'p'));
  auto big_head = t.send(http::bhttp::verb::post, url, std::move(h), "{}");
  ASSERT_TRUE(big_head) << big_head.error().message;
  EXPECT_EQ(big_head->status, 431u);
  EXPECT_NE(big_head->body.find("Request Header Fields Too Large"), std::string::npos);
  EXPECT_EQ(handled.load(), 0);

  auto fine = t.send(http::bhttp::verb::post, url, {}, "{}");
  ASSERT_TRUE(fine) << fine.error().message;
  EXPECT_EQ(fine->status, 200u);
  EXPECT_EQ(handled.load(), 1);
  EXPECT_EQ(srv.connections_accepted(), 3u);  // each refusal closed its connection
}

TEST(FleetStop, DropsOpenConnectionsAndRefusesNewOnes) {
  mock::fleet f(one(provider("groq", mock::sample_keys("groq", 1))));
  const auto port = f.port();
  raw_connection idle(port);  // connected, never sends
  raw_connection keep(port);  // one answered request, then idle on keep-alive
  ASSERT_GE(idle.fd, 0);
  ASSERT_GE(keep.fd, 0);
  ASSERT_TRUE(keep.send(keep_alive_request(f)));
  EXPECT_EQ(keep.receive(5s).rfind("HTTP/1.1 200", 0), 0u);
  ASSERT_EQ(f.http_server().connections_accepted(), 2u);

  const auto start = std::chrono::steady_clock::now();
  f.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(keep.wait_closed(2s), "closed");
  EXPECT_EQ(idle.wait_closed(2s), "closed");
  expect_refused(port);
  EXPECT_EQ(f.providers().stats("groq").requests, 1u);  // still readable
  f.stop();                                             // again: a no-op; the destructor too
}

TEST(FleetStop, DropsConnectionsWaitingForTheTlsHandshake) {
  auto cfg = one(provider("groq", mock::sample_keys("groq", 1)));
  cfg.tls = true;
  mock::fleet f(cfg);
  raw_connection c(f.port());  // TCP only: the server waits for a ClientHello
  ASSERT_GE(c.fd, 0);
  for (int i = 0; i < 200 && f.http_server().connections_accepted() == 0; ++i) std::this_thread::sleep_for(10ms);
  f.stop();
  EXPECT_EQ(c.wait_closed(2s), "closed");
  expect_refused(f.port());
}

TEST(FleetStop, WhileClientsKeepConnectingNothingHangs) {
  auto cfg = one(provider("groq", mock::sample_keys("groq", 1)));
  cfg.threads = 2;
  auto f = std::make_unique<mock::fleet>(cfg);
  const auto port = f->port();
  const auto request = keep_alive_request(*f);
  std::atomic<bool> stopped{false};
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&] {
      // Each client ends within a few seconds of stop(): every read gets an
      // answer or EOF, never a timeout.
      while (!stopped.load()) {
        raw_connection c(port);
        if (c.fd < 0) continue;
        for (int i = 0; i < 3; ++i) {
          if (!c.send(request)) break;
          const auto r = c.receive(5s);
          EXPECT_NE(r, "timeout");
          if (r.rfind("HTTP/1.1", 0) != 0) break;
          ++answered;
        }
      }
    });
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (answered.load() < 20 && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(1ms);
  EXPECT_GE(answered.load(), 20);
  f->stop();
  stopped = true;
  for (auto& c : clients) c.join();
  f.reset();  // destruction after stop()
}

}  // namespace

}  // namespace integration_fleet_test
