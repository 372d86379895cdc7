#include "sip/memory_directory.h"

#include <algorithm>

#include "accounts/validation.h"

namespace privox::sip {

std::string MemoryDirectory::number_key(std::string_view company_id, std::string_view number) {
  std::string key(company_id);
  key += '|';
  key += number;
  return key;
}

void MemoryDirectory::index(const ExtensionInfo& e) {
  by_user_[e.sip_user] = &e;
  by_number_[number_key(e.company_id, e.number)] = &e;
  if (!e.did.empty()) by_did_[e.did] = &e;
}

void MemoryDirectory::unindex(const ExtensionInfo& e) {
  // Only the keys that still lead to this line: another line may hold one of them by now.
  const auto drop = [&e](Map<const ExtensionInfo*>& map, std::string_view key) {
    const auto it = map.find(key);
    if (it != map.end() && it->second == &e) map.erase(it);
  };
  drop(by_user_, e.sip_user);
  drop(by_number_, number_key(e.company_id, e.number));
  if (!e.did.empty()) drop(by_did_, e.did);
}

void MemoryDirectory::apply(const DirectoryUpdate& update) {
  if (update.replace_all) {
    by_user_.clear();
    by_number_.clear();
    by_did_.clear();
    extensions_.clear();
    trunks_.clear();
    group_by_number_.clear();
    groups_.clear();
    receptionist_by_number_.clear();
    receptionist_by_did_.clear();
    receptionists_.clear();
    room_by_number_.clear();
    room_by_did_.clear();
    room_of_line_.clear();
    rooms_.clear();
    music_.clear();
  }
  for (const std::string& id : update.removed_extensions) {
    const auto it = extensions_.find(id);
    if (it == extensions_.end()) continue;
    unindex(*it->second);
    extensions_.erase(it);
  }
  // Every changed line leaves the indexes before any goes back in: a DID that moved from one line
  // to another within one update ends up with the line that has it now.
  for (const ExtensionInfo& e : update.extensions)
    if (const auto it = extensions_.find(e.id); it != extensions_.end()) unindex(*it->second);
  for (const ExtensionInfo& e : update.extensions) {
    std::unique_ptr<ExtensionInfo>& slot = extensions_[e.id];
    if (slot) *slot = e;
    else slot = std::make_unique<ExtensionInfo>(e);
    index(*slot);
  }

  std::erase_if(trunks_, [&](const TrunkInfo& t) {
    return std::find(update.removed_trunks.begin(), update.removed_trunks.end(), t.id) != update.removed_trunks.end();
  });
  for (const TrunkInfo& t : update.trunks) {
    const auto same = std::find_if(trunks_.begin(), trunks_.end(), [&](const TrunkInfo& held) { return held.id == t.id; });
    if (same != trunks_.end()) *same = t;
    else trunks_.push_back(t);
  }
  // Byte-wise by name, as accounts::directory_trunks orders them.
  std::sort(trunks_.begin(), trunks_.end(), [](const TrunkInfo& a, const TrunkInfo& b) { return a.name < b.name; });
  apply_groups(update);
  apply_receptionists(update);
  apply_rooms(update);
  for (const std::string& company : update.removed_music) music_.erase(company);
  for (const auto& [company, path] : update.music) music_.insert_or_assign(company, path);
  log_seq_ = update.log_seq;
  ++updates_;
}

void MemoryDirectory::apply_groups(const DirectoryUpdate& update) {
  const auto unindex_group = [this](const callflow::RingGroup& g) {
    const auto it = group_by_number_.find(number_key(g.company_id, g.number));
    if (it != group_by_number_.end() && it->second == &g) group_by_number_.erase(it);
  };
  for (const std::string& id : update.removed_groups) {
    const auto it = groups_.find(id);
    if (it == groups_.end()) continue;
    unindex_group(*it->second);
    groups_.erase(it);
  }
  for (const callflow::RingGroup& g : update.groups)
    if (const auto it = groups_.find(g.id); it != groups_.end()) unindex_group(*it->second);
  for (const callflow::RingGroup& g : update.groups) {
    std::unique_ptr<callflow::RingGroup>& slot = groups_[g.id];
    if (slot) *slot = g;
    else slot = std::make_unique<callflow::RingGroup>(g);
    group_by_number_[number_key(g.company_id, g.number)] = slot.get();
  }
}

const callflow::RingGroup* MemoryDirectory::group_by_number(std::string_view company_id, std::string_view number) {
  // On the packet path for every dialled number no line has (each outbound call): no allocation.
  scratch_.assign(company_id);
  scratch_ += '|';
  scratch_ += number;
  const auto it = group_by_number_.find(std::string_view(scratch_));
  return it == group_by_number_.end() ? nullptr : it->second;
}

void MemoryDirectory::apply_receptionists(const DirectoryUpdate& update) {
  const auto unindex_receptionist = [this](const callflow::Receptionist& r) {
    const auto drop = [&r](Map<const callflow::Receptionist*>& map, std::string_view key) {
      const auto it = map.find(key);
      if (it != map.end() && it->second == &r) map.erase(it);
    };
    drop(receptionist_by_number_, number_key(r.company_id, r.number));
    if (r.did) drop(receptionist_by_did_, *r.did);
  };
  for (const std::string& id : update.removed_receptionists) {
    const auto it = receptionists_.find(id);
    if (it == receptionists_.end()) continue;
    unindex_receptionist(*it->second);
    receptionists_.erase(it);
  }
  for (const callflow::Receptionist& r : update.receptionists)
    if (const auto it = receptionists_.find(r.id); it != receptionists_.end()) unindex_receptionist(*it->second);
  for (const callflow::Receptionist& r : update.receptionists) {
    std::unique_ptr<callflow::Receptionist>& slot = receptionists_[r.id];
    if (slot) *slot = r;
    else slot = std::make_unique<callflow::Receptionist>(r);
    receptionist_by_number_[number_key(r.company_id, r.number)] = slot.get();
    if (r.did) receptionist_by_did_[*r.did] = slot.get();
  }
}

void MemoryDirectory::apply_rooms(const DirectoryUpdate& update) {
  const auto unindex_room = [this](const callflow::ConferenceRoom& r) {
    const auto drop = [&r](Map<const callflow::ConferenceRoom*>& map, std::string_view key) {
      if (const auto it = map.find(key); it != map.end() && it->second->id == r.id) map.erase(it);
    };
    if (r.line_id) drop(room_of_line_, *r.line_id);
    else drop(room_by_number_, number_key(r.company_id, r.number));
    if (r.did) drop(room_by_did_, *r.did);
  };
  for (const std::string& id : update.removed_rooms) {
    const auto it = rooms_.find(id);
    if (it == rooms_.end()) continue;
    unindex_room(*it->second);
    rooms_.erase(it);
  }
  for (const callflow::ConferenceRoom& r : update.rooms)
    if (const auto it = rooms_.find(r.id); it != rooms_.end()) unindex_room(*it->second);
  for (const callflow::ConferenceRoom& r : update.rooms) {
    std::unique_ptr<callflow::ConferenceRoom>& slot = rooms_[r.id];
    if (slot) *slot = r;
    else slot = std::make_unique<callflow::ConferenceRoom>(r);
    if (r.line_id) room_of_line_[*r.line_id] = slot.get();
    else room_by_number_[number_key(r.company_id, r.number)] = slot.get();
    if (r.did) room_by_did_[*r.did] = slot.get();
  }
}

const callflow::ConferenceRoom* MemoryDirectory::room_by_number(std::string_view company_id, std::string_view number) {
  scratch_ = number_key(company_id, number);
  const auto it = room_by_number_.find(std::string_view(scratch_));
  return it == room_by_number_.end() ? nullptr : it->second;
}

const callflow::ConferenceRoom* MemoryDirectory::room_by_did(std::string_view e164) {
  const auto it = room_by_did_.find(e164);
  return it == room_by_did_.end() ? nullptr : it->second;
}

const callflow::ConferenceRoom* MemoryDirectory::room_of_line(std::string_view line_id) {
  const auto it = room_of_line_.find(line_id);
  return it == room_of_line_.end() ? nullptr : it->second;
}

const callflow::ConferenceRoom* MemoryDirectory::room_by_id(std::string_view id) {
  const auto it = rooms_.find(id);
  return it == rooms_.end() ? nullptr : it->second.get();
}

const callflow::Receptionist* MemoryDirectory::receptionist_by_number(std::string_view company_id,
                                                                      std::string_view number) {
  scratch_.assign(company_id);
  scratch_ += '|';
  scratch_ += number;
  const auto it = receptionist_by_number_.find(std::string_view(scratch_));
  return it == receptionist_by_number_.end() ? nullptr : it->second;
}

const callflow::Receptionist* MemoryDirectory::receptionist_by_did(std::string_view e164) {
  const auto it = receptionist_by_did_.find(e164);
  return it == receptionist_by_did_.end() ? nullptr : it->second;
}

const callflow::Receptionist* MemoryDirectory::receptionist_by_id(std::string_view id) {
  const auto it = receptionists_.find(id);
  return it == receptionists_.end() ? nullptr : it->second.get();
}

const callflow::RingGroup* MemoryDirectory::group_by_id(std::string_view id) {
  const auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : it->second.get();
}

const ExtensionInfo* MemoryDirectory::by_sip_user(std::string_view user) {
  const auto it = by_user_.find(user);
  return it == by_user_.end() ? nullptr : it->second;
}

const ExtensionInfo* MemoryDirectory::by_number(std::string_view company_id, std::string_view number) {
  scratch_.assign(company_id);
  scratch_ += '|';
  scratch_ += number;
  const auto it = by_number_.find(std::string_view(scratch_));
  return it == by_number_.end() ? nullptr : it->second;
}

const ExtensionInfo* MemoryDirectory::by_did(std::string_view e164) {
  const auto it = by_did_.find(e164);
  return it == by_did_.end() ? nullptr : it->second;
}

const ExtensionInfo* MemoryDirectory::main_line(std::string_view company_id) {
  // A scan, not an index: it runs only for a call whose configured target is gone.
  const ExtensionInfo* main = nullptr;
  for (const auto& [id, e] : extensions_) {
    if (e->company_id != company_id) continue;
    const bool lower = !main || e->number.size() < main->number.size() ||
                       (e->number.size() == main->number.size() && e->number < main->number);
    if (lower) main = e.get();
  }
  return main;
}

const ExtensionInfo* MemoryDirectory::by_id(std::string_view id) {
  const auto it = extensions_.find(id);
  return it == extensions_.end() ? nullptr : it->second.get();
}

const TrunkInfo* MemoryDirectory::trunk_at(const Peer& from) {
  // By address alone: carriers send from several ports and load-balanced processes, and a port
  // adds nothing against a spoofed source. The configured port is where privox sends.
  const TrunkInfo* first = nullptr;
  for (const TrunkInfo& t : trunks_) {
    if (t.address.port == 0 || !t.address.same_host(from)) continue;
    if (t.address.port == from.port) return &t;
    if (!first) first = &t;
  }
  return first;
}

const TrunkInfo* MemoryDirectory::outbound_trunk() {
  for (const TrunkInfo& t : trunks_)
    if (t.address.port != 0) return &t;
  return nullptr;
}

std::optional<std::string> MemoryDirectory::to_e164(std::string_view dialled, std::string_view country) {
  constexpr size_t kMaxCached = 100'000;
  std::string key(country);
  key += '|';
  key += dialled;
  if (const auto hit = e164_cache_.find(key); hit != e164_cache_.end()) return hit->second;
  auto e164 = accounts::normalise_phone(dialled, country.empty() ? "ZZ" : country);
  std::optional<std::string> result;
  if (e164.ok()) result = std::move(e164).value();
  if (e164_cache_.size() >= kMaxCached) e164_cache_.clear();
  e164_cache_.emplace(std::move(key), result);
  return result;
}

}  // namespace privox::sip

namespace privox::sip {

const std::string* MemoryDirectory::music_for(std::string_view company_id) {
  const auto it = music_.find(company_id);
  return it == music_.end() ? nullptr : &it->second;
}

}  // namespace privox::sip
