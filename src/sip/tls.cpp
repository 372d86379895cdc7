#include "sip/tls.h"

#include <fmt/format.h>
#include <openssl/ssl.h>

namespace privox::sip {
namespace {

namespace ssl = boost::asio::ssl;

// Mozilla's "intermediate" TLS 1.2 list without the DHE suites (they would need DH parameters).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

}  // namespace

Result<std::shared_ptr<ssl::context>> make_tls_context(const std::string& cert_path, const std::string& key_path) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::no_compression);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 || SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1)
    return make_error(ErrorCode::internal, "the TLS library refuses privox's TLS 1.2 settings");
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_path, ec);
  if (ec) return invalid("tls-cert", fmt::format("cannot load {}: {}", cert_path, ec.message()));
  ctx->use_private_key_file(key_path, ssl::context::pem, ec);
  if (ec) return invalid("tls-key", fmt::format("cannot load {}: {}", key_path, ec.message()));
  if (SSL_CTX_check_private_key(native) != 1)
    return invalid("tls-key", fmt::format("{} is not the key of the certificate in {}", key_path, cert_path));
  return ctx;
}

}  // namespace privox::sip
