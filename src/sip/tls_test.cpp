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
#include "sip/transport.h"

namespace privox::sip {
namespace {

// A P-256 key and a self-signed certificate for it, written as PEM to `cert_path` and `key_path`.
void write_tls_pair(const std::string& cert_path, const std::string& key_path) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  ASSERT_TRUE(key);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  ASSERT_EQ(X509_set_version(cert.get(), 2), 1);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86'400);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  ASSERT_EQ(X509_set_issuer_name(cert.get(), name), 1);
  ASSERT_EQ(X509_set_pubkey(cert.get(), key.get()), 1);
  ASSERT_GT(X509_sign(cert.get(), key.get(), EVP_sha256()), 0);
  FILE* out = std::fopen(cert_path.c_str(), "w");
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(PEM_write_X509(out, cert.get()), 1);
  std::fclose(out);
  out = std::fopen(key_path.c_str(), "w");
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(PEM_write_PrivateKey(out, key.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
  std::fclose(out);
}

TEST(SipTls, ContextRefusesOldProtocolsCompressionAndRenegotiation) {
  privox::testing::TempDir dir;
  write_tls_pair(dir.file("cert.pem"), dir.file("key.pem"));
  auto ctx = make_tls_context(dir.file("cert.pem"), dir.file("key.pem"));
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  SSL_CTX* native = (*ctx)->native_handle();
  EXPECT_EQ(SSL_CTX_get_min_proto_version(native), TLS1_2_VERSION);
  const uint64_t options = SSL_CTX_get_options(native);
  EXPECT_NE(options & SSL_OP_NO_COMPRESSION, 0u);
  EXPECT_NE(options & SSL_OP_NO_RENEGOTIATION, 0u);
  EXPECT_NE(options & SSL_OP_NO_TLSv1_1, 0u);
}

TEST(SipTls, ContextNamesTheFileThatDoesNotLoad) {
  privox::testing::TempDir dir;
  write_tls_pair(dir.file("cert.pem"), dir.file("key.pem"));
  auto no_cert = make_tls_context(dir.file("missing.pem"), dir.file("key.pem"));
  ASSERT_FALSE(no_cert.ok());
  EXPECT_EQ(no_cert.error().field, "tls-cert");
  auto no_key = make_tls_context(dir.file("cert.pem"), dir.file("missing.pem"));
  ASSERT_FALSE(no_key.ok());
  EXPECT_EQ(no_key.error().field, "tls-key");
  // Another pair's key with this certificate.
  write_tls_pair(dir.file("other_cert.pem"), dir.file("other_key.pem"));
  auto mismatched = make_tls_context(dir.file("cert.pem"), dir.file("other_key.pem"));
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
