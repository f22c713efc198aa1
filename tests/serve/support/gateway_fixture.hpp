#pragma once
/// What the gateway suites share: a gateway on its own io_context thread
/// over a chain of two pools (groq, then anthropic or mistral) pointed at
/// scripted test servers or the mock fleet, and a plain Beast client.

#include <keypool/chain/chain.hpp>
#include <keypool/core/pool.hpp>
#include <keypool/http/transport.hpp>
#include <keypool/providers/builtin.hpp>
#include <keypool/serve/gateway.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace keypool::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

/// PREFIX_API_KEY_1..n with obviously fake secrets (long enough that a
/// leaked one would be found by the scan of every answer).
inline std::vector<key_spec> fake_keys(const char* prefix, int n) {
  std::vector<key_spec> out;
  for (int i = 1; i <= n; ++i)
    out.push_back({std::string(prefix) + "_API_KEY_" + std::to_string(i),
                   "FAKE-" + std::string(prefix) + "-secret-" + std::to_string(i) + "-notREAL"});
  return out;
}

inline http::transport_options loopback_options() {
  using namespace std::chrono_literals;
  http::transport_options o;
  o.connect_timeout = 2s;
  o.read_timeout = 5s;
  o.proxy = http::proxy_options{};
  o.implicit_strand = true;  // one thread runs the io_context
  return o;
}

/// An io_context run by one thread, with a transport on it.
struct io_thread {
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  http::transport transport{ioc.get_executor(), loopback_options()};
  std::thread thread;

  void start() {
    thread = std::thread([this] { ioc.run(); });
  }
  void stop() {
    work.reset();
    ioc.stop();
    if (thread.joinable()) thread.join();
  }
  ~io_thread() { stop(); }
};

/// One answer as a test sees it.
struct answer {
  unsigned status = 0;
  bhttp::fields headers;
  std::string body;
  std::string header(std::string_view n) const {
    const auto it = headers.find(beast::string_view(n.data(), n.size()));
    return it == headers.end() ? std::string() : std::string(it->value());
  }
};

/// A blocking keep-alive HTTP/1.1 client of the gateway.
class client {
 public:
  explicit client(std::uint16_t port) : stream_(ioc_) {
    stream_.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  answer send(bhttp::verb method, std::string target, std::string body = {},
              std::vector<std::pair<std::string, std::string>> headers = {}) {
    bhttp::request<bhttp::string_body> req{method, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    for (auto& [n, v] : headers) req.set(n, v);
    if (method == bhttp::verb::post) req.set(bhttp::field::content_type, "application/json");
    req.body() = std::move(body);
    req.prepare_payload();
    stream_.expires_after(std::chrono::seconds(10));
    bhttp::write(stream_, req);
    return read();
  }
  answer post(std::string target, std::string body, std::vector<std::pair<std::string, std::string>> headers = {}) {
    return send(bhttp::verb::post, std::move(target), std::move(body), std::move(headers));
  }
  answer get(std::string target, std::vector<std::pair<std::string, std::string>> headers = {}) {
    return send(bhttp::verb::get, std::move(target), {}, std::move(headers));
  }
  answer read() {
    bhttp::response_parser<bhttp::string_body> p;
    p.body_limit(64u << 20);
    bhttp::read(stream_, buf_, p);
    auto msg = p.release();
    answer a;
    a.status = msg.result_int();
    a.body = std::move(msg.body());
    a.headers = std::move(static_cast<bhttp::fields&>(msg));
    return a;
  }
  beast::tcp_stream& stream() { return stream_; }

 private:
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
};

/// Raw bytes to the gateway, and everything it answers until it closes
/// (or `timeout`).
inline std::string raw_exchange(std::uint16_t port, const std::string& bytes,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  asio::io_context ioc;
  beast::tcp_stream s(ioc);
  s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  s.expires_after(timeout);
  boost::system::error_code ec;
  asio::write(s, asio::buffer(bytes), ec);
  std::string out;
  char buf[4096];
  for (;;) {
    const auto n = s.read_some(asio::buffer(buf), ec);
    out.append(buf, n);
    if (ec) break;
  }
  return out;
}

/// The hook's records, kept for assertions.
struct records {
  std::mutex mu;
  std::vector<serve::request_record> seen;  // views copied into strings below
  std::vector<std::string> providers, keys;
  std::vector<unsigned> statuses;
  serve::request_hook hook() {
    return [this](const serve::request_record& r) {
      std::lock_guard lock(mu);
      statuses.push_back(r.status);
      providers.emplace_back(r.provider);
      keys.emplace_back(r.key_variable);
    };
  }
};

}  // namespace keypool::test
