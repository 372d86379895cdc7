#pragma once
// The Directory the SIP worker runs on: every extension (with its HA1s opened) and trunk held in
// memory, loaded from the store at start and reloaded when a look-up misses (provisioning through
// the CLI while privox serves) — at most once per `reload_interval` so that a flood of unknown
// users cannot turn into a flood of queries.
//
// Thread-safety: the SIP worker thread only.

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "accounts/extensions.h"
#include "accounts/trunks.h"
#include "sip/directory.h"

namespace privox::sip {

class StoreDirectory final : public Directory {
 public:
  StoreDirectory(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                 int64_t reload_interval_us = 1'000'000);

  // Loads everything now; the error when the store cannot be read.
  Status reload();

  const ExtensionInfo* by_sip_user(std::string_view user) override;
  const ExtensionInfo* by_number(std::string_view company_id, std::string_view number) override;
  const ExtensionInfo* by_did(std::string_view e164) override;
  const ExtensionInfo* by_id(std::string_view id) override;
  const TrunkInfo* trunk_at(const Peer& from) override;
  const TrunkInfo* outbound_trunk() override;
  std::optional<std::string> to_e164(std::string_view dialled, std::string_view country) override;

  size_t extensions() const { return extensions_.size(); }

 private:
  template <class Map>
  const ExtensionInfo* lookup(const Map& map, const std::string& key);
  // After a miss: at most once per interval, a cheap query tells whether provisioning changed,
  // and only then is everything reloaded. True when it reloaded.
  bool reload_if_due();
  Result<std::string> fingerprint();

  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  const int64_t reload_interval_us_;
  int64_t last_check_us_ = 0;
  std::string fingerprint_;
  std::vector<std::unique_ptr<ExtensionInfo>> extensions_;
  std::unordered_map<std::string, const ExtensionInfo*> by_id_, by_user_, by_number_, by_did_;
  std::vector<TrunkInfo> trunks_;
  // Normalising a number runs libphonenumber's regular expressions, the costliest step of routing
  // a call; the same few numbers are dialled over and over, so their results are remembered.
  std::unordered_map<std::string, std::optional<std::string>> e164_cache_;
};

}  // namespace privox::sip
