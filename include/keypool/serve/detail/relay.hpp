#pragma once
/// Relays a streamed answer to the caller as it arrives: the upstream body
/// sink (on the transport's strand) queues bytes, and one write at a time
/// drains the queue as an HTTP/1.1 chunked body. The sink never waits on
/// the caller: a caller that reads too slowly (max_backlog queued) or went
/// away makes push() return false, which abandons the upstream response.

#include <keypool/serve/detail/conn_stream.hpp>
#include <keypool/serve/detail/usage_scan.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

namespace keypool::serve::detail {

class relay {
 public:
  relay(conn_stream& s, std::size_t max_backlog, std::chrono::milliseconds write_timeout)
      : s_(s), max_backlog_(max_backlog), write_timeout_(write_timeout), done_(s.get_executor()) {}
  relay(const relay&) = delete;
  relay& operator=(const relay&) = delete;

  bool started() const noexcept { return started_; }
  /// The caller went away, a write timed out, or the backlog overflowed.
  bool failed() const noexcept { return failed_; }
  /// The final chunk was queued: the answer is complete.
  bool finished() const noexcept { return finished_; }

  /// The token counts seen in the relayed bytes so far.
  const usage_scan& usage() const noexcept { return usage_; }

  /// Queues the response head (status line and fields, ending with the
  /// empty line).
  void start(std::string head) {
    started_ = true;
    pending_ += head;
    pump();
  }

  /// Queues one chunk; false when the caller cannot take it.
  bool push(std::string_view bytes) {
    if (failed_) return false;
    if (bytes.empty()) return true;
    if (pending_.size() + bytes.size() > max_backlog_) {
      failed_ = true;
      return false;
    }
    char size[20];
    const int n = std::snprintf(size, sizeof size, "%zx\r\n", bytes.size());
    pending_.append(size, static_cast<std::size_t>(n));
    pending_.append(bytes);
    pending_ += "\r\n";
    usage_.feed(bytes);
    pump();
    return true;
  }

  /// Queues the last chunk.
  void finish() {
    if (failed_ || finished_) return;
    finished_ = true;
    pending_ += "0\r\n\r\n";
    pump();
  }

  /// Waits until everything queued was written (or the writing failed);
  /// true when it was.
  boost::asio::awaitable<bool> flush() {
    while (busy_) {
      done_.expires_at(std::chrono::steady_clock::time_point::max());
      boost::system::error_code ec;
      co_await done_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
    co_return !failed_;
  }

 private:
  void pump() {
    if (busy_ || failed_ || pending_.empty()) return;
    busy_ = true;
    writing_.swap(pending_);
    pending_.clear();
    s_.expires_after(write_timeout_);
    boost::asio::async_write(s_, boost::asio::buffer(writing_), [this](boost::system::error_code ec, std::size_t) {
      busy_ = false;
      writing_.clear();
      if (ec) failed_ = true;
      if (!failed_ && !pending_.empty()) return pump();
      s_.expires_never();
      done_.cancel();
    });
  }

  conn_stream& s_;
  std::size_t max_backlog_;
  std::chrono::milliseconds write_timeout_;
  boost::asio::steady_timer done_;
  std::string pending_;
  std::string writing_;
  bool started_ = false;
  bool busy_ = false;
  bool failed_ = false;
  bool finished_ = false;
  usage_scan usage_;
};

}  // namespace keypool::serve::detail
