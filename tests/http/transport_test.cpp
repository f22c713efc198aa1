/// Transport, TLS and wire round trips against the loopback test server.
/// Every key in here is obviously fake.

#include "support/test_certs.hpp"
#include "support/test_server.hpp"

#include <keypool/http/detail/request_head.hpp>
#include <keypool/http/transport.hpp>
#include <keypool/http/wire_request.hpp>
#include <keypool/wire/anthropic_messages.hpp>
#include <keypool/wire/base64.hpp>
#include <keypool/wire/gemini_generate_content.hpp>
#include <keypool/wire/openai_chat.hpp>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <stdexcept>
#include <thread>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace http_transport_test {
namespace {

using namespace std::chrono_literals;
namespace http = keypool::http;
namespace wire = keypool::wire;
namespace json = boost::json;
using http::bhttp::verb;
using keypool::test::received_request;
using keypool::test::scripted_reply;
using keypool::test::test_server;

constexpr const char* fake_key = "test-FAKE-key-not-real-0000";

http::transport_options fast_options() {
  http::transport_options o;
  o.connect_timeout = 2s;
  o.read_timeout = 5s;
  o.total_timeout = 10s;
  o.proxy = http::proxy_options{};  // never pick up a proxy from the test environment
  return o;
}

std::string ok_body() { return R"({"ok":true})"; }

/// A tiny image with every byte value: base64 must survive all of them.
std::string test_image() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

wire::chat_request vision_request(std::string model) {
  wire::chat_request r;
  r.model = std::move(model);
  r.prompt = "What is in this picture? \"quoted\" \xC3\xA9";
  r.images.push_back({test_image(), "image/png"});
  r.max_tokens = 321;
  r.temperature = 0.25;
  return r;
}

http::url origin_of(const test_server& s) { return http::parse_url(s.base_url()).value(); }

// ---------------------------------------------------------------- plain http rules

TEST(Transport, PlainHttpToNonLoopbackIsRefusedBeforeAnyIo) {
  http::transport t(fast_options());
  for (const char* u :
       {"http://example.com/v1", "http://10.1.2.3:8080/", "http://[2001:db8::1]/", "http://127.0.0.1.example.com/"}) {
    auto r = t.send(verb::get, u);
    ASSERT_FALSE(r) << u;
    EXPECT_EQ(r.error().code, http::errc::insecure_http_refused) << u;
    EXPECT_NE(r.error().message.find("refused"), std::string::npos);
  }
  EXPECT_EQ(t.stats().opened, 0u);
}

TEST(Transport, InvalidUrlIsATypedError) {
  http::transport t(fast_options());
  auto r = t.send(verb::get, "ftp://x/");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::errc::invalid_url);
}

TEST(Transport, ConnectionRefusedNamesHostAndPort) {
  // Bind then close a port: nothing listens there afterwards.
  std::uint16_t port;
  {
    test_server s([](const received_request&) { return scripted_reply{}; });
    port = s.port();
  }
  http::transport t(fast_options());
  http::request req;
  req.url = http::parse_url("http://127.0.0.1:" + std::to_string(port) + "/").value();
  req.headers.set(http::bhttp::field::authorization, std::string("Bearer ") + fake_key);
  auto r = t.send(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::errc::connect_failed);
  EXPECT_NE(r.error().message.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find(fake_key), std::string::npos);
  EXPECT_TRUE(r.error().before_request_sent());
}

// ---------------------------------------------------------------- keep-alive pool

TEST(Transport, KeepAliveReusesOneConnection) {
  test_server s([](const received_request&) { return scripted_reply::json(ok_body()); });
  http::transport t(fast_options());
  for (int i = 0; i < 5; ++i) {
    auto r = t.send(verb::get, s.base_url() + "/ping");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 200u);
    EXPECT_EQ(r->reused_connection, i > 0);
  }
  EXPECT_EQ(s.connections_accepted(), 1u);
  EXPECT_EQ(t.stats().opened, 1u);
  EXPECT_EQ(t.stats().reused, 4u);
  for (const auto& rq : s.requests()) EXPECT_EQ(rq.connection, 1u);
}

TEST(Transport, ConnectionCloseIsHonoured) {
  test_server s([](const received_request&) {
    auto r = scripted_reply::json(ok_body());
    r.close = true;
    return r;
  });
  http::transport t(fast_options());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(t.send(verb::get, s.base_url() + "/"));
  EXPECT_EQ(s.connections_accepted(), 3u);
  EXPECT_EQ(t.stats().idle, 0u);
}

TEST(Transport, StaleKeptAliveConnectionIsRetriedOnce) {
  // The reply claims keep-alive, then the server drops the connection: the
  // next request finds it dead before any byte and must go to a new one.
  test_server s([](const received_request&) {
    scripted_reply r;
    r.raw = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    r.close = true;
    return r;
  });
  http::transport t(fast_options());
  for (int i = 0; i < 3; ++i) {
    auto r = t.send(verb::post, s.base_url() + "/x", {}, "{}");
    ASSERT_TRUE(r) << i << ": " << r.error().message;
    EXPECT_EQ(r->body, "{}");
  }
  EXPECT_EQ(s.requests().size(), 3u);
}

TEST(Transport, InterimResponsesAreSkippedNotTakenAsTheAnswer) {
  // A 1xx (103 Early Hints) before the real answer: taken as final, it left
  // the 200 buffered and handed it to the next request on the connection.
  std::atomic<int> n{0};
  test_server s([&](const received_request& rq) {
    const int i = n++;
    scripted_reply r;
    if (i == 0) {
      r.raw =
          "HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n"
          "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst";
    } else if (i == 1) {  // streamed, after two interim responses
      r.raw =
          "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n"
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nstream\r\n0\r\n\r\n";
    } else {
      r = scripted_reply::json("\"" + rq.target + "\"");
    }
    return r;
  });
  http::transport t(fast_options());
  auto r1 = t.send(verb::get, s.base_url() + "/a");
  ASSERT_TRUE(r1) << r1.error().message;
  EXPECT_EQ(r1->status, 200u);
  EXPECT_EQ(r1->body, "first");
  http::request streamed;
  streamed.method = verb::get;
  streamed.url = origin_of(s);
  std::string pieces;
  streamed.on_body = [&](std::string_view p) {
    pieces += p;
    return true;
  };
  auto r2 = t.send(streamed);
  ASSERT_TRUE(r2) << r2.error().message;
  EXPECT_EQ(r2->status, 200u);
  EXPECT_EQ(pieces, "stream");
  auto r3 = t.send(verb::get, s.base_url() + "/c");
  ASSERT_TRUE(r3) << r3.error().message;
  EXPECT_EQ(r3->body, "\"/c\"");
  EXPECT_EQ(s.connections_accepted(), 1u);
}

TEST(Transport, BytesLeftAfterAResponseCloseTheConnection) {
  // The client never pipelines: bytes after a complete response are garbage
  // and must not be read as the next request's answer.
  std::atomic<int> n{0};
  test_server s([&](const received_request& rq) {
    scripted_reply r;
    if (n++ == 0)
      r.raw = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirstHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nbogus";
    else
      r = scripted_reply::json("\"" + rq.target + "\"");
    return r;
  });
  http::transport t(fast_options());
  auto r1 = t.send(verb::get, s.base_url() + "/a");
  ASSERT_TRUE(r1) << r1.error().message;
  EXPECT_EQ(r1->body, "first");
  EXPECT_EQ(t.stats().idle, 0u);
  auto r2 = t.send(verb::get, s.base_url() + "/b");
  ASSERT_TRUE(r2) << r2.error().message;
  EXPECT_EQ(r2->body, "\"/b\"");
  EXPECT_FALSE(r2->reused_connection);
}

TEST(Transport, BodyEndingAtEofIsNotKeptAlive) {
  // HTTP/1.1 without Content-Length or chunking: the body ends when the
  // server closes, so the connection is dead once the response is read.
  std::atomic<int> n{0};
  test_server s([&](const received_request&) {
    scripted_reply r;
    if (n++ == 0) {
      r.raw = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello";
      r.close = true;
    } else {
      r = scripted_reply::json(ok_body());
    }
    return r;
  });
  http::transport t(fast_options());
  auto r1 = t.send(verb::get, s.base_url() + "/a");
  ASSERT_TRUE(r1) << r1.error().message;
  EXPECT_EQ(r1->body, "hello");
  EXPECT_EQ(t.stats().idle, 0u);
  EXPECT_EQ(t.stats().open, 0u);
  auto r2 = t.send(verb::get, s.base_url() + "/b");
  ASSERT_TRUE(r2) << r2.error().message;
  EXPECT_FALSE(r2->reused_connection);
  EXPECT_EQ(s.requests().size(), 2u);  // no attempt wasted on the dead connection
}

TEST(Transport, ThrowingBodySinkGivesBackItsConnectionSlot) {
  // With a cap of one, a leaked slot would leave every later request
  // waiting for pool_exhausted.
  test_server s([](const received_request& rq) {
    if (rq.target == "/stream") {
      scripted_reply r;
      r.chunks = {"data: a\n\n", "data: b\n\n"};
      return r;
    }
    return scripted_reply::json(ok_body());
  });
  auto o = fast_options();
  o.pool.max_connections_per_host = 1;
  http::transport t(o);
  for (int i = 0; i < 2; ++i) {
    http::request req;
    req.method = verb::get;
    req.url = origin_of(s);
    req.url.target = "/stream";
    req.on_body = [](std::string_view) -> bool { throw std::runtime_error("consumer failed"); };
    auto r = t.send(std::move(req));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, http::errc::internal);
    EXPECT_NE(r.error().message.find("consumer failed"), std::string::npos) << r.error().message;
    EXPECT_EQ(t.stats().open, 0u);
  }
  http::request plain;
  plain.method = verb::get;
  plain.url = origin_of(s);
  plain.deadline = std::chrono::steady_clock::now() + 1s;
  auto r = t.send(std::move(plain));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, ok_body());
}

TEST(Transport, PerHostCapLimitsConcurrentConnections) {
  test_server s([](const received_request&) {
    auto r = scripted_reply::json(ok_body());
    r.delay = 50ms;
    return r;
  });
  auto o = fast_options();
  o.pool.max_connections_per_host = 2;
  http::transport t(o);
  std::vector<std::future<http::result<http::response>>> fs;
  for (int i = 0; i < 8; ++i) {
    http::request req;
    req.method = verb::get;
    req.url = origin_of(s);
    fs.push_back(t.async_send(std::move(req), boost::asio::use_future));
  }
  for (auto& f : fs) {
    auto r = f.get();
    ASSERT_TRUE(r) << r.error().message;
  }
  EXPECT_LE(s.connections_accepted(), 2u);
  EXPECT_GE(t.stats().waited, 1u);
}

TEST(Transport, SharedByManyThreadsOnAMultiThreadedIoContext) {
  test_server s([](const received_request& rq) {
    auto r = scripted_reply::json("\"" + rq.target + "\"");
    r.delay = 2ms;
    return r;
  });
  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);
  std::vector<std::thread> io_threads;
  for (int i = 0; i < 2; ++i) io_threads.emplace_back([&] { ioc.run(); });
  {
    auto o = fast_options();
    o.pool.max_connections_per_host = 3;
    http::transport t(ioc.get_executor(), o);
    std::atomic<int> ok{0};
    std::vector<std::thread> callers;
    for (int c = 0; c < 4; ++c)
      callers.emplace_back([&, c] {
        for (int i = 0; i < 25; ++i) {
          const std::string path = "/t" + std::to_string(c) + "/" + std::to_string(i);
          auto r = t.send(verb::get, s.base_url() + path);
          if (r && r->body == "\"" + path + "\"") ++ok;
        }
      });
    for (auto& th : callers) th.join();
    EXPECT_EQ(ok.load(), 100);
    EXPECT_LE(s.connections_accepted(), 3u);
    EXPECT_EQ(t.stats().opened, s.connections_accepted());
  }
  work.reset();
  for (auto& th : io_threads) th.join();
}

// ---------------------------------------------------------------- deadlines and limits

TEST(Transport, ReadDeadline) {
  test_server s([](const received_request&) {
    auto r = scripted_reply::json(ok_body());
    r.delay = 3s;
    return r;
  });
  auto o = fast_options();
  o.read_timeout = 200ms;
  http::transport t(o);
  const auto start = std::chrono::steady_clock::now();
  auto r = t.send(verb::get, s.base_url() + "/slow");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::errc::timeout);
  EXPECT_NE(r.error().message.find("read timeout"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("127.0.0.1:"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(Transport, TotalDeadlineBeatsReadTimeout) {
  test_server s([](const received_request&) {
    auto r = scripted_reply::json(ok_body());
    r.delay = 3s;
    return r;
  });
  auto o = fast_options();
  o.total_timeout = 300ms;
  http::transport t(o);
  auto r = t.send(verb::get, s.base_url() + "/slow");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::errc::timeout);
  EXPECT_NE(r.error().message.find("total deadline"), std::string::npos) << r.error().message;
}

// One timer keeps every request's read deadline (detail::deadline_watch).
// Times in the past fire at once: no test here sleeps.

struct watch_fixture {
  using clock = std::chrono::steady_clock;
  boost::asio::io_context ioc;
  std::shared_ptr<int> owner = std::make_shared<int>(0);
  http::detail::deadline_watch watch{ioc.get_executor()};
  watch_fixture() { watch.set_owner(owner); }
  std::unique_ptr<http::connection> open_connection() {
    auto c = std::make_unique<http::connection>(http::host_key{http::scheme::http, "127.0.0.1", 1}, ioc.get_executor(),
                                                nullptr, 1);
    c->tcp().socket().open(boost::asio::ip::tcp::v4());
    return c;
  }
};

TEST(DeadlineWatch, ArmsOnlyForADeadlineEarlierThanTheArmedOne) {
  watch_fixture f;
  auto c = f.open_connection();
  const auto now = watch_fixture::clock::now();
  using entry = http::detail::deadline_watch::entry;
  entry a(f.watch, *c, now + 10min);
  EXPECT_EQ(f.watch.arms(), 1u);
  EXPECT_EQ(f.watch.armed_for(), now + 10min);
  {
    entry later(f.watch, *c, now + 20min);  // the usual case: no re-arm
    EXPECT_EQ(f.watch.arms(), 1u);
    entry earlier(f.watch, *c, now + 5min);
    EXPECT_EQ(f.watch.arms(), 2u);
    EXPECT_EQ(f.watch.armed_for(), now + 5min);
    EXPECT_EQ(f.watch.size(), 3u);
    later.reset(now + 1min);  // a stream's inactivity deadline moves earlier
    EXPECT_EQ(f.watch.arms(), 3u);
    EXPECT_EQ(f.watch.armed_for(), now + 1min);
  }
  EXPECT_EQ(f.watch.size(), 1u);
  f.ioc.poll();
  EXPECT_FALSE(a.expired());
  EXPECT_TRUE(c->tcp().socket().is_open());
}

TEST(DeadlineWatch, ClosesOnlyTheConnectionsWhoseDeadlinePassed) {
  watch_fixture f;
  auto late = f.open_connection(), on_time = f.open_connection();
  const auto now = watch_fixture::clock::now();
  using entry = http::detail::deadline_watch::entry;
  entry keep(f.watch, *on_time, now + 1h);
  entry gone(f.watch, *late, now - 1ms);
  while (!gone.expired() && f.ioc.run_one() != 0) {
  }
  EXPECT_TRUE(gone.expired());
  EXPECT_FALSE(late->tcp().socket().is_open());
  EXPECT_FALSE(keep.expired());
  EXPECT_TRUE(on_time->tcp().socket().is_open());
  // Re-armed for the one left.
  EXPECT_EQ(f.watch.armed_for(), now + 1h);
}

TEST(DeadlineWatch, StopsWaitingWhenTheLastRequestEnds) {
  watch_fixture f;
  auto c = f.open_connection();
  const auto now = watch_fixture::clock::now();
  { http::detail::deadline_watch::entry e(f.watch, *c, now + 1h); }
  // A wait left pending would keep run() from returning for an hour.
  f.ioc.poll();
  EXPECT_EQ(f.watch.armed_for(), watch_fixture::clock::time_point::max());
  EXPECT_TRUE(f.ioc.stopped());
}

TEST(DeadlineWatch, TheNextRequestReusesTheArmedTimer) {
  watch_fixture f;
  auto c = f.open_connection();
  const auto now = watch_fixture::clock::now();
  using entry = http::detail::deadline_watch::entry;
  { entry first(f.watch, *c, now + 1h); }
  // Before the posted check runs, as when one coroutine sends request after
  // request: the timer armed for the first serves the second.
  entry second(f.watch, *c, now + 1h + 1ms);
  f.ioc.poll();
  EXPECT_EQ(f.watch.arms(), 1u);
  EXPECT_EQ(f.watch.armed_for(), now + 1h);
  EXPECT_FALSE(f.ioc.stopped());
}

TEST(DeadlineWatch, AHandlerAfterItsOwnerIsGoneDoesNothing) {
  watch_fixture f;
  auto c = f.open_connection();
  http::detail::deadline_watch::entry e(f.watch, *c, watch_fixture::clock::now() - 1ms);
  f.owner.reset();  // the transport is going away with the wait's handler queued
  f.ioc.poll();
  EXPECT_FALSE(e.expired());
  EXPECT_TRUE(c->tcp().socket().is_open());
}

/// The transport's requests on an application's io_context leave nothing
/// behind: run() returns as soon as the last answer is in, whatever the
/// deadlines.
TEST(Transport, LeavesNoTimerPendingAfterItsRequests) {
  test_server s([](const received_request&) { return scripted_reply::json(ok_body()); });
  boost::asio::io_context ioc;
  auto o = fast_options();
  o.read_timeout = 1h;
  o.total_timeout = 2h;
  http::transport t(ioc.get_executor(), o);
  int answered = 0;
  std::function<void()> send_next = [&] {
    http::request r;
    r.method = verb::get;
    r.url = origin_of(s);
    r.url.target = "/x";
    t.async_send(std::move(r), [&](http::result<http::response> res) {
      EXPECT_TRUE(res) << (res ? "" : res.error().message);
      if (++answered < 3) send_next();
    });
  };
  send_next();
  while (answered < 3 && ioc.run_one() != 0) {
  }
  ASSERT_EQ(answered, 3);
  ioc.poll();
  EXPECT_TRUE(ioc.stopped());
}

TEST(Transport, MaxDurationsMeanNoLimit) {
  // now + milliseconds::max() overflowed into the past: every request
  // failed at once.
  test_server s([](const received_request&) {
    scripted_reply r;
    r.chunks = {"data: 1\n\n", "data: 2\n\n"};
    return r;
  });
  auto o = fast_options();
  o.connect_timeout = std::chrono::milliseconds::max();
  o.read_timeout = std::chrono::milliseconds::max();
  o.total_timeout = std::chrono::milliseconds::max();
  o.pool.idle_timeout = std::chrono::milliseconds::max();
  http::transport t(o);
  for (int i = 0; i < 2; ++i) {
    auto r = t.send(verb::get, s.base_url() + "/");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->body, "data: 1\n\ndata: 2\n\n");
    EXPECT_EQ(r->reused_connection, i > 0);  // idle_timeout max(): kept
  }
  http::request streamed;
  streamed.method = verb::get;
  streamed.url = origin_of(s);
  streamed.deadline = std::chrono::steady_clock::time_point::max();
  streamed.on_body = [](std::string_view) { return true; };
  auto r = t.send(streamed);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200u);
}

TEST(Transport, StreamTimeoutNamesTheDeadlineThatFired) {
  // The gaps (100 ms) never reach the read timeout (600 ms); the request's
  // deadline (900 ms) ends the stream and the message must say so.
  test_server s([](const received_request&) {
    scripted_reply r;
    for (int i = 0; i < 20; ++i) r.chunks.push_back("data: x\n\n");
    r.chunk_delay = 100ms;
    return r;
  });
  auto o = fast_options();
  o.read_timeout = 600ms;
  http::transport t(o);
  http::request req;
  req.method = verb::get;
  req.url = origin_of(s);
  req.deadline = std::chrono::steady_clock::now() + 900ms;
  req.on_body = [](std::string_view) { return true; };
  auto r = t.send(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::errc::timeout);
  EXPECT_NE(r.error().message.find("total deadline"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("read timeout"), std::string::npos) << r.error().message;
}

TEST(Transport, ConnectDeadlineCoversTheTlsHandshake) {
  keypool::test::server_options so;
  so.stall = true;  // accepts TCP, never answers the ClientHello
  test_server s([](const received_request&) { return scripted_reply{}; }, so);
  auto o = fast_options();
  o.connect_timeout = 200ms;
  http::transport t(o);
  const auto start = std::chrono::steady_clock::now();
  auto r = t.send(verb::get, "https://localhost:" + std::to_string(s.port()) + "/");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::errc::timeout);
  EXPECT_NE(r.error().message.find("TLS handshake with localhost:"), std::string::npos) << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(Transport, OversizedBodyIsRejected) {
  test_server s([](const received_request&) { return scripted_reply::json(std::string(5000, 'x')); });
  auto o = fast_options();
  o.max_response_bytes = 1000;
  http::transport t(o);
  auto r = t.send(verb::get, s.base_url() + "/big");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::errc::body_too_large);
  EXPECT_NE(r.error().message.find("1000 bytes"), std::string::npos) << r.error().message;
}

/// max_response_bytes bounds what is held in memory: a streamed answer goes
/// to the sink piece by piece, so a long one is not cut at the limit; the
/// same bytes collected whole still are.
TEST(Transport, StreamedBodyIsNotCappedByTheResponseLimit) {
  const std::string piece(300, 'x');
  test_server s([&](const received_request& rq) {
    if (rq.target == "/sized") return scripted_reply::json(std::string(3000, 'y'));
    scripted_reply r;
    r.chunks.assign(10, piece);
    return r;
  });
  auto o = fast_options();
  o.max_response_bytes = 1000;
  http::transport t(o);
  auto make = [&](std::string target, std::size_t& got) {
    http::request req;
    req.method = verb::get;
    req.url = origin_of(s);
    req.url.target = std::move(target);
    req.on_body = [&got](std::string_view bytes) {
      got += bytes.size();
      return true;
    };
    return req;
  };
  std::size_t streamed = 0;
  auto r = t.send(make("/stream", streamed));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(streamed, 3000u);
  // Collected whole, the same answer is too large.
  auto whole = t.send(verb::get, s.base_url() + "/stream");
  ASSERT_FALSE(whole);
  EXPECT_EQ(whole.error().code, http::errc::body_too_large);
  // A Content-Length beyond the limit is refused before the body: Beast's
  // string body would reserve all of it at once.
  std::size_t sized = 0;
  auto big = t.send(make("/sized", sized));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, http::errc::body_too_large);
  EXPECT_EQ(sized, 0u);
}

/// The header check reads eight bytes at a time: CR, LF and NUL must be
/// found at every position of every length, and the other control bytes
/// (a tab is legal) must not be mistaken for them.
TEST(Transport, HeaderCheckFindsCrLfNulAtEveryPosition) {
  for (std::size_t len = 0; len <= 40; ++len) {
    std::string plain(len, 'a'), controls(len, 'a');
    for (std::size_t i = 0; i < len; ++i)
      controls[i] = static_cast<char>(i % 3 == 0 ? '\t' : (i % 3 == 1 ? 0x0b : 0x7f));
    for (const auto& v : {plain, controls}) {
      EXPECT_FALSE(http::detail::has_cr_lf_nul(v)) << len;
      for (std::size_t at = 0; at < len; ++at)
        for (const char c : {'\r', '\n', '\0'}) {
          std::string w = v;
          w[at] = c;
          EXPECT_TRUE(http::detail::has_cr_lf_nul(w)) << "length " << len << ", at " << at << ", byte " << int(c);
        }
    }
  }
  // End to end: refused before any byte is written.
  test_server s([](const received_request&) { return scripted_reply::json(ok_body()); });
  http::transport t(fast_options());
  http::bhttp::fields h;
  h.set("X-Long", std::string(21, 'x') + "\r\nX-Injected: yes");
  auto r = t.send(verb::post, s.base_url() + "/", std::move(h), "{}");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::errc::invalid_request);
  EXPECT_TRUE(s.requests().empty());
}

/// A field name is written verbatim before ": ", so anything but a token
/// (RFC 9110) could rewrite the head: refused before any byte is sent, and
/// the name is not quoted back.
TEST(RequestHead, FieldNamesMustBeTokens) {
  EXPECT_TRUE(http::detail::is_field_name("Authorization"));
  EXPECT_TRUE(http::detail::is_field_name("x-goog-api-key"));
  EXPECT_TRUE(http::detail::is_field_name("!#$%&'*+-.^_`|~09azAZ"));
  for (const std::string_view bad :
       {"", "X Evil", "X:Evil", "X\tEvil", "(X)", "X\"", "X/Y", "X@", "X{}", "\x7f", "\xc3\xa9"})
    EXPECT_FALSE(http::detail::is_field_name(bad)) << bad;

  test_server s([](const received_request&) { return scripted_reply::json(ok_body()); });
  http::transport t(fast_options());
  for (const std::string& bad_name :
       {std::string("X-Evil: 1\r\nX-Other"), std::string("Host Header"), std::string("X:Y"), std::string()}) {
    http::bhttp::fields h;
    h.insert(bad_name, "v");
    auto r = t.send(verb::post, s.base_url() + "/", std::move(h), "{}");
    ASSERT_FALSE(r) << bad_name;
    EXPECT_EQ(r.error().code, http::errc::invalid_request) << bad_name;
    EXPECT_EQ(r.error().message.find("Evil"), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(s.requests().size(), 0u);
}

/// The request head is written by hand (detail::request_head), not by
/// Beast's serializer: Beast's own parser must read it back as the request
/// meant, for every method and body shape, with the transport's framing
/// fields replacing the caller's.
TEST(RequestHead, ParsesBackAsTheRequestMeant) {
  struct shape {
    verb method;
    std::string body;
    bool length_expected;
  };
  const shape shapes[] = {
      {verb::post, R"({"a":1})", true}, {verb::post, "", true},     {verb::get, "", false},   {verb::put, "", true},
      {verb::head, "", false},          {verb::delete_, "x", true}, {verb::options, "", true}};
  for (const auto& sh : shapes) {
    for (const bool own_agent : {false, true}) {
      http::bhttp::fields f;
      f.set(http::bhttp::field::authorization, "Bearer test-FAKE");
      f.insert("x-custom-one", "1");
      f.insert("X-Custom-Two", "two words");
      // Framing is the transport's: these four must not reach the wire.
      f.set(http::bhttp::field::host, "wrong.example");
      f.set(http::bhttp::field::content_length, "999");
      f.set(http::bhttp::field::transfer_encoding, "chunked");
      f.set(http::bhttp::field::connection, "close");
      if (own_agent) f.set(http::bhttp::field::user_agent, "caller/2");
      const std::string head =
          http::detail::request_head(sh.method, "/v1/x?q=1", "api.example:8443", "keypool/test", f, sh.body.size());
      const std::string label = std::string(http::bhttp::to_string(sh.method)) + (own_agent ? " +agent" : "");

      http::bhttp::request_parser<http::bhttp::string_body> p;
      p.eager(true);
      boost::system::error_code ec;
      const std::string wire = head + sh.body;
      const auto used = p.put(boost::asio::buffer(wire), ec);
      ASSERT_FALSE(ec) << label << ": " << ec.message();
      ASSERT_TRUE(p.is_done()) << label;
      EXPECT_EQ(used, wire.size()) << label;
      const auto& m = p.get();
      EXPECT_EQ(m.method(), sh.method) << label;
      EXPECT_EQ(m.target(), "/v1/x?q=1") << label;
      EXPECT_EQ(m.version(), 11u) << label;
      EXPECT_TRUE(m.keep_alive()) << label;
      EXPECT_EQ(m.body(), sh.body) << label;
      EXPECT_EQ(m.count(http::bhttp::field::host), 1u) << label;
      EXPECT_EQ(m[http::bhttp::field::host], "api.example:8443") << label;
      EXPECT_EQ(m.count(http::bhttp::field::connection), 0u) << label;
      EXPECT_EQ(m.count(http::bhttp::field::transfer_encoding), 0u) << label;
      EXPECT_EQ(m.count(http::bhttp::field::content_length), sh.length_expected ? 1u : 0u) << label;
      if (sh.length_expected) {
        EXPECT_EQ(m[http::bhttp::field::content_length], std::to_string(sh.body.size())) << label;
      }
      EXPECT_EQ(m.count(http::bhttp::field::user_agent), 1u) << label;
      EXPECT_EQ(m[http::bhttp::field::user_agent], own_agent ? "caller/2" : "keypool/test") << label;
      EXPECT_EQ(m[http::bhttp::field::authorization], "Bearer test-FAKE") << label;
      EXPECT_EQ(m["x-custom-one"], "1") << label;
      EXPECT_EQ(m["X-Custom-Two"], "two words") << label;
    }
  }
}

/// The exact bytes, so a change in spelling or order is seen: request line,
/// Host first, the caller's fields in their order and spelling, User-Agent,
/// Content-Length, blank line. No User-Agent when none is configured.
TEST(RequestHead, BytesOnTheWire) {
  http::bhttp::fields f;
  f.insert("content-type", "application/json");
  f.set(http::bhttp::field::authorization, "Bearer test-FAKE");
  EXPECT_EQ(http::detail::request_head(verb::post, "/v1/chat/completions", "127.0.0.1:8080", "keypool/0.1", f, 12),
            "POST /v1/chat/completions HTTP/1.1\r\n"
            "Host: 127.0.0.1:8080\r\n"
            "content-type: application/json\r\n"
            "Authorization: Bearer test-FAKE\r\n"
            "User-Agent: keypool/0.1\r\n"
            "Content-Length: 12\r\n"
            "\r\n");
  EXPECT_EQ(http::detail::request_head(verb::get, "/models", "h", "", {}, 0),
            "GET /models HTTP/1.1\r\nHost: h\r\n\r\n");
}

/// End to end: what the server receives, and a caller's "Connection: close"
/// does not stop keep-alive (the transport owns the connection).
TEST(RequestHead, ServerReceivesTheTransportsFraming) {
  test_server s([](const received_request&) { return scripted_reply::json(ok_body()); });
  auto o = fast_options();
  o.user_agent = "keypool-test/1";
  http::transport t(o);
  for (int i = 0; i < 2; ++i) {
    http::bhttp::fields h;
    h.set(http::bhttp::field::connection, "close");
    h.set(http::bhttp::field::content_length, "5");
    h.insert("X-Trace", "t" + std::to_string(i));
    auto r = t.send(verb::post, s.base_url() + "/v1/echo?x=1", std::move(h), "hello, world");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->reused_connection, i > 0);
  }
  ASSERT_EQ(s.requests().size(), 2u);
  const auto all = s.requests();
  const auto& rq = all.back();
  EXPECT_EQ(rq.method, "POST");
  EXPECT_EQ(rq.target, "/v1/echo?x=1");
  EXPECT_EQ(rq.body, "hello, world");
  EXPECT_EQ(rq.header("Content-Length"), "12");
  EXPECT_EQ(rq.header("User-Agent"), "keypool-test/1");
  EXPECT_EQ(rq.header("X-Trace"), "t1");
  EXPECT_EQ(rq.header("Host"), origin_of(s).host_header());
  EXPECT_EQ(s.connections_accepted(), 1u);
}

/// A url built by hand (not parse_url) is written verbatim into the request
/// line: CR, LF, NUL or a space in its target or host is refused, not sent.
TEST(RequestHead, TargetOrHostThatWouldSplitTheRequestLineIsRefused) {
  test_server s([](const received_request&) { return scripted_reply::json(ok_body()); });
  http::transport t(fast_options());
  for (const auto& [target, host] : {std::pair<std::string, std::string>{"/a HTTP/1.1\r\nX-Evil: 1\r\n\r\n", ""},
                                     {"/a b", ""},
                                     {"/ok", "127.0.0.1\r\nX-Evil: 1"}}) {
    http::request req;
    req.method = verb::get;
    req.url = origin_of(s);
    req.url.target = target;
    if (!host.empty()) req.url.host = host;
    auto r = t.send(std::move(req));
    ASSERT_FALSE(r) << target;
    EXPECT_EQ(r.error().code, http::errc::invalid_url) << target;
  }
  EXPECT_EQ(s.requests().size(), 0u);
  EXPECT_EQ(t.stats().opened, 0u);
}

TEST(Transport, MalformedHttpIsRejected) {
  test_server s([](const received_request&) {
    scripted_reply r;
    r.raw = "this is not HTTP at all\r\n\r\n";
    r.close = true;
    return r;
  });
  http::transport t(fast_options());
  auto r = t.send(verb::get, s.base_url() + "/");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::errc::malformed_response) << r.error().message;
}

TEST(Transport, ResponseCutShortIsConnectionClosed) {
  test_server s([](const received_request&) {
    scripted_reply r;
    r.raw = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"choices\":";
    r.close = true;
    return r;
  });
  http::transport t(fast_options());
  auto r = t.send(verb::get, s.base_url() + "/");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::errc::connection_closed);
  EXPECT_NE(r.error().message.find("middle of the response"), std::string::npos) << r.error().message;
  EXPECT_FALSE(r.error().before_request_sent());
}

// ---------------------------------------------------------------- streaming bodies

TEST(Transport, StreamedBodyArrivesPieceByPieceWithAnInactivityTimeout) {
  test_server s([](const received_request&) {
    scripted_reply r;
    r.content_type = "text/event-stream";
    r.chunks = {"data: 1\n\n", "data: 2\n\n", "data: 3\n\n", "data: 4\n\n", "data: 5\n\n"};
    r.chunk_delay = 80ms;
    return r;
  });
  auto o = fast_options();
  o.read_timeout = 300ms;  // shorter than the whole stream, longer than any gap
  http::transport t(o);
  std::vector<std::string> pieces;
  http::request req;
  req.method = verb::get;
  req.url = origin_of(s);
  req.on_body = [&](std::string_view p) {
    pieces.emplace_back(p);
    return true;
  };
  auto r = t.send(req);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "");
  EXPECT_GE(pieces.size(), 3u);  // arrived separately
  std::string all;
  for (const auto& p : pieces) all += p;
  EXPECT_EQ(all, "data: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\ndata: 5\n\n");
  EXPECT_GE(r->elapsed, 300ms);
  // The connection is reusable after a complete chunked stream.
  ASSERT_TRUE(t.send(req));
  EXPECT_EQ(s.connections_accepted(), 1u);
}

TEST(Transport, StreamStallsPastTheInactivityTimeout) {
  test_server s([](const received_request&) {
    scripted_reply r;
    r.chunks = {"data: 1\n\n", "data: 2\n\n"};
    r.chunk_delay = 2s;
    return r;
  });
  auto o = fast_options();
  o.read_timeout = 200ms;
  http::transport t(o);
  http::request req;
  req.method = verb::get;
  req.url = origin_of(s);
  int calls = 0;
  req.on_body = [&](std::string_view) { return ++calls > 0; };
  auto r = t.send(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::errc::timeout);
  EXPECT_EQ(calls, 1);
}

TEST(Transport, NonSuccessStatusIsCollectedNotStreamed) {
  test_server s([](const received_request&) {
    scripted_reply r;
    r.status = 429;
    r.chunks = {"{\"error\":", "{\"message\":\"slow down\"}}"};
    return r;
  });
  http::transport t(fast_options());
  http::request req;
  req.method = verb::get;
  req.url = origin_of(s);
  bool called = false;
  req.on_body = [&](std::string_view) { return called = true; };
  auto r = t.send(req);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 429u);
  EXPECT_EQ(r->body, "{\"error\":{\"message\":\"slow down\"}}");
  EXPECT_FALSE(called);
}

// ---------------------------------------------------------------- proxy settings

bool uses_proxy(const std::string& no_proxy, const std::string& host) {
  auto r = http::select_proxy({"http://proxy.corp:3128", no_proxy}, host);
  EXPECT_TRUE(r) << r.error().message;
  return r && r->has_value();
}

TEST(Proxy, NoProxyMatchesIpv6EntriesWithOrWithoutBrackets) {
  const std::string host = http::parse_url("https://[2001:db8::1]:8443/v1").value().host;
  EXPECT_FALSE(uses_proxy("2001:db8::1", host));
  EXPECT_FALSE(uses_proxy("[2001:db8::1]", host));
  EXPECT_FALSE(uses_proxy("example.com, [2001:db8::1]:8443", host));
  EXPECT_TRUE(uses_proxy("[2001:db8::2]", host));
  EXPECT_TRUE(uses_proxy("[], :443, [", host));  // malformed entries match nothing
  EXPECT_FALSE(uses_proxy("example.com:443", "api.example.com"));
}

TEST(Proxy, PasswordNeverAppearsInErrors) {
  // An unencoded '/' or '?' in the password: the userinfo ends at the last '@'.
  for (const char* p : {"http://user:se/cret@proxy.corp:3128", "http://user:se?cret@proxy.corp:3128"}) {
    auto r = http::select_proxy({p, ""}, "api.example.com");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(r->has_value()) << p;
    EXPECT_EQ((*r)->host, "proxy.corp");
    EXPECT_EQ((*r)->port, 3128u);
  }
  for (const char* p : {"http://user:se/cret@proxy.corp:31x8", "socks5://user:se/cret@proxy.corp:1080",
                        "http://user:se?cret@proxy.corp:3128/x?y#z"}) {
    auto r = http::select_proxy({p, ""}, "api.example.com");
    ASSERT_FALSE(r) << p;
    EXPECT_EQ(r.error().message.find("cret"), std::string::npos) << r.error().message;
  }
  for (const char* u : {"https://user:se/cret@api.example.com/v1", "https://user:se?cret@api.example.com/v1",
                        "https://api.example.com/v1?key=secret&mail=a@b&k2=cret#frag"}) {
    auto r = http::parse_url(u);
    ASSERT_FALSE(r) << u;
    EXPECT_EQ(r.error().message.find("cret"), std::string::npos) << r.error().message;
  }
}

TEST(Proxy, UserinfoIsPercentDecodedAsCurlDoes) {
  auto r = http::select_proxy({"http://us%65r:p%40ss%3a%2F%zz@proxy.corp:3128", ""}, "api.example.com");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->userinfo, "user:p@ss:/%zz");
}

// ---------------------------------------------------------------- async APIs

TEST(Transport, CallbackFutureAndCoroutineOnAnExternalIoContext) {
  test_server s([](const received_request& rq) { return scripted_reply::json("\"" + rq.target + "\""); });
  boost::asio::io_context ioc;
  http::transport t(ioc.get_executor(), fast_options());
  auto make = [&](std::string path) {
    http::request r;
    r.method = verb::get;
    r.url = origin_of(s);
    r.url.target = std::move(path);
    return r;
  };
  std::string by_callback, by_coroutine;
  t.async_send(make("/cb"), [&](http::result<http::response> r) { by_callback = r ? r->body : r.error().message; });
  boost::asio::co_spawn(
      ioc,
      [&]() -> boost::asio::awaitable<void> {
        auto r = co_await t.async_send(make("/co"), boost::asio::use_awaitable);
        by_coroutine = r ? r->body : r.error().message;
      },
      boost::asio::detached);
  auto fut = t.async_send(make("/fut"), boost::asio::use_future);
  ioc.run();
  EXPECT_EQ(by_callback, "\"/cb\"");
  EXPECT_EQ(by_coroutine, "\"/co\"");
  auto r = fut.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "\"/fut\"");
}

/// The blocking calls refuse to run on the transport's own strand; the check
/// must recognise that strand whichever executor the transport was given.
TEST(Transport, KnowsWhenItRunsOnItsOwnStrand) {
  boost::asio::io_context ioc;
  boost::asio::thread_pool pool(1);
  http::transport on_ioc(ioc.get_executor(), fast_options());
  http::transport on_pool(pool.get_executor(), fast_options());
  EXPECT_FALSE(on_ioc.running_in_this_thread());
  EXPECT_FALSE(on_pool.running_in_this_thread());
  std::promise<bool> ioc_inside, pool_inside, other_strand;
  boost::asio::post(on_ioc.get_executor(), [&] {
    ioc_inside.set_value(on_ioc.running_in_this_thread());
    other_strand.set_value(on_pool.running_in_this_thread());
  });
  boost::asio::post(on_pool.get_executor(), [&] { pool_inside.set_value(on_pool.running_in_this_thread()); });
  ioc.run();
  EXPECT_TRUE(ioc_inside.get_future().get());
  EXPECT_TRUE(pool_inside.get_future().get());
  EXPECT_FALSE(other_strand.get_future().get());
  // And the blocking send says so instead of waiting on itself.
  std::promise<http::result<http::response>> nested;
  boost::asio::post(on_pool.get_executor(), [&] { nested.set_value(on_pool.send(verb::get, "http://127.0.0.1:1/")); });
  auto r = nested.get_future().get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::errc::internal);
  pool.join();
}

/// A strand is added only where the executor is not serial already: a strand
/// given is used as is (no strand of a strand), and so is an io_context that
/// one thread runs (the transport's own, or implicit_strand).
TEST(Transport, AddsAStrandOnlyWhereTheExecutorIsNotSerial) {
  using ioc_strand = boost::asio::strand<boost::asio::io_context::executor_type>;
  using ioc_executor = boost::asio::io_context::executor_type;
  boost::asio::io_context ioc;
  http::transport plain(ioc.get_executor(), fast_options());
  EXPECT_NE(plain.get_executor().target<ioc_strand>(), nullptr);

  const auto given = boost::asio::make_strand(ioc);
  http::transport on_strand(given, fast_options());
  const auto on_strand_ex = on_strand.get_executor();  // target() points into it
  const auto* used = on_strand_ex.target<ioc_strand>();
  ASSERT_NE(used, nullptr);
  EXPECT_TRUE(*used == given);

  auto o = fast_options();
  o.implicit_strand = true;
  http::transport implicit(ioc.get_executor(), o);
  const auto implicit_ex = implicit.get_executor();
  const auto* bare = implicit_ex.target<ioc_executor>();
  ASSERT_NE(bare, nullptr);
  EXPECT_TRUE(*bare == ioc.get_executor());

  http::transport owned(fast_options());
  EXPECT_NE(owned.get_executor().target<ioc_executor>(), nullptr);
  // The owned thread is still recognised as the transport's own.
  std::promise<http::result<http::response>> nested;
  boost::asio::post(owned.get_executor(), [&] { nested.set_value(owned.send(verb::get, "http://127.0.0.1:1/")); });
  auto r = nested.get_future().get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::errc::internal);
}

/// Without a strand of its own the transport serves concurrent requests as
/// before (keep-alive reuse included) when one thread runs the io_context.
TEST(Transport, ImplicitStrandServesConcurrentRequests) {
  test_server s([](const received_request& rq) { return scripted_reply::json("\"" + rq.target + "\""); });
  boost::asio::io_context ioc;
  auto o = fast_options();
  o.implicit_strand = true;
  http::transport t(ioc.get_executor(), o);
  constexpr int n = 16;
  for (int round = 0; round < 2; ++round) {
    std::vector<std::string> bodies(n);
    for (int i = 0; i < n; ++i) {
      http::request rq;
      rq.method = verb::get;
      rq.url = origin_of(s);
      rq.url.target = "/" + std::to_string(i);
      t.async_send(std::move(rq), [&bodies, i](http::result<http::response> r) {
        bodies[static_cast<std::size_t>(i)] = r ? r->body : r.error().message;
      });
    }
    ioc.restart();
    ioc.run();
    for (int i = 0; i < n; ++i) EXPECT_EQ(bodies[static_cast<std::size_t>(i)], "\"/" + std::to_string(i) + "\"");
  }
  EXPECT_GT(t.stats().reused, 0u);  // the second round found the first's connections
}

// ---------------------------------------------------------------- wire round trips

/// Checks the image part the server received against the bytes sent.
void expect_image_b64(std::string_view b64) { EXPECT_EQ(wire::base64::decode(b64), test_image()); }

TEST(WireRoundTrip, OpenAiChatWithImage) {
  test_server s([](const received_request& rq) {
    EXPECT_EQ(rq.method, "POST");
    EXPECT_EQ(rq.target, "/openai/v1/chat/completions");
    EXPECT_EQ(rq.header("Authorization"), std::string("Bearer ") + fake_key);
    EXPECT_EQ(rq.header("Content-Type"), "application/json");
    const auto body = json::parse(rq.body).as_object();
    EXPECT_EQ(body.at("model").as_string(), "llama-4-scout");
    EXPECT_EQ(body.at("max_tokens").to_number<int>(), 321);
    EXPECT_DOUBLE_EQ(body.at("temperature").to_number<double>(), 0.25);
    const auto& content = body.at("messages").as_array().at(0).as_object().at("content").as_array();
    EXPECT_EQ(content.at(0).at("type").as_string(), "text");
    EXPECT_EQ(content.at(0).at("text").as_string(), "What is in this picture? \"quoted\" \xC3\xA9");
    const std::string url(content.at(1).at("image_url").at("url").as_string());
    const std::string prefix = "data:image/png;base64,";
    EXPECT_EQ(url.substr(0, prefix.size()), prefix);
    expect_image_b64(std::string_view(url).substr(prefix.size()));
    return scripted_reply::json(
        R"({"id":"x","object":"chat.completion","model":"llama-4-scout-17b","choices":[{"index":0,)"
        R"("message":{"role":"assistant","content":"A cat."},"finish_reason":"stop"}],)"
        R"("usage":{"prompt_tokens":812,"completion_tokens":4,"total_tokens":816}})");
  });
  http::transport t(fast_options());
  wire::openai_chat::options o;
  o.base_path = "/openai/v1";
  auto enc = wire::openai_chat::encode(vision_request("llama-4-scout"), fake_key, o);
  ASSERT_TRUE(enc);
  auto r = t.send(http::make_request(origin_of(s), std::move(*enc)));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->status, 200u);
  auto d = wire::openai_chat::decode(r->body);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->text, "A cat.");
  EXPECT_EQ(d->model, "llama-4-scout-17b");
  EXPECT_EQ(d->finish_reason, "stop");
  EXPECT_EQ(d->usage, (wire::usage{812, 4}));
  EXPECT_EQ(s.requests().size(), 1u);
}

TEST(WireRoundTrip, MistralImageUrlAsPlainString) {
  test_server s([](const received_request& rq) {
    const auto body = json::parse(rq.body).as_object();
    const auto& part = body.at("messages").as_array().at(0).at("content").as_array().at(1).as_object();
    EXPECT_TRUE(part.at("image_url").is_string());
    const std::string url(part.at("image_url").as_string());
    expect_image_b64(std::string_view(url).substr(std::string("data:image/png;base64,").size()));
    return scripted_reply::json(
        R"({"model":"pixtral","choices":[{"message":{"content":[{"type":"text","text":"A "},)"
        R"({"type":"text","text":"dog."}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2}})");
  });
  http::transport t(fast_options());
  wire::openai_chat::options o;
  o.images = wire::openai_chat::image_form::data_url_string;
  auto r = t.send(
      http::make_request(origin_of(s), wire::openai_chat::encode(vision_request("pixtral"), fake_key, o).value()));
  ASSERT_TRUE(r) << r.error().message;
  auto d = wire::openai_chat::decode(r->body);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->text, "A dog.");
}

TEST(WireRoundTrip, AnthropicMessagesWithImage) {
  test_server s([](const received_request& rq) {
    EXPECT_EQ(rq.target, "/v1/messages");
    EXPECT_EQ(rq.header("x-api-key"), fake_key);
    EXPECT_EQ(rq.header("anthropic-version"), "2023-06-01");
    EXPECT_EQ(rq.header("Authorization"), "");
    const auto body = json::parse(rq.body).as_object();
    EXPECT_EQ(body.at("max_tokens").to_number<int>(), 321);
    const auto& content = body.at("messages").as_array().at(0).at("content").as_array();
    const auto& src = content.at(0).at("source").as_object();
    EXPECT_EQ(content.at(0).at("type").as_string(), "image");
    EXPECT_EQ(src.at("type").as_string(), "base64");
    EXPECT_EQ(src.at("media_type").as_string(), "image/png");
    expect_image_b64(std::string_view(src.at("data").as_string()));
    EXPECT_EQ(content.at(1).at("type").as_string(), "text");
    return scripted_reply::json(
        R"({"id":"msg_x","type":"message","role":"assistant","model":"claude-sonnet-4-5",)"
        R"("content":[{"type":"text","text":"A red "},{"type":"text","text":"bicycle."}],)"
        R"("stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1500,"output_tokens":6}})");
  });
  http::transport t(fast_options());
  auto r = t.send(http::make_request(
      origin_of(s), wire::anthropic_messages::encode(vision_request("claude-sonnet-4-5"), fake_key).value()));
  ASSERT_TRUE(r) << r.error().message;
  auto d = wire::anthropic_messages::decode(r->body);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->text, "A red bicycle.");
  EXPECT_EQ(d->finish_reason, "end_turn");
  EXPECT_EQ(d->usage, (wire::usage{1500, 6}));
}

TEST(WireRoundTrip, GeminiGenerateContentWithImage) {
  test_server s([](const received_request& rq) {
    EXPECT_EQ(rq.target, "/v1beta/models/gemini-2.5-flash:generateContent");
    EXPECT_EQ(rq.header("x-goog-api-key"), fake_key);
    EXPECT_EQ(rq.target.find("key="), std::string::npos);
    const auto body = json::parse(rq.body).as_object();
    const auto& parts = body.at("contents").as_array().at(0).at("parts").as_array();
    EXPECT_EQ(parts.at(0).at("text").as_string(), "What is in this picture? \"quoted\" \xC3\xA9");
    const auto& inline_data = parts.at(1).at("inlineData").as_object();
    EXPECT_EQ(inline_data.at("mimeType").as_string(), "image/png");
    expect_image_b64(std::string_view(inline_data.at("data").as_string()));
    EXPECT_EQ(body.at("generationConfig").at("maxOutputTokens").to_number<int>(), 321);
    return scripted_reply::json(
        R"({"candidates":[{"content":{"parts":[{"text":"thinking...","thought":true},{"text":"A tree."}],)"
        R"("role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":260,)"
        R"("candidatesTokenCount":3,"thoughtsTokenCount":10,"totalTokenCount":273},"modelVersion":"gemini-2.5-flash"})");
  });
  http::transport t(fast_options());
  auto r = t.send(http::make_request(
      origin_of(s), wire::gemini_generate_content::encode(vision_request("gemini-2.5-flash"), fake_key).value()));
  ASSERT_TRUE(r) << r.error().message;
  auto d = wire::gemini_generate_content::decode(r->body);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->text, "A tree.");
  EXPECT_EQ(d->finish_reason, "STOP");
  EXPECT_EQ(d->model, "gemini-2.5-flash");
  EXPECT_EQ(d->usage, (wire::usage{260, 13, 0, 10}));  // thoughts are output, and reasoning
}

TEST(WireRoundTrip, MalformedAndTruncatedJsonOverHttp) {
  test_server s([](const received_request& rq) {
    if (rq.target.ends_with("truncated")) return scripted_reply::json(R"({"choices":[{"message":{"content":"A ca)");
    return scripted_reply::json("<html>502 Bad Gateway</html>");
  });
  http::transport t(fast_options());
  auto enc = wire::openai_chat::encode(vision_request("m"), fake_key).value();
  auto req = http::make_request(origin_of(s), enc);
  req.url.target = "/truncated";
  auto r1 = t.send(req);
  ASSERT_TRUE(r1) << r1.error().message;
  auto d1 = wire::openai_chat::decode(r1->body);
  ASSERT_FALSE(d1);
  EXPECT_EQ(d1.error().code, wire::decode_errc::truncated_json) << d1.error().message;
  req.url.target = "/html";
  auto r2 = t.send(req);
  ASSERT_TRUE(r2);
  auto d2 = wire::openai_chat::decode(r2->body);
  ASSERT_FALSE(d2);
  EXPECT_EQ(d2.error().code, wire::decode_errc::invalid_json) << d2.error().message;
}

// ---------------------------------------------------------------- TLS

struct TlsFixture : ::testing::Test {
  keypool::test::test_ca ca;
  static keypool::test::server_options tls_with(const keypool::test::pem_pair& p) {
    keypool::test::server_options o;
    o.tls = std::pair{p.cert, p.key};
    return o;
  }
};

TEST_F(TlsFixture, UnknownCaIsRejected) {
  test_server s([](const received_request&) { return scripted_reply::json(ok_body()); },
                tls_with(ca.issue({"DNS:localhost", "IP:127.0.0.1"})));
  http::transport t(fast_options());  // system store only: the test CA is unknown
  auto r = t.send(verb::get, s.base_url() + "/");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::errc::tls_failed);
  EXPECT_NE(r.error().message.find("certificate verify failed"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("localhost:" + std::to_string(s.port())), std::string::npos);
  EXPECT_TRUE(s.requests().empty());
}

TEST_F(TlsFixture, WrongHostNameIsRejected) {
  test_server s([](const received_request&) { return scripted_reply::json(ok_body()); },
                tls_with(ca.issue({"DNS:api.other.example"})));
  auto o = fast_options();
  o.tls.ca_pem = ca.cert_pem();
  http::transport t(o);
  auto r = t.send(verb::get, s.base_url() + "/");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::errc::tls_failed);
  EXPECT_NE(r.error().message.find("mismatch"), std::string::npos) << r.error().message;
  // Same for an IP address not in the certificate.
  auto r2 = t.send(verb::get, "https://127.0.0.1:" + std::to_string(s.port()) + "/");
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, http::errc::tls_failed) << r2.error().message;
  EXPECT_TRUE(s.requests().empty());
}

TEST_F(TlsFixture, CustomCaFileIsAcceptedAndConnectionsAreReused) {
  test_server s([](const received_request&) { return scripted_reply::json(ok_body()); },
                tls_with(ca.issue({"DNS:localhost", "IP:127.0.0.1"})));
  char path[] = "/tmp/keypool-test-ca-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << ca.cert_pem();
  auto o = fast_options();
  o.tls.ca_file = path;
  http::transport t(o);
  for (int i = 0; i < 3; ++i) {
    auto r = t.send(verb::get, s.base_url() + "/");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->body, ok_body());
  }
  auto by_ip = t.send(verb::get, "https://127.0.0.1:" + std::to_string(s.port()) + "/");
  ASSERT_TRUE(by_ip) << by_ip.error().message;
  EXPECT_EQ(s.connections_accepted(), 2u);  // one per origin name
  std::remove(path);
}

TEST_F(TlsFixture, MissingCaFileIsAConfigurationError) {
  auto o = fast_options();
  o.tls.ca_file = "/nonexistent/keypool-ca.pem";
  EXPECT_THROW(http::transport t(o), http::tls_config_error);
}

TEST_F(TlsFixture, HttpsThroughConnectProxy) {
  // The target name exists only in the certificate: the proxy, not the
  // client, resolves it (to 127.0.0.1), exactly as with a real proxy.
  test_server target([](const received_request&) { return scripted_reply::json(ok_body()); },
                     tls_with(ca.issue({"DNS:api.provider.test"})));
  keypool::test::server_options po;
  po.connect_proxy = true;
  test_server proxy(
      [](const received_request& rq) {
        EXPECT_EQ(rq.method, "CONNECT");
        return scripted_reply{};
      },
      po);
  auto o = fast_options();
  o.tls.ca_pem = ca.cert_pem();
  o.proxy = http::proxy_options{"http://user:fake-pass@127.0.0.1:" + std::to_string(proxy.port()), "localhost"};
  http::transport t(o);
  const std::string u = "https://api.provider.test:" + std::to_string(target.port()) + "/v1/models";
  for (int i = 0; i < 2; ++i) {
    auto r = t.send(verb::get, u);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->body, ok_body());
  }
  ASSERT_EQ(proxy.requests().size(), 1u);  // the tunnel was kept alive
  EXPECT_EQ(proxy.requests()[0].target, "api.provider.test:" + std::to_string(target.port()));
  EXPECT_EQ(proxy.requests()[0].header("Proxy-Authorization"), "Basic " + wire::base64::encode("user:fake-pass"));
  EXPECT_EQ(target.requests().size(), 2u);
}

TEST_F(TlsFixture, ProxyRefusalIsProxyFailed) {
  keypool::test::server_options po;
  po.connect_proxy = true;
  test_server proxy([](const received_request&) { return scripted_reply::json("", 407); }, po);
  auto o = fast_options();
  o.proxy = http::proxy_options{"127.0.0.1:" + std::to_string(proxy.port()), ""};
  http::transport t(o);
  auto r = t.send(verb::get, "https://api.provider.test/");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::errc::proxy_failed);
  EXPECT_NE(r.error().message.find("407"), std::string::npos) << r.error().message;
}

}  // namespace

}  // namespace http_transport_test
