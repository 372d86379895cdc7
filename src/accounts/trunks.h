#pragma once
// Trunks: the carriers' SIP links to the public telephone network. A trunk has a unique name and
// a signalling address (an IP literal or a DNS name, and a port). The port is where privox sends
// to; requests are recognised as the trunk's by the IP address they come from alone, on any source
// port, since carriers send from several ports and load-balanced processes (find_trunk_by_address,
// and sip::Directory::trunk_at on the packet path, by the same rule). A trusted trunk's calls and
// messages are taken without digest authentication; a REGISTER never is, whatever its source.
// Trunks hold no personal data. A trunk added is recorded in the provisioning change log
// (accounts/directory_log.h) in the same transaction.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "privacy/audit.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::accounts {

struct TrunkAddress {
  std::string host;  // normalised: IPv4 dotted quad, IPv6 in RFC 5952 form without brackets, or a lower-case DNS name
  uint16_t port = 0;
};

// Parses "HOST:PORT", with IPv6 in brackets ("[2001:db8::1]:5060"); port 1-65535. Errors name
// the field `address`.
Result<TrunkAddress> parse_trunk_address(std::string_view text);
// The normalised form of an IP literal (IPv6 with or without brackets) or DNS name.
Result<std::string> normalise_host(std::string_view host);
// "host:port", with IPv6 hosts in brackets.
std::string format_trunk_address(const TrunkAddress& address);

struct Trunk {
  std::string id, name;
  TrunkAddress address;
  bool trusted = false;
  int64_t created_at_us = 0;
};

// The trunks named (every trunk when `ids` is empty), by name, inside the caller's transaction:
// what the SIP directory loads.
Result<std::vector<Trunk>> directory_trunks(store::Session& s, const std::vector<std::string>& ids = {});

class Trunks {
 public:
  Trunks(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : store_(store), clock_(clock), audit_(keys, clock) {}

  // What else must commit with a new trunk, run in its transaction with the trunk's id and name:
  // the carrier's entry in the disclosure register (ledgers/disclosures.h, add_carrier_trunk).
  using AlsoInTransaction =
      std::function<Status(store::Session& tx, const std::string& trunk_id, const std::string& trunk_name)>;

  // Returns the new trunk's id. Errors: `name` (empty, too long; conflict when taken), `address`
  // (malformed, or a DNS name for a trusted trunk; conflict when another trunk has it), and any
  // error of `also`, which rolls the trunk back.
  Result<std::string> add_trunk(const std::string& name, const std::string& address, bool trusted,
                                const std::string& actor, const AlsoInTransaction& also = {});
  // The trunk a request from `host`, on source port `port`, comes from: the trunk at that host,
  // whatever its port. When several trunks share the host, the one whose port is `port`, else the
  // first by name. `host` is normalised as add_trunk stores it, so a DNS name matches only a trunk
  // added by that name. not_found (field `address`) when no trunk has the host.
  Result<Trunk> find_trunk_by_address(std::string_view host, uint16_t port);
  // Every trunk, by name.
  Result<std::vector<Trunk>> list_trunks();

 private:
  store::Store& store_;
  const Clock& clock_;
  privacy::AuditChain audit_;
};

}  // namespace privox::accounts
