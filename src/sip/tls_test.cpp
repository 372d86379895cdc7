#include "sip/tls.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <memory>
#include <string>

#include "common/testing.h"
#include "http/test_tls.h"
#include "sip/transport.h"

namespace privox::sip {
namespace {

using privox::testing::write_tls_pair;

TEST(SipTls, ContextsRefuseOldProtocolsCompressionAndRenegotiation) {
  privox::testing::TempDir dir;
  write_tls_pair(dir.file("cert.pem"), dir.file("key.pem"));
  auto contexts = make_tls_contexts(dir.file("cert.pem"), dir.file("key.pem"));
  ASSERT_TRUE(contexts.ok()) << contexts.error().message;
  for (const auto& ctx : {contexts->server, contexts->client}) {
    ASSERT_NE(ctx, nullptr);
    SSL_CTX* native = ctx->native_handle();
    EXPECT_EQ(SSL_CTX_get_min_proto_version(native), TLS1_2_VERSION);
    const uint64_t options = SSL_CTX_get_options(native);
    EXPECT_NE(options & SSL_OP_NO_COMPRESSION, 0u);
    EXPECT_NE(options & SSL_OP_NO_RENEGOTIATION, 0u);
    EXPECT_NE(options & SSL_OP_NO_TLSv1_1, 0u);
    EXPECT_NE(SSL_CTX_get0_certificate(native), nullptr) << "a phone that asks gets the node's certificate";
  }
  // The server asks phones for a certificate (for the way back, sip/tls.h) but takes any, or none.
  EXPECT_EQ(SSL_CTX_get_verify_mode(contexts->server->native_handle()), SSL_VERIFY_PEER);
}

TEST(SipTls, ContextNamesTheFileThatDoesNotLoad) {
  privox::testing::TempDir dir;
  write_tls_pair(dir.file("cert.pem"), dir.file("key.pem"));
  auto no_cert = make_tls_contexts(dir.file("missing.pem"), dir.file("key.pem"));
  ASSERT_FALSE(no_cert.ok());
  EXPECT_EQ(no_cert.error().field, "tls-cert");
  auto no_key = make_tls_contexts(dir.file("cert.pem"), dir.file("missing.pem"));
  ASSERT_FALSE(no_key.ok());
  EXPECT_EQ(no_key.error().field, "tls-key");
  // Another pair's key with this certificate.
  write_tls_pair(dir.file("other_cert.pem"), dir.file("other_key.pem"));
  auto mismatched = make_tls_contexts(dir.file("cert.pem"), dir.file("other_key.pem"));
  ASSERT_FALSE(mismatched.ok());
  EXPECT_EQ(mismatched.error().field, "tls-key");
}

TEST(SipTls, PeerOnTlsIsNamedTlsInViaAndUris) {
  Peer peer = Peer::from_ipv4(0x7f000001, 5061, TransportKind::tls);
  EXPECT_TRUE(peer.reliable());
  EXPECT_EQ(peer.via_name(), "TLS");
  EXPECT_EQ(peer.uri_param(), ";transport=tls");
  peer.transport = TransportKind::tcp;
  EXPECT_EQ(peer.via_name(), "TCP");
  EXPECT_EQ(peer.uri_param(), ";transport=tcp");
  peer.transport = TransportKind::udp;
  EXPECT_EQ(peer.via_name(), "UDP");
  EXPECT_EQ(peer.uri_param(), "");
}

}  // namespace
}  // namespace privox::sip
