/// The conversation answers over real loopback HTTP: each of the seven
/// providers of a mock::fleet answers a raw JSON body offering a tool with a
/// tool call, as one JSON body and as server-sent events (content type
/// text/event-stream), the streamed arguments equal to the whole ones.

#include "mock/support.hpp"

#include <keypool/mock/fleet.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace mock_http_test {
namespace {

using namespace chatmock;

struct http_answer {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

/// One POST on a fresh connection (Connection: close), read to the end.
http_answer http_post(std::uint16_t port, const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  std::string req = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "content-type: application/json\r\ncontent-length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  for (std::size_t off = 0; off < req.size();) {
    const auto n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  http_answer out;
  const auto head_end = got.find("\r\n\r\n");
  if (head_end == std::string::npos) return out;
  out.status = static_cast<unsigned>(std::atoi(got.c_str() + 9));
  std::string head = got.substr(0, head_end);
  for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (const auto ct = head.find("\r\ncontent-type: "); ct != std::string::npos)
    out.content_type = head.substr(ct + 16, head.find("\r\n", ct + 2) - ct - 16);
  out.body = got.substr(head_end + 4);
  return out;
}

class OverHttp : public ::testing::TestWithParam<std::string> {};

TEST_P(OverHttp, AToolCallWholeAndStreamed) {
  mock::fleet f(quiet_fleet());
  const std::string id = GetParam();
  auto& p = f.providers();
  asks a{{weather_tool()}};
  const auto whole = http_post(f.port(), request_path(p, id, false), request_headers(p, id),
                               json::serialize(request_body(id, {{turn::user, "Weather in Oslo?"}}, a)));
  ASSERT_EQ(whole.status, 200u) << whole.body;
  EXPECT_EQ(whole.content_type, "application/json");
  a.stream = true;
  const auto streamed = http_post(f.port(), request_path(p, id, true), request_headers(p, id),
                                  json::serialize(request_body(id, {{turn::user, "Weather in Oslo?"}}, a)));
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  EXPECT_EQ(streamed.content_type, "text/event-stream");
  const answer one = read_body(wire_of(id), whole.body);
  const answer two = read_stream(wire_of(id), streamed.body);
  EXPECT_EQ(one.call_name, "get_weather");
  EXPECT_EQ(one.arguments, R"({"city":"Weather in Oslo?","unit":"celsius"})");
  EXPECT_EQ(two.arguments, one.arguments);
  EXPECT_EQ(two.call_id, one.call_id);
}

TEST_P(OverHttp, AnUnansweredToolResultIsA400InTheProvidersDialect) {
  mock::fleet f(quiet_fleet());
  const std::string id = GetParam();
  auto& p = f.providers();
  const turn result{turn::result, "22 C", "abc123XYZ", "get_weather"};
  const auto r = http_post(f.port(), request_path(p, id, false), request_headers(p, id),
                           json::serialize(request_body(id, {{turn::user, "hi"}, result}, {})));
  EXPECT_EQ(r.status, 400u) << r.body;
  mock::reply as_reply;
  as_reply.status = r.status;
  as_reply.body = r.body;
  EXPECT_FALSE(error_message(id, as_reply).empty());
}

INSTANTIATE_TEST_SUITE_P(Providers, OverHttp, ::testing::ValuesIn(all_providers),
                         [](const auto& info) { return info.param; });

}  // namespace

}  // namespace mock_http_test
