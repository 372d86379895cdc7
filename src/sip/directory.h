#pragma once
// What the proxy and registrar need to know about extensions and trunks, behind an interface so
// the SIP core can be tested on a directory of its own. The one it runs on is held in memory
// (sip/memory_directory.h) and kept current by a loader thread (sip/directory_loader.h) with
// DirectoryUpdates. Lookups are on the packet path: implementations answer from memory and never
// ask the store, not even on a miss.
//
// Thread-safety: called from the SIP worker thread only. A DirectoryUpdate is immutable once
// made, so the loader can hand it to the worker.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "accounts/digest_hash.h"
#include "callflow/forwarding.h"
#include "callflow/groups.h"
#include "callflow/conference.h"
#include "callflow/receptionist.h"
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
  // What its phones are challenged with, and the only algorithms accepted from them (the line's or
  // its company's choice, accounts::DigestChoice); empty: the node's default, any it verifies.
  std::vector<accounts::DigestAlgorithm> challenge_algorithms;
  // Its forwarding and do-not-disturb (callflow/forwarding.h); all off by default.
  callflow::Forwarding forwarding;
  // Its company requires encryption (accounts::Extensions::set_company_encryption): its phones
  // register and call only over TLS, with SRTP.
  bool encryption_required = false;
};

struct TrunkInfo {
  std::string id;
  std::string name;
  Peer address;  // resolved when provisioned
  bool trusted = false;
};

// What changed in the provisioning the directory mirrors: lines and trunks added or changed (in
// full: each replaces what was held under its id) and those gone. `replace_all` updates hold the
// whole directory, and what they do not name is gone.
struct DirectoryUpdate {
  bool replace_all = false;
  std::vector<ExtensionInfo> extensions;
  std::vector<std::string> removed_extensions;  // ids
  std::vector<TrunkInfo> trunks;
  std::vector<std::string> removed_trunks;      // ids
  std::vector<callflow::RingGroup> groups;
  std::vector<std::string> removed_groups;      // ids
  std::vector<callflow::Receptionist> receptionists;
  std::vector<std::string> removed_receptionists;  // ids (a log entry naming a menu lands here too: no-op)
  std::vector<callflow::ConferenceRoom> rooms;     // conference rooms (callflow/conference.h)
  std::vector<std::string> removed_rooms;          // ids
  // Companies' own music on hold (callflow/music.h): company id -> the file this node's loader
  // wrote for its rtpengine; removed_music: companies whose music is gone (the node's file plays).
  std::map<std::string, std::string> music;
  std::vector<std::string> removed_music;  // company ids
  int64_t log_seq = 0;  // the change log entry (accounts/directory_log.h) this update brings it up to
};

class Directory {
 public:
  virtual ~Directory() = default;
  virtual const ExtensionInfo* by_sip_user(std::string_view user) = 0;
  virtual const ExtensionInfo* by_number(std::string_view company_id, std::string_view number) = 0;
  virtual const ExtensionInfo* by_did(std::string_view e164) = 0;
  virtual const ExtensionInfo* by_id(std::string_view id) = 0;
  // The trunk whose IP address `from` comes from, on any source port: carriers send from several.
  // When trunks share the address, the one whose port is also `from`'s, else the first by name.
  // Whether its requests need no digest is the caller's business (a REGISTER always needs one).
  virtual const TrunkInfo* trunk_at(const Peer& from) = 0;
  // Where calls to the public network go; nullptr when no trunk is provisioned.
  virtual const TrunkInfo* outbound_trunk() = 0;
  // A dialled string as E.164, read in `country` when it is in national form.
  virtual std::optional<std::string> to_e164(std::string_view dialled, std::string_view country) = 0;
  // Ring groups (callflow/groups.h), by their number in a company's plan and by id; a directory
  // without groups has none.
  virtual const callflow::RingGroup* group_by_number(std::string_view /*company_id*/, std::string_view /*number*/) {
    return nullptr;
  }
  virtual const callflow::RingGroup* group_by_id(std::string_view /*id*/) { return nullptr; }
  // The company's main line, whose box takes a call whose configured target is gone: its
  // lowest-numbered line. nullptr when it has none.
  virtual const ExtensionInfo* main_line(std::string_view /*company_id*/) { return nullptr; }
  // Virtual receptionists (callflow/receptionist.h), by their number in a company's plan and by
  // their DID; a directory without them has none. Their menus are read per call, off the worker.
  virtual const callflow::Receptionist* receptionist_by_number(std::string_view /*company_id*/,
                                                               std::string_view /*number*/) {
    return nullptr;
  }
  virtual const callflow::Receptionist* receptionist_by_did(std::string_view /*e164*/) { return nullptr; }
  virtual const callflow::Receptionist* receptionist_by_id(std::string_view /*id*/) { return nullptr; }
  // Conference rooms (callflow/conference.h): a company's by its number in the plan, any by its
  // DID, a line's own room by the line's id.
  virtual const callflow::ConferenceRoom* room_by_number(std::string_view /*company_id*/, std::string_view /*number*/) {
    return nullptr;
  }
  virtual const callflow::ConferenceRoom* room_by_did(std::string_view /*e164*/) { return nullptr; }
  virtual const callflow::ConferenceRoom* room_of_line(std::string_view /*line_id*/) { return nullptr; }
  virtual const callflow::ConferenceRoom* room_by_id(std::string_view /*id*/) { return nullptr; }
  // The file of the company's own music on hold on this node's disk; nullptr: play the node's
  // `sip.music_on_hold_file`.
  virtual const std::string* music_for(std::string_view /*company_id*/) { return nullptr; }
};

}  // namespace privox::sip
