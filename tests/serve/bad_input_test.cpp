// Bad input the edge suite does not cover: a 100 MB body is refused with
// 413 from its head, long before it could be read, and a client that
// drips its head a byte at a time is cut off at the header timeout.

#include "serve/support/gateway_fixture.hpp"

#include <keypool/core/pool.hpp>

#include <gtest/gtest.h>

#include <boost/asio/write.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <thread>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace serve_bad_input_test {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using keypool::test::openai_ok;
using keypool::test::received_request;
using keypool::test::scripted_reply;
namespace serve = keypool::serve;
namespace providers = keypool::providers;

using servers =
    keypool::test::gateway_over_servers<keypool::basic_pool<providers::groq>, keypool::basic_pool<providers::mistral>>;

scripted_reply ok_reply(const received_request&) { return scripted_reply::json(openai_ok); }

boost::beast::tcp_stream connect(asio::io_context& ioc, std::uint16_t port) {
  boost::beast::tcp_stream s(ioc);
  s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  return s;
}

/// Everything the gateway sends until it closes (or 10 s pass).
std::string read_until_closed(boost::beast::tcp_stream& s) {
  s.expires_after(10s);
  std::string out;
  char buf[4096];
  boost::system::error_code ec;
  while (!ec) out.append(buf, s.read_some(asio::buffer(buf), ec));
  return out;
}

TEST(GatewayBadInput, AHundredMegabyteBodyGets413FromItsHeadAndIsNotRead) {
  servers g(ok_reply, ok_reply);  // the default max_body, 32 MiB
  asio::io_context ioc;
  auto s = connect(ioc, g.port);
  constexpr std::size_t announced = 100u << 20;
  const std::string head =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(announced) + "\r\n\r\n";
  // The head and the first 64 KiB of the body, then nothing more: the
  // answer must come from the head alone.
  asio::write(
      s, asio::buffer(head + R"({"model":"auto","messages":[{"role":"user","content":")" + std::string(64 << 10, 'a')));
  const auto got = read_until_closed(s);
  EXPECT_EQ(got.rfind("HTTP/1.1 413", 0), 0u) << got.substr(0, 200);
  EXPECT_NE(got.find(std::to_string(serve::gateway_options{}.max_body) + " bytes"), std::string::npos) << got;
  EXPECT_TRUE(g.groq.requests().empty());
  EXPECT_TRUE(g.mistral.requests().empty());
}

TEST(GatewayBadInput, AClientDrippingItsHeadIsCutOffAtTheHeaderTimeout) {
  serve::gateway_options o;
  o.header_timeout = 300ms;
  servers g(ok_reply, ok_reply, o);
  asio::io_context ioc;
  auto s = connect(ioc, g.port);
  const std::string head =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
  // One byte every 50 ms: each byte arrives well within any per-read
  // timeout, but the whole head would take seconds. The gateway must
  // close the connection before it: a send then fails.
  std::size_t sent = 0;
  boost::system::error_code ec;
  for (; sent < head.size(); ++sent) {
    asio::write(s, asio::buffer(head.data() + sent, 1), ec);
    if (ec) break;
    std::this_thread::sleep_for(50ms);
  }
  const auto got = read_until_closed(s);
  EXPECT_LT(sent, head.size()) << "the whole head went through one byte at a time";
  EXPECT_EQ(got, "") << "a head that never completed was answered";
  EXPECT_TRUE(g.groq.requests().empty());
}

}  // namespace

}  // namespace serve_bad_input_test
