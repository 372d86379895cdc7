#include "sip/tls.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

namespace privox::sip {
namespace {

namespace ssl = boost::asio::ssl;

// Mozilla's "intermediate" TLS 1.2 list without the DHE suites (they would need DH parameters).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// Names the server's sessions: OpenSSL refuses to resume a session of a server that asks for
// client certificates unless its context has one.
constexpr unsigned char kSessionContext[] = "privox-sip";

// A phone's certificate is taken as presented, self-signed or not: it identifies the device for
// the way back (tls.h), and digest authentication decides what the device may do.
int accept_any_certificate(int /*preverified*/, X509_STORE_CTX* /*chain*/) { return 1; }

Result<std::shared_ptr<ssl::context>> make_context(ssl::context::method method, const std::string& cert_path,
                                                   const std::string& key_path) {
  auto ctx = std::make_shared<ssl::context>(method);
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

}  // namespace

Result<TlsContexts> make_tls_contexts(const std::string& cert_path, const std::string& key_path) {
  TlsContexts out;
  PRIVOX_ASSIGN(out.server, make_context(ssl::context::tls_server, cert_path, key_path));
  SSL_CTX* server = out.server->native_handle();
  SSL_CTX_set_verify(server, SSL_VERIFY_PEER, accept_any_certificate);
  if (SSL_CTX_set_session_id_context(server, kSessionContext, sizeof kSessionContext - 1) != 1)
    return make_error(ErrorCode::internal, "the TLS library refuses privox's session context");
  PRIVOX_ASSIGN(out.client, make_context(ssl::context::tls_client, cert_path, key_path));
  // The chain is not what is checked on the way back: the pin is (sip/server.cpp), once the
  // handshake is done and before a byte of SIP is written. A client sees the server's certificate
  // without verifying it.
  SSL_CTX_set_verify(out.client->native_handle(), SSL_VERIFY_NONE, nullptr);
  return out;
}

std::optional<CertificatePin> peer_certificate_pin(const SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert) return std::nullopt;
  CertificatePin pin{};
  unsigned int length = 0;
  if (X509_digest(cert, EVP_sha256(), pin.data(), &length) != 1 || length != pin.size()) return std::nullopt;
  return pin;
}

}  // namespace privox::sip
