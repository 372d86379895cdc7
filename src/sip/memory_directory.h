#pragma once
// The Directory the SIP worker runs on: every extension (with its HA1s opened) and every trunk,
// in memory. It never reads the store, not even on a miss: it is filled and kept current only by
// the DirectoryUpdates that the loader thread (sip/directory_loader.h) posts to the worker's event
// loop, so a flood of unknown users costs hash look-ups and nothing more.
//
// An entry that an update changes is changed in place, so a pointer the worker got from a
// look-up stays valid until the entry is removed; updates are applied between messages, never
// while one is being handled.
//
// Thread-safety: the SIP worker thread only, apply() included.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/string_map.h"
#include "sip/directory.h"

namespace privox::sip {

class MemoryDirectory final : public Directory {
 public:
  void apply(const DirectoryUpdate& update);

  const ExtensionInfo* by_sip_user(std::string_view user) override;
  const ExtensionInfo* by_number(std::string_view company_id, std::string_view number) override;
  const ExtensionInfo* by_did(std::string_view e164) override;
  const ExtensionInfo* by_id(std::string_view id) override;
  const TrunkInfo* trunk_at(const Peer& from) override;
  const TrunkInfo* outbound_trunk() override;
  std::optional<std::string> to_e164(std::string_view dialled, std::string_view country) override;
  const callflow::RingGroup* group_by_number(std::string_view company_id, std::string_view number) override;
  const callflow::RingGroup* group_by_id(std::string_view id) override;
  const ExtensionInfo* main_line(std::string_view company_id) override;
  const callflow::Receptionist* receptionist_by_number(std::string_view company_id, std::string_view number) override;
  const callflow::Receptionist* receptionist_by_did(std::string_view e164) override;
  const callflow::Receptionist* receptionist_by_id(std::string_view id) override;
  const callflow::ConferenceRoom* room_by_number(std::string_view company_id, std::string_view number) override;
  const callflow::ConferenceRoom* room_by_did(std::string_view e164) override;
  const callflow::ConferenceRoom* room_of_line(std::string_view line_id) override;
  const callflow::ConferenceRoom* room_by_id(std::string_view id) override;
  const std::string* music_for(std::string_view company_id) override;

  size_t extensions() const { return extensions_.size(); }
  size_t trunks() const { return trunks_.size(); }
  size_t groups() const { return groups_.size(); }
  size_t receptionists() const { return receptionists_.size(); }
  size_t rooms() const { return rooms_.size(); }
  // The change log entry the directory is current with, and how many updates it applied.
  int64_t log_seq() const { return log_seq_; }
  uint64_t updates_applied() const { return updates_; }

 private:
  // Keys are found by string_view, so a look-up on the packet path allocates nothing.
  template <class V>
  using Map = StringMap<V>;

  void index(const ExtensionInfo& e);
  void unindex(const ExtensionInfo& e);
  static std::string number_key(std::string_view company_id, std::string_view number);

  Map<std::unique_ptr<ExtensionInfo>> extensions_;  // by id
  Map<const ExtensionInfo*> by_user_, by_number_, by_did_;
  Map<std::unique_ptr<callflow::RingGroup>> groups_;  // by id
  Map<const callflow::RingGroup*> group_by_number_;
  void apply_groups(const DirectoryUpdate& update);
  Map<std::unique_ptr<callflow::Receptionist>> receptionists_;  // by id
  Map<const callflow::Receptionist*> receptionist_by_number_, receptionist_by_did_;
  void apply_receptionists(const DirectoryUpdate& update);
  Map<std::unique_ptr<callflow::ConferenceRoom>> rooms_;  // by id
  Map<const callflow::ConferenceRoom*> room_by_number_, room_by_did_, room_of_line_;
  void apply_rooms(const DirectoryUpdate& update);
  Map<std::string> music_;  // company id -> file
  std::vector<TrunkInfo> trunks_;  // by name, as accounts lists them: the first with an address takes outbound calls
  int64_t log_seq_ = 0;
  uint64_t updates_ = 0;
  std::string scratch_;  // where by_number() builds its key
  // Normalising a number runs libphonenumber's regular expressions, the costliest step of routing
  // a call; the same few numbers are dialled over and over, so their results are remembered.
  std::unordered_map<std::string, std::optional<std::string>> e164_cache_;
};

}  // namespace privox::sip
