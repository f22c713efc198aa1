/// The failover client skips a provider that cannot express a request (an
/// encode_errc::unsupported feature) before taking any of its keys, and says
/// so in the result. Loopback servers; keys are obviously fake.

#include "support/client_fixtures.hpp"
#include "support/test_server.hpp"

#include <keypool/chain/chain.hpp>
#include <keypool/core/pool.hpp>
#include <keypool/http/client.hpp>
#include <keypool/providers/builtin.hpp>

#include <gtest/gtest.h>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace http_unsupported_test {
namespace {

namespace http = keypool::http;
namespace wire = keypool::wire;
namespace providers = keypool::providers;
using keypool::test::fast_options;
using keypool::test::keys;
using keypool::test::received_request;
using keypool::test::scripted_reply;
using keypool::test::test_server;

using anthropic_pool = keypool::basic_pool<providers::anthropic>;
using groq_pool = keypool::basic_pool<providers::groq>;

test_server groq_server() {
  return test_server([](const received_request&) {
    return scripted_reply::json(
        R"({"model":"m","choices":[{"message":{"content":"from groq"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1}})");
  });
}

test_server anthropic_server() {
  return test_server([](const received_request&) {
    return scripted_reply::json(
        R"({"content":[{"type":"text","text":"from claude"}],"model":"claude-test","stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}})");
  });
}

/// A request Anthropic cannot express: a seed.
wire::chat_request seeded() {
  wire::chat_request r;
  r.prompt = "hi";
  r.seed = 42;
  return r;
}

TEST(Unsupported, ProviderIsSkippedWithTheEncodersReason) {
  auto anthropic = anthropic_server();
  auto groq = groq_server();
  anthropic_pool ap(keys("ANTHROPIC", 1));
  groq_pool gp(keys("GROQ", 1));
  auto chain = keypool::make_chain(ap, gp);
  http::transport t(fast_options());
  http::client c(chain, t,
                 {{providers::anthropic::descriptor().with_base_url(anthropic.base_url() + "/v1"), {"claude-test"}},
                  {providers::groq::descriptor().with_base_url(groq.base_url() + "/openai/v1"), {"llama"}}});
  auto r = c.chat(seeded());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->provider, "groq");
  EXPECT_EQ(r->response.text, "from groq");
  ASSERT_EQ(r->skipped.size(), 1u);
  EXPECT_EQ(r->skipped[0].provider, "anthropic");
  EXPECT_EQ(r->skipped[0].reason, "anthropic: anthropic_messages: seed is not supported by this provider");
  ASSERT_EQ(r->attempts.size(), 1u);
  EXPECT_TRUE(anthropic.requests().empty());
  EXPECT_EQ(ap.snapshot().available(), 1u);  // its key was not taken

  // Without the seed Anthropic is first again.
  auto plain = seeded();
  plain.seed.reset();
  auto second = c.chat(plain);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->provider, "anthropic");
  EXPECT_TRUE(second->skipped.empty());
}

TEST(Unsupported, EveryProviderUnsupportedIsAStructuredError) {
  auto anthropic = anthropic_server();
  anthropic_pool ap(keys("ANTHROPIC", 2));
  auto chain = keypool::make_chain(ap);
  http::transport t(fast_options());
  http::client c(chain, t,
                 {{providers::anthropic::descriptor().with_base_url(anthropic.base_url() + "/v1"), {"claude-test"}}});
  auto r = c.chat(seeded());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::failover_errc::all_unavailable);
  EXPECT_NE(r.error().message.find("seed is not supported"), std::string::npos) << r.error().message;
  ASSERT_EQ(r.error().skipped.size(), 1u);
  EXPECT_TRUE(r.error().attempts.empty());
  EXPECT_TRUE(anthropic.requests().empty());
}

}  // namespace

}  // namespace http_unsupported_test
