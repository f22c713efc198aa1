#pragma once
/// What differs between the providers that speak OpenAI Chat Completions
/// (docs/providers.md, "Request fields per provider", has the sources): a
/// field one of them names differently or rejects, and Mistral's rule for
/// tool-call ids. A feature the dialect marks unsupported is an encode error
/// (encode_errc::unsupported), so the failover client skips that provider.

#include <cstdint>
#include <string_view>

namespace keypool::wire {

/// How an inline image goes into an openai_chat request.
enum class openai_image_form : std::uint8_t {
  /// {"type":"image_url","image_url":{"url":"data:image/jpeg;base64,..."}}: OpenAI, Groq, Z.AI,
  /// NVIDIA list content, Mistral.
  data_url_object,
  /// {"type":"image_url","image_url":"data:..."}: Mistral's documented form.
  data_url_string,
  /// {"type":"image_url","image_url":{"url":"<base64>"}} without the data: prefix: what some
  /// Z.AI models are reported to accept only.
  raw_base64_object,
  /// Content as one string with <img src="data:..." /> appended: older NVIDIA VLMs.
  inline_img_tag,
};

struct openai_dialect {
  std::string_view provider = "";        ///< named in errors: "openai_chat (mistral): seed is not supported…"
  bool developer_role = false;           ///< send developer turns as "developer" (else as "system")
  std::string_view seed_field = "seed";  ///< Mistral: "random_seed"; empty: seed unsupported
  std::string_view user_field = "user";  ///< Z.AI: "user_id"; empty: user unsupported
  /// Rewrite tool-call ids to 9 characters [a-zA-Z0-9] (a stable hash, the
  /// same for a call and the tool turn answering it): Mistral rejects others.
  bool nine_char_tool_ids = false;
  bool json_schema = true;              ///< response_format json_schema
  bool tool_choice_beyond_auto = true;  ///< tool_choice none / required / named
  bool parallel_tool_calls = true;      ///< the parallel_tool_calls field

  /// The dialect of a built-in provider id; the plain OpenAI one otherwise.
  static constexpr openai_dialect of(std::string_view provider_id) noexcept {
    openai_dialect d;
    d.provider = provider_id;
    if (provider_id == "openai") {
      d.developer_role = true;
    } else if (provider_id == "mistral") {
      d.seed_field = "random_seed";
      d.user_field = "";
      d.nine_char_tool_ids = true;
    } else if (provider_id == "zai") {
      d.seed_field = "";
      d.user_field = "user_id";
      d.json_schema = false;
      d.tool_choice_beyond_auto = false;
      d.parallel_tool_calls = false;
    }
    return d;
  }
};

}  // namespace keypool::wire
