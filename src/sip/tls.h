#pragma once
// SIP over TLS (RFC 3261 §26): the server side's TLS context, from the same certificate chain and
// key as the portal's HTTPS (serve's --tls-cert and --tls-key). TLS 1.2 or newer, the Mozilla
// "intermediate" ECDHE AEAD suites for TLS 1.2 (TLS 1.3's own suites are all modern), no
// compression and no renegotiation, which a flood could otherwise use to make the node do
// handshake work over and over on one connection.

#include <utility>  // Boost 1.74's Asio needs this before it in C++20 mode

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

#include "common/result.h"

namespace privox::sip {

// The context for new TLS connections; an error naming tls-cert or tls-key when a file does not
// load or the key is not the certificate's.
Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(const std::string& cert_path,
                                                                    const std::string& key_path);

}  // namespace privox::sip
