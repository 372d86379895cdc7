#pragma once
// What the proxy and registrar need to know about extensions and trunks, behind an interface so
// the SIP core is tested with an in-memory directory and runs on a cached, store-backed one
// (sip/store_directory.h). Lookups are on the packet path: implementations answer from memory.
//
// Thread-safety: called from the SIP worker thread only.

#include <optional>
#include <string>
#include <string_view>

#include "sip/transport.h"

namespace privox::sip {

struct ExtensionInfo {
  std::string id;
  std::string company_id;
  std::string country;   // the company's ISO 3166 code, for reading national numbers
  std::string number;    // "101": what colleagues dial
  std::string sip_user;  // the digest username and AOR user
  std::string did;       // E.164, empty when none
  std::string ha1_md5;
  std::string ha1_sha256;
};

struct TrunkInfo {
  std::string id;
  std::string name;
  Peer address;  // resolved when provisioned
  bool trusted = false;
};

class Directory {
 public:
  virtual ~Directory() = default;
  virtual const ExtensionInfo* by_sip_user(std::string_view user) = 0;
  virtual const ExtensionInfo* by_number(std::string_view company_id, std::string_view number) = 0;
  virtual const ExtensionInfo* by_did(std::string_view e164) = 0;
  virtual const ExtensionInfo* by_id(std::string_view id) = 0;
  // The trunk whose address `from` is, if any.
  virtual const TrunkInfo* trunk_at(const Peer& from) = 0;
  // Where calls to the public network go; nullptr when no trunk is provisioned.
  virtual const TrunkInfo* outbound_trunk() = 0;
  // A dialled string as E.164, read in `country` when it is in national form.
  virtual std::optional<std::string> to_e164(std::string_view dialled, std::string_view country) = 0;
};

}  // namespace privox::sip
