#pragma once
// SIP over TLS (RFC 3261 §26): the node's TLS contexts, from the same certificate chain and key as
// the portal's HTTPS (serve's --tls-cert and --tls-key). TLS 1.2 or newer, the Mozilla
// "intermediate" ECDHE AEAD suites for TLS 1.2 (TLS 1.3's own suites are all modern), no
// compression and no renegotiation, which a flood could otherwise use to make the node do
// handshake work over and over on one connection.
//
// The server side asks each phone for its certificate and accepts whatever it presents, or none:
// a phone proves who it is with its digest credentials, not its certificate. What the certificate
// is for is the way back: once a phone's connection has closed, privox opens one to its Contact
// only to a peer that presents the same certificate (CertificatePin), so a call for a line is
// never handed to whoever took over the phone's address and port.

#include <utility>  // Boost 1.74's Asio needs this before it in C++20 mode

#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "sip/transport.h"

namespace privox::sip {

struct TlsContexts {
  std::shared_ptr<boost::asio::ssl::context> server;  // connections phones open
  // Connections privox opens to a phone that listens (sip/server.h); it presents the node's own
  // certificate to a phone that asks for one, and checks the phone's against a CertificatePin.
  std::shared_ptr<boost::asio::ssl::context> client;
  explicit operator bool() const { return server != nullptr; }
};

// The contexts for new TLS connections; an error naming tls-cert or tls-key when a file does not
// load or the key is not the certificate's.
Result<TlsContexts> make_tls_contexts(const std::string& cert_path, const std::string& key_path);

// The pin of a peer's leaf certificate, as presented on a finished handshake.
std::optional<CertificatePin> peer_certificate_pin(const SSL* ssl);

}  // namespace privox::sip
