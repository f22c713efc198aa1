// Image -> description, with failover: a vision chat request (a prompt plus
// one image) through the HTTP failover client over a free-first chain,
// Groq (free, two keys) then OpenAI (paid fallback).
//
// It starts the loopback mock fleet in-process with obviously fake keys and
// a free tier of one request per minute per Groq key, then asks for three
// descriptions: the first two are served by GROQ_API_KEY_1 and _2, the third
// finds both Groq keys rate limited (429 from the mock, each key locked out)
// and is answered by the paid OpenAI key. Each answer prints the text, the
// provider / model / key variable that answered and every attempt.
//
// The mock does not look at pixels: it answers from a template (see
// answer_text() in keypool/mock/detail/success_body.hpp) that names the
// provider and model, counts the images and their decoded size, and echoes
// the prompt, so "(96 bytes)" in the answer is the image this program sent.
//
//   example_vision_request                     # the embedded 16x16 PNG
//   example_vision_request --image photo.jpg   # a file; MIME type from the extension
#include <keypool/chain/chain.hpp>
#include <keypool/http/client.hpp>
#include <keypool/keypool.hpp>
#include <keypool/mock/fleet.hpp>
#include <keypool/providers/builtin.hpp>
#include <keypool/providers/catalog.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace kp = keypool;
namespace http = keypool::http;
namespace pv = keypool::providers;
using namespace std::chrono_literals;

namespace {

/// A valid 16x16 RGB PNG, four coloured quadrants (red, green / blue,
/// yellow), 96 bytes.
constexpr unsigned char embedded_png[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x10, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x91, 0x68,
    0x36, 0x00, 0x00, 0x00, 0x27, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x78, 0xa6, 0xa1, 0x81,
    0x15, 0x69, 0x6c, 0xb1, 0xc1, 0x8a, 0x18, 0x46, 0x35, 0xd0, 0x44, 0x83, 0x46, 0xc0, 0x33, 0xac,
    0xe8, 0xc3, 0x25, 0x0d, 0xac, 0x68, 0x54, 0x03, 0x4d, 0x34, 0x00, 0x00, 0x95, 0x3e, 0x65, 0x90,
    0x48, 0xa8, 0xdc, 0xbe, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

/// The MIME type for a file name's extension, or empty for an unsupported one.
std::string mime_from_extension(const std::string& path) {
  const auto dot = path.rfind('.');
  if (dot == std::string::npos) return {};
  std::string ext = path.substr(dot + 1);
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == "png") return "image/png";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "webp") return "image/webp";
  if (ext == "gif") return "image/gif";
  return {};
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in && !in.eof()) return std::nullopt;
  return ss.str();
}

/// One fake key the mock accepts, with a per-minute limit (0: unlimited).
kp::mock::key_behavior fake_key(std::string variable, std::string secret, std::uint32_t per_minute) {
  kp::mock::key_behavior k;
  k.variable = std::move(variable);
  k.secret = std::move(secret);
  k.per_minute = per_minute;
  return k;
}

/// The provider's vision models from the built-in catalog, first preferred.
std::vector<std::string> vision_models(const pv::catalog& cat, std::string_view provider) {
  std::vector<std::string> out;
  for (const auto& m : cat.for_provider(provider))
    if (m.vision && std::find(out.begin(), out.end(), m.api_id) == out.end()) out.push_back(m.api_id);
  return out;
}

void print_attempts(const std::vector<http::attempt>& attempts) {
  std::printf("  attempts    :\n");
  int n = 0;
  for (const auto& a : attempts) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(a.latency).count();
    std::printf("    %d. %-7s %-18s %-17s %3u %-13s %4lld ms  %s\n", ++n, a.provider.c_str(), a.model.c_str(),
                a.key_variable.c_str(), a.status, std::string(kp::to_string(a.outcome.kind)).c_str(),
                static_cast<long long>(ms), a.reason.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  // ---- the image: --image path, or the embedded PNG --------------------------
  kp::wire::image image{std::string(reinterpret_cast<const char*>(embedded_png), sizeof embedded_png), "image/png"};
  std::string image_name = "embedded 16x16 PNG (four coloured quadrants)";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--image" && i + 1 < argc) {
      const std::string path = argv[++i];
      image.mime_type = mime_from_extension(path);
      if (image.mime_type.empty()) {
        std::fprintf(stderr, "vision_request: %s: unsupported extension (use .png, .jpg, .jpeg, .webp or .gif)\n",
                     path.c_str());
        return 2;
      }
      auto bytes = read_file(path);
      if (!bytes || bytes->empty()) {
        std::fprintf(stderr, "vision_request: %s: cannot read the file (or it is empty)\n", path.c_str());
        return 2;
      }
      image.bytes = std::move(*bytes);
      image_name = path;
    } else {
      std::fprintf(stderr, "usage: %s [--image path.{png,jpg,jpeg,webp,gif}]\n", argv[0]);
      return arg == "--help" || arg == "-h" ? 0 : 2;
    }
  }

  // ---- the mock fleet: Groq's free tier (1 request/minute per key), OpenAI paid ----
  kp::mock::fleet_config fleet_cfg;
  kp::mock::provider_behavior groq_mock;
  groq_mock.id = "groq";
  groq_mock.keys = {fake_key("GROQ_API_KEY_1", "gsk_fake_vision_1", 1),
                    fake_key("GROQ_API_KEY_2", "gsk_fake_vision_2", 1)};
  groq_mock.latency = 10ms;
  kp::mock::provider_behavior openai_mock;
  openai_mock.id = "openai";
  openai_mock.keys = {fake_key("OPENAI_API_KEY_1", "sk-fake-vision-paid-1", 0)};
  openai_mock.latency = 30ms;
  fleet_cfg.providers = {groq_mock, openai_mock};
  kp::mock::fleet fleet(fleet_cfg);

  std::printf("== vision request: mock fleet at %s (fake keys) ==\n", fleet.origin().c_str());
  std::printf("image: %s, %zu bytes, %s\n", image_name.c_str(), image.bytes.size(), image.mime_type.c_str());
  std::printf("chain: groq (free, 2 keys, the mock allows 1 request/minute each) -> openai (paid fallback)\n");
  std::printf(
      "note : the mock does not look at the pixels; it answers from a template naming the provider,\n"
      "       the model, the number of images and their decoded size, and echoing the prompt.\n");

  // ---- pools, chain, client ----------------------------------------------------
  kp::pool<pv::groq> groq(fleet.key_specs("groq"));
  kp::pool<pv::openai> openai(fleet.key_specs("openai"));
  kp::chain chain(groq, openai);

  const auto cat = pv::catalog::builtin();
  std::vector<http::route> routes{{fleet.descriptor("groq"), vision_models(cat, "groq")},
                                  {fleet.descriptor("openai"), vision_models(cat, "openai")}};
  http::transport_options to;
  to.read_timeout = 10s;
  http::transport transport(to);
  http::failover_options fo;
  fo.max_attempts = 6;
  fo.deadline = 20s;
  http::client<decltype(chain)> client(chain, transport, routes, fo);

  kp::wire::chat_request req;
  req.prompt = "Describe this image in one sentence.";
  req.images.push_back(image);
  req.max_tokens = 64;

  // ---- three requests: the third one fails over --------------------------------
  int failed = 0;
  bool failed_over = false;
  for (int n = 1; n <= 3; ++n) {
    std::printf("\n-- request %d of 3 --\n", n);
    const auto r = client.chat(req);
    if (!r) {
      ++failed;
      std::printf("  error       : %s (%s)\n", r.error().message.c_str(),
                  std::string(http::to_string(r.error().code)).c_str());
      print_attempts(r.error().attempts);
      continue;
    }
    std::printf("  description : %s\n", r->response.text.c_str());
    std::printf("  answered by : %s / %s / %s  (%llu+%llu tokens, $%.6f)\n", r->provider.c_str(), r->model.c_str(),
                r->key_variable.c_str(), static_cast<unsigned long long>(r->response.usage.input_tokens),
                static_cast<unsigned long long>(r->response.usage.output_tokens), r->cost_usd);
    print_attempts(r->attempts);
    if (r->attempts.size() > 1 && r->provider == "openai") failed_over = true;
  }

  // ---- what the keys and the mock saw ------------------------------------------
  std::printf("\n%s", kp::report::text(chain.snapshot()).c_str());
  std::printf("\nThe mock fleet saw:\n");
  for (const auto& s : fleet.providers().stats())
    std::printf("   %-7s %llu requests: %llu answered (%llu images), %llu rate limited\n", s.provider.c_str(),
                static_cast<unsigned long long>(s.requests), static_cast<unsigned long long>(s.successes),
                static_cast<unsigned long long>(s.images), static_cast<unsigned long long>(s.rate_limited));

  if (failed != 0) return 1;
  if (!failed_over) {
    std::printf("unexpected: the third request did not fail over from Groq to OpenAI\n");
    return 1;
  }
  return 0;
}
