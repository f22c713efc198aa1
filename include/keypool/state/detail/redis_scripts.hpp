#pragma once
/// The Lua scripts the Redis state backend runs on the server, each a single
/// atomic step (a write that never shortens a longer lockout, a budget grant
/// that never exceeds the limit), and a connection that loads them once and
/// calls them by SHA1.

#include <keypool/state/detail/redis_connection.hpp>

#include <hiredis/hiredis.h>

#include <string>
#include <string_view>
#include <vector>

namespace keypool::state::detail {

/// Writes a change: SET with PX (or DEL for a release), never shortening a
/// longer lockout already stored, then PUBLISH — atomically, one round trip.
/// The stored key's PTTL is what it has left (by the server's clock alone).
/// The namespace's index (a sorted set: state key -> server ms when it ends,
/// +inf for never) follows every change and drops what has ended, so loading
/// the namespace reads the index, never SCANs the database.
/// KEYS[1] state key, KEYS[2] index; ARGV: status, body, ttl_ms (-1: never),
/// channel, message.
inline constexpr std::string_view write_script = R"lua(
if ARGV[1] == 'available' then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], KEYS[1])
else
  local ttl = tonumber(ARGV[3])
  local keep = false
  local cur = redis.call('GET', KEYS[1])
  if cur then
    local cs = string.match(cur, '^(%a+)|')
    local left = redis.call('PTTL', KEYS[1])
    if cs == 'disabled' and ARGV[1] == 'locked' then
      keep = true
    elseif cs == ARGV[1] and (left == -1 or (ttl ~= -1 and left >= ttl)) then
      keep = true
    end
  end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if not keep then
    if ttl > 0 then
      redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
      redis.call('ZADD', KEYS[2], now + ttl, KEYS[1])
    else
      redis.call('SET', KEYS[1], ARGV[2])
      redis.call('ZADD', KEYS[2], '+inf', KEYS[1])
    end
  elseif redis.call('ZSCORE', KEYS[2], KEYS[1]) == false then
    local left = redis.call('PTTL', KEYS[1])
    redis.call('ZADD', KEYS[2], left < 0 and '+inf' or now + left, KEYS[1])
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. now)
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
)lua";

/// Reads the namespace's live lockouts and disables a page at a time,
/// read-only (so it runs on a replica too): O(page) per call, O(namespace)
/// in all, whatever else the database holds. Each call is short, so a large
/// namespace loads within command_timeout per page instead of needing one
/// long command (which would also block the server for its length).
/// KEYS[1] index. ARGV[1] page size; ARGV[2] and ARGV[3] the previous page's
/// last member and score (both empty for the first page). The cursor is the
/// member, not a rank, so entries removed meanwhile shift nothing; a member
/// removed itself restarts at its score (entries of that score come again:
/// applying one twice changes nothing), and an entry written meanwhile
/// arrives on the channel anyway.
/// Returns {next member, next score, body1, pttl1, ...}; next member is ""
/// after the last page. The state keys share the index's hash tag, so on a
/// Redis Cluster they are on its node.
inline constexpr std::string_view load_page_script = R"lua(
local n = tonumber(ARGV[1])
local start
if ARGV[2] == '' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  start = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. now)
else
  start = redis.call('ZRANK', KEYS[1], ARGV[2])
  if start then start = start + 1 else start = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[3]) end
end
local page = redis.call('ZRANGE', KEYS[1], start, start + n - 1, 'WITHSCORES')
local out = {'', ''}
if #page == 2 * n then
  out[1] = page[#page - 1]
  out[2] = page[#page]
end
for i = 1, #page, 2 do
  local v = redis.call('GET', page[i])
  if v then
    local left = redis.call('PTTL', page[i])
    if left ~= -2 and left ~= 0 then
      out[#out + 1] = v
      out[#out + 1] = left
    end
  end
end
return out
)lua";

/// Index entries load_page_script reads per call: about a millisecond of
/// server time, far below any sensible command_timeout.
inline constexpr int load_page_size = 1000;

/// Grants up to ARGV[2] units of a daily budget of ARGV[1], atomically, and
/// makes the counter expire at the provider's day boundary (ARGV[3], unix s).
/// Returns {granted, used}. A day already over by the server's clock (the
/// caller's clock runs behind, or it asked just before the boundary) grants
/// nothing: EXPIREAT in the past would delete the counter at once, and every
/// later call would be granted again.
inline constexpr std::string_view budget_script = R"lua(
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[3]) <= tonumber(redis.call('TIME')[1]) then return {0, used} end
local grant = math.min(tonumber(ARGV[2]), tonumber(ARGV[1]) - used)
if grant <= 0 then return {0, used} end
used = redis.call('INCRBY', KEYS[1], grant)
redis.call('EXPIREAT', KEYS[1], ARGV[3])
return {grant, used}
)lua";

/// The namespace's marker: returns its value, setting it to ARGV[1] when it
/// is missing (a new or emptied server). An instance that sees a value other
/// than the one it knew has lost the server's data. KEYS[1] marker.
inline constexpr std::string_view epoch_script = R"lua(
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
)lua";

/// Pushes budget units granted before the server lost its data back onto the
/// day counters: KEYS daily keys; ARGV pairs (units, EXPIREAT unix s). A day
/// already over by the server's clock is skipped. Returns the keys restored.
inline constexpr std::string_view restore_script = R"lua(
local now = tonumber(redis.call('TIME')[1])
local n = 0
for i, k in ipairs(KEYS) do
  local at = tonumber(ARGV[2 * i])
  if at > now then
    redis.call('INCRBY', k, ARGV[2 * i - 1])
    redis.call('EXPIREAT', k, at)
    n = n + 1
  end
end
return n
)lua";

/// A connection plus the SHA1s of our scripts on that server.
struct scripted_connection {
  redis_connection conn;
  std::string write_sha, budget_sha;

  bool open(const redis_endpoint& ep, std::string& error) {
    if (!conn.open(ep, error)) return false;
    return load(write_script, write_sha, error) && load(budget_script, budget_sha, error);
  }
  bool load(std::string_view script, std::string& sha, std::string& error) {
    auto r = conn.command({"SCRIPT", "LOAD", script}, error);
    if (!r) return false;
    if (r->type != REDIS_REPLY_STRING) {
      error = "SCRIPT LOAD: " + std::string(reply_text(r.get()));
      conn.close();
      return false;
    }
    sha = std::string(reply_text(r.get()));
    return true;
  }
  /// EVALSHA, falling back to EVAL when the server lost the script.
  reply_ptr eval(std::string_view sha, std::string_view script, std::vector<std::string_view> args,
                 std::string& error) {
    args.insert(args.begin(), {"EVALSHA", sha});
    auto r = conn.command(args.data(), args.size(), error);
    if (r && r->type == REDIS_REPLY_ERROR && reply_text(r.get()).starts_with("NOSCRIPT")) {
      args[0] = "EVAL";
      args[1] = script;
      r = conn.command(args.data(), args.size(), error);
    }
    return r;
  }
};

}  // namespace keypool::state::detail
