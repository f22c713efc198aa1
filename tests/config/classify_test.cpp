// Retry-hint parsers and the per-provider response classifier, table-driven
// over realistic status lines, headers and bodies.

#include <keypool/classify/classifier.hpp>
#include <keypool/classify/retry_hint.hpp>
#include <keypool/clock/manual.hpp>
#include <keypool/core/pool.hpp>
#include <keypool/providers/builtin.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace {

using namespace keypool;
using namespace keypool::classify;
using namespace std::chrono_literals;
using std::chrono::milliseconds;
namespace kd = keypool::classify::detail;

/// 2026-11-26T10:00:00Z, a Thursday in US Pacific standard time.
const sys_time now = kd::make_time(2026, 11, 26, 10, 0, 0);

// ---- retry hints --------------------------------------------------------------

TEST(RetryHint, RetryAfterMs) {
  EXPECT_EQ(parse_retry_after_ms("1500"), 1500ms);
  EXPECT_EQ(parse_retry_after_ms(" 20 "), 20ms);
  EXPECT_EQ(parse_retry_after_ms("1500.2"), 1501ms);  // rounds up
  EXPECT_EQ(parse_retry_after_ms("0"), 0ms);
  EXPECT_EQ(parse_retry_after_ms("-5"), std::nullopt);
  EXPECT_EQ(parse_retry_after_ms("abc"), std::nullopt);
  EXPECT_EQ(parse_retry_after_ms(""), std::nullopt);
  EXPECT_EQ(parse_retry_after_ms("12ms"), std::nullopt);
}

TEST(RetryHint, RetryAfterSecondsAndHttpDate) {
  EXPECT_EQ(parse_retry_after("120", now), 120000ms);
  EXPECT_EQ(parse_retry_after("0", now), 0ms);
  EXPECT_EQ(parse_retry_after("1.5", now), 1500ms);
  EXPECT_EQ(parse_retry_after("-5", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("soon", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("12abc", now), std::nullopt);
  // IMF-fixdate, RFC 850 and asctime forms of 10:00:42 the same day.
  EXPECT_EQ(parse_retry_after("Thu, 26 Nov 2026 10:00:42 GMT", now), 42000ms);
  EXPECT_EQ(parse_retry_after("Thursday, 26-Nov-26 10:00:42 GMT", now), 42000ms);
  EXPECT_EQ(parse_retry_after("Thu Nov 26 10:00:42 2026", now), 42000ms);
  EXPECT_EQ(parse_retry_after("Thu Nov  6 10:00:42 2026", now), 0ms);  // in the past: now
  EXPECT_EQ(parse_retry_after("Wed, 25 Nov 2026 10:00:00 GMT", now), 0ms);
  EXPECT_EQ(parse_retry_after("Thu, 26 Nov 2026 10:00:42 PST", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("Thu, 31 Nov 2026 10:00:42 GMT", now), std::nullopt);  // no such day
  EXPECT_EQ(parse_retry_after("Thu, 26 Nov 2026 25:00:42 GMT", now), std::nullopt);
}

TEST(RetryHint, GoStyleDurations) {
  EXPECT_EQ(parse_duration("6m0s"), 360000ms);
  EXPECT_EQ(parse_duration("1m30s"), 90000ms);
  EXPECT_EQ(parse_duration("12ms"), 12ms);
  EXPECT_EQ(parse_duration("6.5s"), 6500ms);
  EXPECT_EQ(parse_duration("2h"), milliseconds(2h));
  EXPECT_EQ(parse_duration("1h2m3.5s"), milliseconds(3723500));
  EXPECT_EQ(parse_duration("2m59.56s"), milliseconds(179560));
  EXPECT_EQ(parse_duration("500us"), 1ms);  // rounds up: never early
  EXPECT_EQ(parse_duration("0s"), 0ms);
  EXPECT_EQ(parse_duration("0"), 0ms);
  EXPECT_EQ(parse_duration("-1s"), std::nullopt);
  EXPECT_EQ(parse_duration("6"), std::nullopt);
  EXPECT_EQ(parse_duration("6x"), std::nullopt);
  EXPECT_EQ(parse_duration("s"), std::nullopt);
  EXPECT_EQ(parse_duration(""), std::nullopt);
  EXPECT_EQ(parse_duration("1.s"), std::nullopt);
  EXPECT_EQ(parse_proto_duration("36s"), 36000ms);
  EXPECT_EQ(parse_proto_duration("1.5s"), 1500ms);
  EXPECT_EQ(parse_proto_duration("0.000500s"), 1ms);
  // Absurd values cannot overflow; clamping caps them.
  const auto huge = parse_duration("99999999999999999999h");
  ASSERT_TRUE(huge);
  EXPECT_EQ(clamp_hint(huge, max_rate_limit_hint), max_rate_limit_hint);
}

TEST(RetryHint, Rfc3339) {
  const auto t = parse_rfc3339("2026-11-26T10:00:30Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(until(*t, now), 30000ms);
  EXPECT_EQ(until(*parse_rfc3339("2026-11-26T11:00:30+01:00"), now), 30000ms);
  EXPECT_EQ(until(*parse_rfc3339("2026-11-26T05:00:30.250-05:00"), now), 30250ms);
  EXPECT_EQ(until(*parse_rfc3339("2026-11-26 10:00:01z"), now), 1000ms);
  EXPECT_EQ(until(*parse_rfc3339("2026-11-25T10:00:00Z"), now), 0ms);
  EXPECT_EQ(parse_rfc3339("2026-11-26T10:00:30"), std::nullopt);  // offset required
  EXPECT_EQ(parse_rfc3339("2026-13-26T10:00:30Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("yesterday"), std::nullopt);
}

TEST(RetryHint, ClampAndMessage) {
  EXPECT_EQ(clamp_hint(milliseconds(48h), max_rate_limit_hint), max_rate_limit_hint);
  EXPECT_EQ(clamp_hint(5000ms, max_rate_limit_hint), 5000ms);
  EXPECT_EQ(clamp_hint(std::nullopt, max_rate_limit_hint), std::nullopt);
  EXPECT_EQ(clamp_hint(-5ms, max_rate_limit_hint), std::nullopt);
  EXPECT_EQ(duration_in_message("Limit 500, Used 500. Please try again in 1m26.4s. Visit x"), 86400ms);
  EXPECT_EQ(duration_in_message("Please retry in 20.04466179s."), 20045ms);
  EXPECT_EQ(duration_in_message("no hint here"), std::nullopt);
}

TEST(DayBoundary, FixedOffsetAndPacificDst) {
  using providers::day_boundary;
  using providers::next_day_boundary;
  // UTC midnight.
  EXPECT_EQ(until(next_day_boundary({}, now), now), milliseconds(14h));
  // Z.AI: 16:00 UTC.
  EXPECT_EQ(until(next_day_boundary({day_boundary::rule::fixed_offset, std::chrono::minutes(960)}, now), now),
            milliseconds(6h));
  const day_boundary pacific{day_boundary::rule::us_pacific, {}};
  // November 26: PST, midnight = 08:00 UTC next day.
  EXPECT_EQ(until(next_day_boundary(pacific, now), now), milliseconds(22h));
  // July 1, 10:00 UTC: PDT, midnight = 07:00 UTC next day.
  const auto july = kd::make_time(2026, 7, 1, 10, 0, 0);
  EXPECT_EQ(until(next_day_boundary(pacific, july), july), milliseconds(21h));
  // 2026-03-08 is the second Sunday of March: midnight that day is still PST
  // (08:00 UTC), the next one is PDT (07:00 UTC on the 9th).
  const auto mar = kd::make_time(2026, 3, 8, 9, 0, 0);
  EXPECT_EQ(next_day_boundary(pacific, mar), kd::make_time(2026, 3, 9, 7, 0, 0));
  // 2026-11-01 is the first Sunday of November: midnight Nov 1 is PDT, Nov 2 PST.
  const auto nov = kd::make_time(2026, 11, 1, 7, 30, 0);
  EXPECT_EQ(next_day_boundary(pacific, nov), kd::make_time(2026, 11, 2, 8, 0, 0));
  EXPECT_EQ(next_day_boundary(pacific, kd::make_time(2026, 11, 1, 6, 59, 0)), kd::make_time(2026, 11, 1, 7, 0, 0));
}

// ---- the classifier, one row per case ------------------------------------------

struct row {
  const char* name;
  const char* provider;
  int status;
  headers hdrs;
  std::string body;
  outcome_kind kind;
  std::optional<milliseconds> hint = std::nullopt;
  bool account_wide = false;
};

const std::string openai_rate_requests =
    R"({"error":{"message":"Rate limit reached for gpt-4o in organization org-test on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms.","type":"requests","param":null,"code":"rate_limit_exceeded"}})";
const std::string openai_rate_tokens =
    R"({"error":{"message":"Rate limit reached for gpt-4o in organization org-test on tokens per min (TPM): Limit 30000, Used 29500, Requested 900.","type":"tokens","param":null,"code":"rate_limit_exceeded"}})";
const std::string openai_insufficient =
    R"({"error":{"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}})";
const std::string anthropic_rate =
    R"({"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed your organization's rate limit of 50 requests per minute."},"request_id":"req_test_1"})";
const std::string gemini_per_minute =
    R"({"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-flash"},"quotaValue":"10"}]},{"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more about Gemini API quotas","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"36s"}]}})";
const std::string gemini_per_day =
    R"({"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier"},{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-flash"}}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"51s"}]}})";
const std::string gemini_bad_key =
    R"({"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}},{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"API key not valid. Please pass a valid API key."}]}})";

std::vector<row> rows() {
  using enum outcome_kind;
  // One row per case, laid out by hand: clang-format would put every field
  // on a line of its own.
  // clang-format off
  return {
      // OpenAI
      {"openai 200", "openai", 200, {}, R"({"id":"chatcmpl-test"})", success},
      {"openai 429 insufficient_quota", "openai", 429, {}, openai_insufficient, out_of_credit, {}, true},
      {"openai 429 credit_balance_exhausted", "openai", 429, {},
       R"({"error":{"message":"Your credit balance is too low.","type":"insufficient_quota","param":null,"code":"credit_balance_exhausted"}})",
       out_of_credit, {}, true},
      {"openai 429 rate_limit_exceeded uses x-ratelimit-reset-requests", "openai", 429,
       {{"x-ratelimit-limit-requests", "500"}, {"x-ratelimit-remaining-requests", "0"},
        {"x-ratelimit-reset-requests", "6m0s"}, {"x-ratelimit-remaining-tokens", "29000"},
        {"x-ratelimit-reset-tokens", "12ms"}},
       openai_rate_requests, rate_limited, 360000ms, true},
      {"openai 429 tokens exhausted uses x-ratelimit-reset-tokens", "openai", 429,
       {{"x-ratelimit-remaining-requests", "499"}, {"x-ratelimit-reset-requests", "120ms"},
        {"x-ratelimit-remaining-tokens", "0"}, {"x-ratelimit-reset-tokens", "1m30s"}},
       openai_rate_tokens, rate_limited, 90000ms, true},
      {"openai 429 retry-after-ms beats retry-after and resets", "openai", 429,
       {{"Retry-After", "2"}, {"retry-after-ms", "1500"}, {"x-ratelimit-reset-requests", "6m0s"}},
       openai_rate_requests, rate_limited, 1500ms, true},
      {"openai-compatible 429 reset in bare seconds", "openai", 429,
       {{"x-ratelimit-remaining-requests", "0"}, {"x-ratelimit-reset-requests", "5"}},
       R"({"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}})", rate_limited,
       5000ms, true},
      {"openai 429 hint only in the message", "openai", 429, {},
       R"({"error":{"message":"Rate limit reached for requests. Please try again in 6.5s.","type":"requests","code":"rate_limit_exceeded"}})",
       rate_limited, 6500ms, true},
      {"openai 429 per-day limit", "openai", 429, {{"retry-after", "3600"}},
       R"({"error":{"message":"Rate limit reached for gpt-4o in organization org-test on requests per day (RPD): Limit 10000, Used 10000, Requested 1.","type":"requests","code":"rate_limit_exceeded"}})",
       quota_exhausted, 3600000ms, true},
      {"openai 429 HTTP-date retry-after", "openai", 429, {{"Retry-After", "Thu, 26 Nov 2026 10:00:42 GMT"}},
       openai_rate_requests, rate_limited, 42000ms, true},
      {"openai 429 absurd retry-after is clamped to 24h", "openai", 429, {{"retry-after", "999999999"}},
       openai_rate_requests, rate_limited, milliseconds(24h), true},
      {"openai 429 negative retry-after is ignored", "openai", 429, {{"retry-after", "-5"}},
       R"({"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}})", rate_limited,
       std::nullopt, true},
      {"openai 429 html body", "openai", 429, {{"retry-after", "30"}}, "<html><body>Too Many Requests</body></html>",
       rate_limited, 30000ms, true},
      {"openai 401 invalid_api_key", "openai", 401, {},
       R"({"error":{"message":"Incorrect API key provided: sk-test***ab12. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})",
       invalid_key},
      {"openai 403 region", "openai", 403, {},
       R"({"error":{"code":"unsupported_country_region_territory","message":"Country, region, or territory not supported","param":null,"type":"request_forbidden"}})",
       forbidden},
      {"openai 404 model_not_found", "openai", 404, {},
       R"({"error":{"message":"The model `gpt-4-vision-preview` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}})",
       model_unavailable},
      {"openai 400 context length", "openai", 400, {},
       R"({"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}})",
       bad_request},
      {"openai 500", "openai", 500, {}, R"({"error":{"message":"The server had an error","type":"server_error"}})",
       transient},
      {"openai 503 with retry-after", "openai", 503, {{"retry-after", "5"}}, "", transient, 5000ms},
      {"openai 302 redirect", "openai", 302, {}, "", bad_request},
      {"no response at all", "openai", 0, {}, "", transient},

      // Anthropic
      {"anthropic 429 + retry-after", "anthropic", 429,
       {{"retry-after", "17"}, {"anthropic-ratelimit-requests-remaining", "0"},
        {"anthropic-ratelimit-requests-reset", "2026-11-26T10:00:45Z"}},
       anthropic_rate, rate_limited, 17000ms, true},
      {"anthropic 429 spend cap (details.error_code)", "anthropic", 429, {},
       R"({"type":"error","error":{"type":"rate_limit_error","message":"You have reached your usage tier's monthly spend limit.","details":{"error_code":"enforced_spend_limit_reached"}},"request_id":"req_test_2"})",
       out_of_credit, {}, true},
      {"anthropic 429 without retry-after is the spend cap", "anthropic", 429, {}, anthropic_rate, out_of_credit, {},
       true},
      {"anthropic 529 overloaded_error", "anthropic", 529, {},
       R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_test_3"})",
       transient},
      {"anthropic 401 authentication_error", "anthropic", 401, {},
       R"({"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req_test_4"})",
       invalid_key},
      {"anthropic 402 billing_error", "anthropic", 402, {},
       R"({"type":"error","error":{"type":"billing_error","message":"Your credit balance is too low to access the Anthropic API."}})",
       out_of_credit, {}, true},
      {"anthropic 403 permission_error", "anthropic", 403, {},
       R"({"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission to use the specified resource."}})",
       forbidden},
      {"anthropic 404 retired model", "anthropic", 404, {},
       R"({"type":"error","error":{"type":"not_found_error","message":"model: claude-3-opus-20240229"},"request_id":"req_test_5"})",
       model_unavailable},
      {"anthropic 400 user spend limit", "anthropic", 400, {},
       R"({"type":"error","error":{"type":"invalid_request_error","message":"You have reached your specified API usage limits. You will regain access on 2026-12-01 at 00:00 UTC."}})",
       out_of_credit, {}, true},
      {"anthropic 400 bad request", "anthropic", 400, {},
       R"({"type":"error","error":{"type":"invalid_request_error","message":"messages: at least one message is required"}})",
       bad_request},
      {"anthropic 413", "anthropic", 413, {},
       R"({"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}})",
       bad_request},
      {"anthropic 500 api_error", "anthropic", 500, {},
       R"({"type":"error","error":{"type":"api_error","message":"Internal server error"}})", transient},

      // Gemini
      {"gemini 400 API_KEY_INVALID", "google", 400, {}, gemini_bad_key, invalid_key},
      {"gemini 400 API_KEY_INVALID in an array", "google", 400, {}, "[" + gemini_bad_key + "]", invalid_key},
      {"gemini 429 RetryInfo.retryDelay", "google", 429, {}, gemini_per_minute, rate_limited, 36000ms, true},
      {"gemini 429 per-day quotaId waits for Pacific midnight", "google", 429, {}, gemini_per_day, quota_exhausted,
       milliseconds(22h), true},
      {"gemini 429 delay only in the message", "google", 429, {},
       R"({"error":{"code":429,"message":"Resource exhausted. Please retry in 20.04466179s.","status":"RESOURCE_EXHAUSTED"}})",
       rate_limited, 20045ms, true},
      {"gemini 429 limit 0: model not on this tier", "google", 429, {},
       R"({"error":{"code":429,"message":"You exceeded your current quota.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 0, model: gemini-2.5-pro","status":"RESOURCE_EXHAUSTED"}})",
       model_unavailable, {}, true},
      {"gemini 429 prepayment credits depleted", "google", 429, {},
       R"({"error":{"code":429,"message":"Your prepayment credits are depleted. Please go to AI Studio at https://ai.studio/projects to manage your project and billing.","status":"RESOURCE_EXHAUSTED"}})",
       out_of_credit, {}, true},
      {"gemini 403 PERMISSION_DENIED", "google", 403, {},
       R"({"error":{"code":403,"message":"Permission denied: Consumer has been suspended.","status":"PERMISSION_DENIED"}})",
       forbidden},
      {"gemini 404 retired model", "google", 404, {},
       R"({"error":{"code":404,"message":"models/gemini-1.5-pro is not found for API version v1beta, or is not supported for generateContent.","status":"NOT_FOUND"}})",
       model_unavailable},
      {"gemini 503 UNAVAILABLE", "google", 503, {},
       R"({"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}})",
       transient},
      {"gemini 400 bad argument", "google", 400, {},
       R"({"error":{"code":400,"message":"Invalid JSON payload received.","status":"INVALID_ARGUMENT"}})", bad_request},

      // Z.AI
      {"zai 429 1113 no balance", "zai", 429, {},
       R"({"error":{"code":"1113","message":"Insufficient balance or no resource package. Please recharge."}})",
       out_of_credit, {}, true},
      {"zai 429 1302 concurrency", "zai", 429, {},
       R"({"error":{"code":"1302","message":"High concurrency usage of this API, please reduce concurrency or contact customer service to increase limits"}})",
       rate_limited, {}, true},
      {"zai 429 1302 numeric code", "zai", 429, {}, R"({"error":{"code":1302,"message":"rate"}})", rate_limited, {},
       true},
      {"zai 429 1303 frequency", "zai", 429, {{"retry-after", "3"}},
       R"({"error":{"code":"1303","message":"High frequency usage of this API"}})", rate_limited, 3000ms, true},
      {"zai 429 1304 daily quota until Beijing midnight", "zai", 429, {},
       R"({"error":{"code":"1304","message":"The daily call limit for this API has been reached"}})", quota_exhausted,
       milliseconds(6h), true},
      {"zai 429 1305 traffic limiting", "zai", 429, {},
       R"({"error":{"code":"1305","message":"The service may be temporarily overloaded, please try again later"}})",
       transient},
      {"zai 429 1308 5-hour cap with reset time", "zai", 429, {},
       R"({"error":{"code":"1308","message":"Usage limit reached for 5 hour. Your limit will reset at 2026-11-26 20:30:00"}})",
       quota_exhausted, milliseconds(150min), true},
      {"zai 429 1308 via the Anthropic-compatible endpoint", "zai", 429, {},
       R"({"type":"error","error":{"type":"rate_limit_error","code":"1308","message":"[1308][Usage limit reached for 5 hour. Your limit will reset at 2026-11-26 20:30:00][20261126100000test]"},"request_id":"20261126100000test"})",
       quota_exhausted, milliseconds(150min), true},
      {"zai 429 1310 weekly cap, Chinese message", "zai", 429, {},
       R"({"error":{"code":"1310","message":"您已达到每周/每月使用上限，您的限额将在 2026-12-01 00:00:00 重置"}})",
       quota_exhausted, milliseconds(102h), true},
      {"zai 401 1002 bad token", "zai", 401, {},
       R"({"error":{"code":"1002","message":"Authorization Token非法，请确认Authorization Token正确传递。"}})",
       invalid_key},
      {"zai 401 1000 auth failed", "zai", 401, {}, R"({"error":{"code":"1000","message":"Authentication failed"}})",
       invalid_key},
      {"zai 400 1211 model missing", "zai", 400, {}, R"({"error":{"code":"1211","message":"Model does not exist"}})",
       model_unavailable},
      {"zai 400 1214 bad parameter", "zai", 400, {}, R"({"error":{"code":"1214","message":"messages parameter invalid"}})",
       bad_request},
      {"zai 500", "zai", 500, {}, R"({"error":{"code":"500","message":"Internal Error"}})", transient},

      // Mistral
      {"mistral 402 no credit", "mistral", 402, {},
       R"({"object":"error","message":"Payment required","type":"invalid_request_error","param":null,"code":null})",
       out_of_credit, {}, true},
      {"mistral 429", "mistral", 429, {},
       R"({"object":"error","message":"Rate limit exceeded","type":"rate_limited","param":null,"code":"1300"})",
       rate_limited, {}, true},
      {"mistral 429 + Retry-After", "mistral", 429, {{"Retry-After", "3"}},
       R"({"object":"error","message":"Rate limit exceeded","type":"rate_limited","param":null,"code":"1300"})",
       rate_limited, 3000ms, true},
      {"mistral 401", "mistral", 401, {}, R"({"message":"Unauthorized","request_id":"test"})", invalid_key},
      {"mistral 400 unknown model", "mistral", 400, {},
       R"({"object":"error","message":"Invalid model: pixtral-12b-2409","type":"invalid_request_error","param":"model","code":"unknown_model"})",
       model_unavailable},
      {"mistral 422", "mistral", 422, {},
       R"({"object":"error","message":"Extra inputs are not permitted","type":"invalid_request_error","param":null,"code":null})",
       bad_request},

      // Groq
      {"groq 429 + retry-after", "groq", 429,
       {{"retry-after", "7"}, {"x-ratelimit-remaining-tokens", "0"}, {"x-ratelimit-reset-tokens", "7.66s"}},
       R"({"error":{"message":"Rate limit reached for model `qwen/qwen3.6-27b` in organization `org_test` service tier `on_demand` on tokens per minute (TPM): Limit 6000, Used 5800, Requested 900. Please try again in 7.66s.","type":"tokens","code":"rate_limit_exceeded"}})",
       rate_limited, 7000ms, true},
      {"groq 429 per day", "groq", 429, {{"retry-after", "86"}},
       R"({"error":{"message":"Rate limit reached for model `qwen/qwen3.6-27b` in organization `org_test` service tier `on_demand` on requests per day (RPD): Limit 14400, Used 14400, Requested 1. Please try again in 1m26.4s.","type":"requests","code":"rate_limit_exceeded"}})",
       quota_exhausted, 86000ms, true},
      {"groq 400 model_decommissioned", "groq", 400, {},
       R"({"error":{"message":"The model `llama-3.2-11b-vision-preview` has been decommissioned and is no longer supported. Please refer to https://console.groq.com/docs/deprecations for a recommendation on which model to use instead.","type":"invalid_request_error","code":"model_decommissioned"}})",
       model_unavailable},
      {"groq 404 model gone", "groq", 404, {},
       R"({"error":{"message":"The model llama-3.3-70b-versatile does not exist or you do not have access to it."}})",
       model_unavailable},
      {"groq 498 flex capacity", "groq", 498, {},
       R"({"error":{"message":"Flex tier capacity exceeded","type":"capacity_exceeded"}})", transient},
      {"groq 401", "groq", 401, {},
       R"({"error":{"message":"Invalid API Key","type":"invalid_request_error","code":"invalid_api_key"}})",
       invalid_key},
      {"groq 413", "groq", 413, {},
       R"({"error":{"message":"Request Entity Too Large","type":"invalid_request_error"}})", bad_request},

      // NVIDIA
      {"nvidia 403 Authorization failed", "nvidia", 403, {},
       R"({"status":403,"title":"Forbidden","detail":"Authorization failed"})", invalid_key},
      {"nvidia 401 invalid_token", "nvidia", 401,
       {{"www-authenticate",
         R"(Bearer error="invalid_token", error_description="Bearer token is malformed", error_uri="https://tools.ietf.org/html/rfc6750#section-3.1")"}},
       "Unauthorized", invalid_key},
      {"nvidia 404 function not found for account", "nvidia", 404, {},
       R"({"detail":"Function '00000000-0000-0000-0000-000000000000': Not found for account 'test-account'"})",
       model_unavailable},
      {"nvidia 429 without hints", "nvidia", 429, {}, R"({"status":429,"title":"Too Many Requests"})", rate_limited,
       std::nullopt, true},
      {"nvidia 502", "nvidia", 502, {}, "<html>Bad Gateway</html>", transient},
      {"nvidia 422", "nvidia", 422, {},
       R"({"type":"urn:kaizen:problem-details:validation-failed","title":"Validation failed","status":422,"detail":"body -> messages: field required"})",
       bad_request},
  };
  // clang-format on
}

TEST(Classifier, Table) {
  for (const auto& r : rows()) {
    SCOPED_TRACE(r.name);
    const auto* p = providers::find_builtin(r.provider);
    ASSERT_NE(p, nullptr);
    const auto c = classify::classify(*p, r.status, r.hdrs, r.body, now);
    EXPECT_EQ(to_string(c.result.kind), to_string(r.kind)) << "reason: " << c.reason;
    EXPECT_EQ(c.result.retry_after, r.hint) << "reason: " << c.reason;
    EXPECT_EQ(c.result.account_wide, r.account_wide) << "reason: " << c.reason;
    EXPECT_FALSE(c.reason.empty());
    // Reasons carry codes, never message text (an OpenAI 401 message quotes the key).
    EXPECT_EQ(c.reason.find("sk-test"), std::string::npos) << c.reason;
    EXPECT_LE(c.reason.size(), 64u) << c.reason;
  }
}

TEST(Classifier, ProviderFaultsNeverBlameTheKey) {
  for (const auto& r : rows())
    if (r.kind == outcome_kind::transient || r.kind == outcome_kind::model_unavailable ||
        r.kind == outcome_kind::bad_request) {
      const auto c = classify::classify(*providers::find_builtin(r.provider), r.status, r.hdrs, r.body, now);
      EXPECT_FALSE(blames_key(c.result.kind)) << r.name;
    }
}

TEST(Classifier, CompileTimeProviderAndCallableHeaders) {
  // Headers from any container, through a callable: no copy.
  const std::vector<std::pair<std::string, std::string>> raw = {{"Retry-After", "9"}};
  auto lookup = [&](std::string_view name) -> std::optional<std::string_view> {
    for (const auto& [n, v] : raw)
      if (iequals(n, name)) return v;
    return std::nullopt;
  };
  const auto c = classify::classify<providers::groq>(
      429, lookup, R"({"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}})", now);
  EXPECT_EQ(c.result, outcome::rate_limited(9000ms).with_account_wide());
}

TEST(Classifier, RuntimeDescriptorAndReasonSanitising) {
  // An OpenAI-compatible proxy described at run time uses the OpenAI rules.
  providers::provider_descriptor proxy;
  proxy.id = "proxy";
  proxy.env_prefix = "PROXY";
  proxy.display_name = "PROXY";
  proxy.base_url = "http://127.0.0.1:1234/v1";
  proxy.errors = providers::error_dialect::openai;
  const std::string body =
      R"j({"error":{"type":"insufficient_quota","code":"quota exceeded\n(see https://example.invalid/billing for details; this text goes on and on)"}})j";
  const auto c = classify::classify(proxy, 429, headers{}, body, now);
  EXPECT_EQ(c.result.kind, outcome_kind::out_of_credit);
  EXPECT_LE(c.reason.size(), 52u) << c.reason;
  EXPECT_EQ(c.reason.find('\n'), std::string::npos);
  EXPECT_EQ(c.reason.find('('), std::string::npos);
  EXPECT_EQ(c.reason.find('/'), std::string::npos);
}

TEST(Classifier, OptionsChangeTheCaps) {
  classify_options opt;
  opt.rate_limit_cap = 10000ms;
  const headers h = {{"retry-after", "60"}};
  const auto c = classify::classify(*providers::find_builtin("groq"), 429, h, "", now, opt);
  EXPECT_EQ(c.result.retry_after, 10000ms);
}

TEST(Classifier, GarbageNeverThrows) {
  const std::string deep(5000, '[');
  const std::vector<std::string> bodies = {"",
                                           "null",
                                           "[]",
                                           "{}",
                                           "\"error\"",
                                           "{\"error\":null}",
                                           "{\"error\":[1,2]}",
                                           "{\"error\":{\"code\":{}}}",
                                           "{\"error\":{\"code\":1e999}}",
                                           deep,
                                           std::string("\xff\xfe\x00\x01", 4),
                                           R"({"error":{"details":"nope","message":5}})",
                                           R"({"error":{"details":[null,1,{"@type":7}]}})",
                                           R"({"detail":[{"loc":["body"],"msg":"field required"}]})"};
  for (const auto& p : providers::builtin_descriptors())
    for (int status : {400, 401, 403, 404, 429, 500, 529})
      for (const auto& b : bodies) {
        EXPECT_NO_THROW({
          const auto c = classify::classify(p, status, headers{{"retry-after", "garbage"}}, b, now);
          (void)c;
        }) << p.id
           << " " << status;
      }
}

// ---- issue 28 item 7: the default pool follows the provider's time ---------------

using manual_pool = keypool::pool<keypool::runtime_provider>::with<keypool::policy::clock<keypool::clock::manual>>;

/// How long one key of `provider` sits out after this response, under the default lockout.
std::optional<milliseconds> locked_for(const char* provider, const headers& h, const std::string& body) {
  const auto* d = providers::find_builtin(provider);
  manual_pool p(d->info(), {{"KEY_1", "secret-one"}});
  const auto c = classify::classify(*d, 429, h, body, now);
  p.report(*p.acquire(), c.result);
  return p.snapshot().keys[0].available_in;
}

const std::string plain_429 =
    R"({"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}})";

TEST(DefaultLockout, FollowsRetryAfterInEveryFormAndSixtySecondsWithout) {
  EXPECT_EQ(locked_for("openai", {{"retry-after", "300"}}, plain_429), 300s);
  EXPECT_EQ(locked_for("openai", {{"retry-after", "15"}}, plain_429), 15s);
  EXPECT_EQ(locked_for("openai", {}, plain_429), 60s);
  EXPECT_EQ(locked_for("openai", {{"retry-after", "999999999"}}, plain_429), 24h);  // clamped
  EXPECT_EQ(locked_for("openai", {{"retry-after", "0"}}, plain_429), 1s);           // at least 1 s
  EXPECT_EQ(locked_for("openai", {{"retry-after-ms", "2500"}}, plain_429), 2500ms);
  EXPECT_EQ(locked_for("openai", {{"x-ratelimit-remaining-requests", "0"}, {"x-ratelimit-reset-requests", "1m30s"}},
                       plain_429),
            90s);
  EXPECT_EQ(locked_for("openai", {},
                       R"({"error":{"message":"Rate limit reached. Please try again in 1m30s.","type":"requests"}})"),
            90s);
  EXPECT_EQ(locked_for("google", {}, gemini_per_minute), 36s);  // RetryInfo.retryDelay
}

TEST(DefaultLockout, GroqPerDayLimitWithSecondsInItsHeadersFreesInSeconds) {
  // Groq documents x-ratelimit-*-requests as its requests-per-day limit.
  const std::string rpd =
      R"({"error":{"message":"Rate limit reached for model `qwen/qwen3.6-27b` in organization `org_test` service tier `on_demand` on requests per day (RPD): Limit 14400, Used 14400, Requested 1.","type":"requests","code":"rate_limit_exceeded"}})";
  const headers h{{"x-ratelimit-remaining-requests", "0"}, {"x-ratelimit-reset-requests", "2.5s"}};
  EXPECT_EQ(locked_for("groq", h, rpd), 2500ms);
  // Its x-ratelimit-*-tokens are per minute: on a tokens-per-day 429 they say nothing about the day.
  const std::string tpd =
      R"({"error":{"message":"Rate limit reached for model `qwen/qwen3.6-27b` in organization `org_test` service tier `on_demand` on tokens per day (TPD): Limit 500000, Used 500000, Requested 900.","type":"tokens","code":"rate_limit_exceeded"}})";
  EXPECT_EQ(locked_for("groq", {{"x-ratelimit-reset-tokens", "7.66s"}}, tpd), 14h);  // to UTC midnight
}

TEST(DefaultLockout, OpenAIPerMinuteResetHeadersDoNotFreeAPerDayLimit) {
  const std::string rpd =
      R"({"error":{"message":"Rate limit reached for gpt-4o in organization org-test on requests per day (RPD): Limit 10000, Used 10000, Requested 1.","type":"requests","code":"rate_limit_exceeded"}})";
  const headers h{{"x-ratelimit-remaining-requests", "0"}, {"x-ratelimit-reset-requests", "2.5s"}};
  const auto c = classify::classify(*providers::find_builtin("openai"), 429, h, rpd, now);
  EXPECT_EQ(c.result.kind, outcome_kind::quota_exhausted);
  EXPECT_EQ(c.result.retry_after, milliseconds(14h));  // UTC midnight, not the RPM window
}

TEST(DefaultLockout, GeminiPerDayQuotaWaitsForItsResetWhateverRetryDelaySays) {
  const std::string per_day =
      R"({"error":{"code":429,"message":"You exceeded your current quota.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"30s"}]}})";
  EXPECT_EQ(locked_for("google", {}, per_day), 22h);  // midnight Pacific = 08:00 UTC
}

TEST(HintAuthority, EveryDialectHasARowWithItsSource) {
  using enum providers::error_dialect;
  for (auto d : {openai, anthropic, gemini, zai, mistral, groq, nvidia}) {
    EXPECT_EQ(authority_for(d).dialect, d);
    EXPECT_TRUE(authority_for(d).source.starts_with("https://"));
  }
  EXPECT_EQ(authority_for(groq).reset_requests, limit_window::per_day);
  EXPECT_EQ(authority_for(openai).reset_requests, limit_window::per_minute);
  EXPECT_FALSE(authority_for(gemini).retry_hint_frees_daily);
}

}  // namespace
