#pragma once
/// The mock provider fleet in one object: the seven mock providers
/// (providers.hpp) behind one loopback server (server.hpp). Start it in a
/// test, a benchmark or the demo; point keypool at it with descriptor(id)
/// (the built-in descriptor with the fleet's base URL) and key_specs(id)
/// (its fake keys), or write a .env for the CLI with write_dotenv().
///
///   keypool::mock::fleet f(keypool::mock::sample_fleet());
///   keypool::pool<...> groq(f.key_specs("groq"));
///   http::route r{f.descriptor("groq"), {"qwen/qwen3.6-27b"}};
///   // with TLS: transport_options.tls.ca_pem = f.ca_pem();
///
/// Thread safety: as provider_fleet and server; every member is safe to call
/// from any thread.

#include <keypool/core/key.hpp>
#include <keypool/mock/config.hpp>
#include <keypool/mock/providers.hpp>
#include <keypool/mock/server.hpp>
#include <keypool/providers/builtin.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace keypool::mock {

class fleet {
 public:
  /// Starts serving at once on 127.0.0.1 (cfg.port, 0 = ephemeral).
  explicit fleet(fleet_config cfg = sample_fleet(), fleet_clock clock = fleet_clock::real())
      : providers_(std::make_unique<provider_fleet>(cfg, std::move(clock))),
        server_(std::make_unique<server>(
            [p = providers_.get()](const incoming& in) {
              return p->handle(
                  in.method, in.target, [&in](std::string_view n) { return in.header(n); }, in.body);
            },
            server_options{cfg.port, cfg.tls, cfg.threads})) {}

  fleet(const fleet&) = delete;
  fleet& operator=(const fleet&) = delete;
  ~fleet() { stop(); }

  /// Stops the server (the providers' state stays readable).
  void stop() { server_->stop(); }

  provider_fleet& providers() noexcept { return *providers_; }
  const provider_fleet& providers() const noexcept { return *providers_; }
  const server& http_server() const noexcept { return *server_; }

  std::uint16_t port() const noexcept { return server_->port(); }
  /// "http://127.0.0.1:PORT" or "https://localhost:PORT".
  std::string origin() const { return server_->origin(); }
  /// The CA to trust for TLS (empty without TLS).
  const std::string& ca_pem() const noexcept { return server_->ca_pem(); }

  /// A provider's base URL at the fleet: "http://127.0.0.1:PORT/groq/openai/v1".
  std::string base_url(std::string_view id) const {
    const auto p = providers_->base_path(id);
    if (p.empty()) throw std::invalid_argument("the mock fleet does not serve '" + std::string(id) + "'");
    return origin() + p;
  }

  /// The built-in descriptor of `id`, pointed at the fleet.
  providers::provider_descriptor descriptor(std::string_view id) const {
    const auto* d = providers::find_builtin(id);
    if (!d) throw std::invalid_argument("unknown provider '" + std::string(id) + "'");
    return d->with_base_url(base_url(id));
  }

  /// The fleet's keys of `id` as a pool takes them (the fake secrets, with
  /// their accounts), in configuration order.
  std::vector<key_spec> key_specs(std::string_view id) const {
    std::vector<key_spec> out;
    if (auto b = providers_->behavior(id))
      for (const auto& k : b->keys) out.push_back({k.variable, k.secret, 1, k.account, 0});
    return out;
  }

  /// A .env text with every key (fake secrets) and every P_BASE_URL of the
  /// fleet: `keypool keys/probe/ask --env` then talk to the fleet.
  std::string dotenv() const {
    std::string out = "# keypool mock fleet at " + origin() + " (fake keys)\n";
    for (const auto& id : providers_->provider_ids()) {
      const auto* d = providers::find_builtin(id);
      out += "\n" + d->env_prefix + "_BASE_URL=" + base_url(id) + "\n";
      if (auto b = providers_->behavior(id))
        for (const auto& k : b->keys) {
          out += k.variable + "=" + k.secret + "\n";
          if (!k.account.empty()) out += k.variable + "_ACCOUNT=" + k.account + "\n";
        }
    }
    return out;
  }

  /// Writes dotenv() to `path` (permissions as the process umask gives).
  void write_dotenv(const std::filesystem::path& path) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(path.string() + ": cannot write");
    out << dotenv();
    if (!out) throw std::runtime_error(path.string() + ": write failed");
  }

 private:
  std::unique_ptr<provider_fleet> providers_;
  std::unique_ptr<server> server_;  // destroyed first: no handler runs after
};

}  // namespace keypool::mock
