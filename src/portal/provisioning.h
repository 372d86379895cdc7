#pragma once
// What a phone needs to register a line (issue 13): the server, port, transports, realm and login
// the Extensions page shows, and the same as provisioning files for baresip (a line of its
// `accounts` file) and two desk-phone families whose formats are public: Yealink's `.cfg`
// auto-provisioning file and Poly (Polycom) UC Software's XML. The device password is never
// stored, so a file holds it only when it is made in the answer to the request that set it (a new
// line, a password reset); any other file has none and says so. The QR code carries the baresip
// account line, the one a phone can be given in a single string.
//
// Thread-safety: free functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "accounts/extensions.h"
#include "portal/api.h"

namespace privox::portal {

enum class ProvisioningFormat { baresip, yealink, polycom };
inline constexpr ProvisioningFormat kProvisioningFormats[] = {ProvisioningFormat::baresip, ProvisioningFormat::yealink,
                                                             ProvisioningFormat::polycom};
std::string_view to_string(ProvisioningFormat format);
// "baresip", "yealink", "polycom"; nullopt for anything else.
std::optional<ProvisioningFormat> parse_provisioning_format(std::string_view text);

struct ProvisioningFile {
  ProvisioningFormat format;
  std::string name;          // e.g. privox-101-yealink.cfg
  std::string content_type;  // text/plain or application/xml
  std::string content;
};

// The file for `line`; with `password` empty, one without a password that says how to get one.
ProvisioningFile provisioning_file(ProvisioningFormat format, const PhoneServer& server,
                                   const accounts::Extension& line, std::string_view password);

// The baresip account line: <sip:LOGIN@HOST:PORT;transport=udp>;auth_pass=PASSWORD (no auth_pass
// when `password` is empty).
std::string baresip_account(const PhoneServer& server, const accounts::Extension& line, std::string_view password);

// `text` as a QR code (error correction M), an SVG of black squares on white with the standard
// four-module quiet zone; "" when libqrencode cannot encode it (too long).
std::string qr_svg(std::string_view text);

}  // namespace privox::portal
