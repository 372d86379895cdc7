#include "sip/store_directory.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "accounts/extensions.h"
#include "accounts/trunks.h"
#include "accounts/validation.h"

namespace privox::sip {
namespace {
std::string number_key(std::string_view company_id, std::string_view number) {
  std::string key(company_id);
  key += '|';
  key += number;
  return key;
}
}  // namespace

StoreDirectory::StoreDirectory(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                               int64_t reload_interval_us)
    : store_(store), keys_(keys), clock_(clock), reload_interval_us_(reload_interval_us) {}

Result<std::string> StoreDirectory::fingerprint() {
  PRIVOX_ASSIGN(auto tx, store_.begin(store::TxMode::read));
  return accounts::provisioning_fingerprint(*tx);
}

Status StoreDirectory::reload() {
  last_check_us_ = clock_.now_us();
  PRIVOX_ASSIGN(fingerprint_, fingerprint());
  std::vector<std::unique_ptr<ExtensionInfo>> extensions;
  {
    PRIVOX_ASSIGN(auto tx, store_.begin(store::TxMode::read));
    PRIVOX_ASSIGN(std::vector<accounts::DirectoryLine> lines, accounts::directory_lines(*tx, keys_));
    for (accounts::DirectoryLine& l : lines)
      extensions.push_back(std::make_unique<ExtensionInfo>(
          ExtensionInfo{l.line.id, l.line.company_id, l.country, l.line.number, l.line.sip_user,
                        l.line.did.value_or(""), std::move(l.credentials.ha1_md5),
                        std::move(l.credentials.ha1_sha256)}));
  }
  accounts::Trunks trunk_store(store_, keys_, clock_);
  PRIVOX_ASSIGN(std::vector<accounts::Trunk> trunks, trunk_store.list_trunks());

  extensions_ = std::move(extensions);
  by_id_.clear();
  by_user_.clear();
  by_number_.clear();
  by_did_.clear();
  for (const auto& e : extensions_) {
    by_id_[e->id] = e.get();
    by_user_[e->sip_user] = e.get();
    by_number_[number_key(e->company_id, e->number)] = e.get();
    if (!e->did.empty()) by_did_[e->did] = e.get();
  }
  trunks_.clear();
  for (const accounts::Trunk& t : trunks) {
    TrunkInfo info{t.id, t.name, {}, t.trusted};
    // Trunks named by DNS cannot be matched by source address without a resolver; privox has
    // none on the packet path, so such a trunk only takes outbound calls.
    if (!Peer::parse(t.address.host, t.address.port, TransportKind::udp, info.address))
      spdlog::warn("sip: trunk {} at {} is not an IP address; it is used for outbound calls only", t.name,
                   t.address.host);
    trunks_.push_back(std::move(info));
  }
  return {};
}

bool StoreDirectory::reload_if_due() {
  if (clock_.now_us() - last_check_us_ < reload_interval_us_) return false;
  last_check_us_ = clock_.now_us();
  auto now = fingerprint();
  if (!now.ok() || *now == fingerprint_) return false;
  const Status s = reload();
  if (!s.ok()) spdlog::warn("sip: directory reload failed: {}", s.error().describe());
  return s.ok();
}

template <class Map>
const ExtensionInfo* StoreDirectory::lookup(const Map& map, const std::string& key) {
  auto it = map.find(key);
  if (it != map.end()) return it->second;
  if (!reload_if_due()) return nullptr;
  it = map.find(key);
  return it == map.end() ? nullptr : it->second;
}

const ExtensionInfo* StoreDirectory::by_sip_user(std::string_view user) { return lookup(by_user_, std::string(user)); }
const ExtensionInfo* StoreDirectory::by_number(std::string_view company_id, std::string_view number) {
  return lookup(by_number_, number_key(company_id, number));
}
const ExtensionInfo* StoreDirectory::by_did(std::string_view e164) { return lookup(by_did_, std::string(e164)); }
const ExtensionInfo* StoreDirectory::by_id(std::string_view id) { return lookup(by_id_, std::string(id)); }

const TrunkInfo* StoreDirectory::trunk_at(const Peer& from) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    for (const TrunkInfo& t : trunks_)
      if (t.address.port != 0 && t.address.same_address(from)) return &t;
    if (attempt == 0 && !reload_if_due()) break;
  }
  return nullptr;
}

const TrunkInfo* StoreDirectory::outbound_trunk() {
  if (trunks_.empty()) reload_if_due();
  for (const TrunkInfo& t : trunks_)
    if (t.address.port != 0) return &t;
  return nullptr;
}

std::optional<std::string> StoreDirectory::to_e164(std::string_view dialled, std::string_view country) {
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
