#include "sip/directory_loader.h"


#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <system_error>
#include <unordered_map>

#include "accounts/directory_log.h"
#include "accounts/extensions.h"
#include "accounts/trunks.h"
#include "callflow/conference.h"
#include "callflow/forwarding.h"
#include "callflow/groups.h"
#include "callflow/music.h"
#include "common/log.h"
#include "sip/bans.h"
#include "sip/store_bindings.h"

namespace privox::sip {
namespace {

// A line's digest choice as the algorithms its challenges name (accounts/extensions.h says why
// sha256 is SHA-256 alone); no choice leaves the node's default.
std::vector<accounts::DigestAlgorithm> challenge_algorithms(std::optional<accounts::DigestChoice> choice) {
  if (!choice) return {};
  if (*choice == accounts::DigestChoice::sha256) return {accounts::DigestAlgorithm::sha256};
  return {accounts::DigestAlgorithm::md5};
}

ExtensionInfo extension_info(accounts::DirectoryLine& l) {
  return ExtensionInfo{l.line.id,          l.line.company_id,
                       l.country,          l.line.number,
                       l.line.sip_user,    l.line.did.value_or(""),
                       std::move(l.credentials.ha1_md5), std::move(l.credentials.ha1_sha256),
                       challenge_algorithms(l.digest), {}, l.encryption_required};
}

TrunkInfo trunk_info(const accounts::Trunk& t) {
  TrunkInfo info{t.id, t.name, {}, t.trusted};
  // Trunks named by DNS cannot be matched by source address without a resolver; privox has none
  // on the packet path, so such a trunk only takes outbound calls.
  if (!Peer::parse(t.address.host, t.address.port, TransportKind::udp, info.address))
    log::warn("sip", "trunk.outbound_only", {{"trunk", log::Id(t.id)}, {"reason", "host_not_an_ip_address"}});
  return info;
}

// Removes the music files in `dir` that start with `prefix` (a company's "<id>-"; "" for all)
// other than `keep`.
void remove_music_files(const std::string& dir, std::string_view prefix, const std::string& keep) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix) || !name.ends_with(".wav") || entry.path().string() == keep) continue;
    std::filesystem::remove(entry.path(), ec);
  }
}

// Writes `wav` to `path` whole or not at all: a temporary file renamed over it, so rtpengine never
// reads half a file.
bool write_music_file(const std::string& path, const std::string& wav) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(wav.data(), static_cast<std::streamsize>(wav.size()));
    if (!out.flush()) return false;
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) std::filesystem::remove(temp, ec);
  return !ec;
}

}  // namespace

std::optional<std::string> DirectoryLoader::write_music(store::Session& s, const std::string& company_id) {
  const std::string prefix = company_id + "-";
  const auto failed = [&](log::Value reason) -> std::optional<std::string> {
    log::warn("sip", "music.not_written", {{"company", log::Id(company_id)}, {"reason", reason}});
    return std::nullopt;
  };
  auto info = callflow::music_of_company(s, company_id);
  if (!info.ok()) return failed("store");
  if (!*info) {
    remove_music_files(options_.music_dir, prefix, "");
    return std::nullopt;
  }
  const std::string path = (std::filesystem::path(options_.music_dir) / (prefix + (*info)->content_hash + ".wav")).string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    std::filesystem::create_directories(options_.music_dir, ec);
    auto wav = callflow::music_wav(s, company_id);
    if (!wav.ok() || !*wav) return failed("store");
    if (!write_music_file(path, **wav)) return failed("write");
  }
  remove_music_files(options_.music_dir, prefix, path);
  return path;
}

DirectoryLoader::DirectoryLoader(store::Store& store, const privacy::Keyring& keys, Deliver deliver,
                                 DirectoryLoaderOptions options)
    : store_(store),
      keys_(keys),
      deliver_(std::move(deliver)),
      options_(std::move(options)),
      worker_({.name = "privox-directory"}) {}

DirectoryLoader::~DirectoryLoader() { stop(); }

Result<std::shared_ptr<DirectoryUpdate>> DirectoryLoader::read_all(store::Session& s) {
  auto update = std::make_shared<DirectoryUpdate>();
  update->replace_all = true;
  // In the same transaction as the lines: the log after this entry is exactly what they miss.
  PRIVOX_ASSIGN(update->log_seq, accounts::directory_log_head(s));
  PRIVOX_ASSIGN(std::vector<accounts::DirectoryLine> lines, accounts::directory_lines(s, keys_));
  PRIVOX_ASSIGN(const std::vector<accounts::Trunk> trunks, accounts::directory_trunks(s));
  PRIVOX_ASSIGN(std::vector<callflow::LineForwarding> forwards, callflow::all_forwarding(s, keys_));
  PRIVOX_ASSIGN(update->groups, callflow::all_groups(s));
  PRIVOX_ASSIGN(update->receptionists, callflow::all_receptionists(s));
  PRIVOX_ASSIGN(update->rooms, callflow::all_rooms(s));
  update->extensions.reserve(lines.size());
  for (accounts::DirectoryLine& l : lines) update->extensions.push_back(extension_info(l));
  std::unordered_map<std::string_view, ExtensionInfo*> by_id;
  for (ExtensionInfo& e : update->extensions) by_id.emplace(e.id, &e);
  for (callflow::LineForwarding& f : forwards)
    if (const auto it = by_id.find(f.line_id); it != by_id.end()) it->second->forwarding = std::move(f.forwarding);
  for (const accounts::Trunk& t : trunks) update->trunks.push_back(trunk_info(t));
  if (!options_.music_dir.empty()) {
    PRIVOX_ASSIGN(const std::vector<callflow::MusicInfo> music, callflow::all_music(s));
    std::set<std::string> written;
    for (const callflow::MusicInfo& m : music)
      if (std::optional<std::string> path = write_music(s, m.company_id)) {
        written.insert(*path);
        update->music.emplace(m.company_id, std::move(*path));
      }
    // Files of companies whose music went while this node was away.
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(options_.music_dir, ec))
      if (entry.path().extension() == ".wav" && !written.contains(entry.path().string()))
        std::filesystem::remove(entry.path(), ec);
  }
  full_loads_.fetch_add(1);
  return update;
}

Result<std::shared_ptr<const DirectoryUpdate>> DirectoryLoader::load_all() {
  PRIVOX_ASSIGN(auto tx, store_.begin(store::TxMode::read));
  PRIVOX_ASSIGN(std::shared_ptr<DirectoryUpdate> update, read_all(*tx));
  log_seq_ = update->log_seq;
  return std::shared_ptr<const DirectoryUpdate>(std::move(update));
}

void DirectoryLoader::follow_bans(const Clock& clock, DeliverBans deliver) {
  clock_ = &clock;
  deliver_bans_ = std::move(deliver);
}

Result<std::shared_ptr<const BanUpdate>> DirectoryLoader::load_bans() {
  if (!deliver_bans_) return make_error(ErrorCode::internal, "load_bans() without follow_bans()");
  PRIVOX_ASSIGN(auto tx, store_.begin(store::TxMode::read));
  PRIVOX_ASSIGN(BanUpdate update, sip::load_bans(*tx, clock_->now_us()));
  ban_seq_ = update.seq;
  return std::make_shared<const BanUpdate>(std::move(update));
}

void DirectoryLoader::follow_bindings(int64_t log_seq, std::string self, std::string own_node,
                                      DeliverBindings deliver) {
  binding_seq_ = log_seq;
  binding_self_ = std::move(self);
  binding_own_node_ = std::move(own_node);
  deliver_bindings_ = std::move(deliver);
}

void DirectoryLoader::add_chore(int64_t every_us, std::function<void()> chore) {
  chores_.push_back({every_us, std::move(chore)});
}

Status DirectoryLoader::start() {
  PRIVOX_ASSIGN(listener_, store_.listen(accounts::kDirectoryChannel));
  worker_.start(run_tasks, [this] { look(); }, 0, 0);
  return {};
}

void DirectoryLoader::stop() {
  if (listener_) listener_->interrupt();
  worker_.stop();
}

DirectoryLoader::Stats DirectoryLoader::stats() const {
  return {full_loads_.load(),  updates_.load(),         changes_.load(),
          ban_updates_.load(), binding_updates_.load(), own_lines_not_read_.load()};
}

void DirectoryLoader::look() {
  // The first look is at once: a change made between load_all() and the LISTEN sent its
  // notification to no one.
  if (looked_) {
    const store::Listener::Wake wake = listener_->wait(options_.wait_us);
    if (wake == store::Listener::Wake::interrupted) return;
    if (wake == store::Listener::Wake::notified && !gather_notifications()) return;
  }
  looked_ = true;
  Status caught_up = catch_up();
  if (caught_up.ok() && deliver_bans_) caught_up = catch_up_bans();
  if (caught_up.ok() && deliver_bindings_) caught_up = catch_up_bindings();
  if (!caught_up.ok() && !failing_)
    log::warn("sip", "directory.follow_failed", {{"error", log::error_code(caught_up.error())}});  // retried
  else if (caught_up.ok() && failing_)
    log::info("sip", "directory.follow_resumed");
  failing_ = !caught_up.ok();
  run_chores();
}

namespace {
int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

bool DirectoryLoader::gather_notifications() {
  const int64_t until = steady_us() + options_.gather_us;
  for (int64_t left = options_.gather_us; left > 0; left = until - steady_us()) {
    const store::Listener::Wake wake = listener_->wait(left);  // each one consumes what arrived
    if (wake == store::Listener::Wake::interrupted) return false;
    if (wake != store::Listener::Wake::notified) return true;
  }
  return true;
}

void DirectoryLoader::run_chores() {
  const int64_t now = steady_us();
  for (Chore& chore : chores_) {
    if (worker_.stopping()) return;
    if (chore.last_us != 0 && now - chore.last_us < chore.every_us) continue;
    chore.last_us = now;
    chore.run();
  }
}

Status DirectoryLoader::catch_up() {
  for (;;) {
    if (worker_.stopping()) return {};
    PRIVOX_ASSIGN(auto tx, store_.begin(store::TxMode::read));
    PRIVOX_ASSIGN(accounts::DirectoryChanges read, accounts::directory_changes_after(*tx, log_seq_, options_.batch));
    if (read.gap) {
      log::warn("sip", "directory.reload_all", {{"reason", "change_log_truncated"}});
      PRIVOX_ASSIGN(std::shared_ptr<DirectoryUpdate> all, read_all(*tx));
      log_seq_ = all->log_seq;
      deliver_(std::move(all));
      continue;  // and whatever came after
    }
    if (read.changes.empty()) return {};
    changes_.fetch_add(read.changes.size());
    std::vector<std::string> lines, trunks, groups, receptionists, music, rooms;
    for (const accounts::DirectoryChange& c : read.changes) {
      switch (c.kind) {
        case accounts::DirectoryItem::extension: lines.push_back(c.item_id); break;
        case accounts::DirectoryItem::trunk: trunks.push_back(c.item_id); break;
        case accounts::DirectoryItem::ring_group: groups.push_back(c.item_id); break;
        case accounts::DirectoryItem::receptionist: receptionists.push_back(c.item_id); break;
        case accounts::DirectoryItem::music: music.push_back(c.item_id); break;
        case accounts::DirectoryItem::conference: rooms.push_back(c.item_id); break;
      }
    }
    for (auto* ids : {&lines, &trunks, &groups, &receptionists, &music, &rooms}) {
      std::sort(ids->begin(), ids->end());
      ids->erase(std::unique(ids->begin(), ids->end()), ids->end());
    }
    auto update = std::make_shared<DirectoryUpdate>();
    update->log_seq = read.changes.back().seq;
    // What the log names but the store no longer holds is gone (or, for a line whose credentials
    // do not open, unusable): the worker drops it.
    if (!lines.empty()) {
      PRIVOX_ASSIGN(std::vector<accounts::DirectoryLine> found, accounts::directory_lines(*tx, keys_, lines));
      for (accounts::DirectoryLine& l : found) {
        ExtensionInfo& e = update->extensions.emplace_back(extension_info(l));
        PRIVOX_ASSIGN(std::optional<callflow::Forwarding> forwarding, callflow::forwarding_of(*tx, keys_, e.id));
        if (forwarding) e.forwarding = std::move(*forwarding);
      }
      for (const std::string& id : lines)
        if (std::none_of(update->extensions.begin(), update->extensions.end(),
                         [&](const ExtensionInfo& e) { return e.id == id; }))
          update->removed_extensions.push_back(id);
    }
    if (!trunks.empty()) {
      PRIVOX_ASSIGN(const std::vector<accounts::Trunk> found, accounts::directory_trunks(*tx, trunks));
      for (const accounts::Trunk& t : found) update->trunks.push_back(trunk_info(t));
      for (const std::string& id : trunks)
        if (std::none_of(update->trunks.begin(), update->trunks.end(), [&](const TrunkInfo& t) { return t.id == id; }))
          update->removed_trunks.push_back(id);
    }
    for (const std::string& id : groups) {
      PRIVOX_ASSIGN(std::optional<callflow::RingGroup> group, callflow::group_by_id(*tx, id));
      if (group) update->groups.push_back(std::move(*group));
      else update->removed_groups.push_back(id);
    }
    // A receptionist's entry names it; a menu's names the menu, which the directory does not hold
    // (menus are read per call): it reads as a receptionist gone, which removes nothing.
    for (const std::string& id : receptionists) {
      PRIVOX_ASSIGN(std::optional<callflow::Receptionist> r, callflow::receptionist_by_id(*tx, id));
      if (r) update->receptionists.push_back(std::move(*r));
      else update->removed_receptionists.push_back(id);
    }
    for (const std::string& id : rooms) {
      PRIVOX_ASSIGN(std::optional<callflow::ConferenceRoom> room, callflow::room_by_id(*tx, id));
      if (room) update->rooms.push_back(std::move(*room));
      else update->removed_rooms.push_back(id);
    }
    // A company's music entry: its file is written (or removed) here, on the loader's thread.
    for (const std::string& company : music) {
      if (options_.music_dir.empty()) break;
      if (std::optional<std::string> path = write_music(*tx, company)) update->music.emplace(company, std::move(*path));
      else update->removed_music.push_back(company);
    }
    tx.reset();
    log_seq_ = update->log_seq;
    const bool more = read.changes.size() >= options_.batch;
    updates_.fetch_add(1);
    deliver_(std::move(update));
    if (!more) return {};
  }
}

Status DirectoryLoader::catch_up_bans() {
  for (;;) {
    if (worker_.stopping()) return {};
    PRIVOX_ASSIGN(auto tx, store_.begin(store::TxMode::read));
    PRIVOX_ASSIGN(BanChanges read, bans_after(*tx, ban_seq_, options_.batch));
    auto update = std::make_shared<BanUpdate>();
    if (read.restart) {
      log::warn("sip", "bans.reload_all", {{"reason", "ban_log_behind"}});
      PRIVOX_ASSIGN(*update, sip::load_bans(*tx, clock_->now_us()));
    } else {
      if (read.bans.empty()) return {};
      update->seq = read.bans.back().seq;
      for (const StoredBan& b : read.bans) update->bans.push_back(ban_state(b));
    }
    tx.reset();
    ban_seq_ = update->seq;
    const bool more = !read.restart && read.bans.size() >= options_.batch;
    ban_updates_.fetch_add(1);
    deliver_bans_(std::move(update));
    if (!more) return {};
  }
}

Status DirectoryLoader::catch_up_bindings() {
  if (!clock_) return make_error(ErrorCode::internal, "follow_bindings() without follow_bans()");
  for (;;) {
    if (worker_.stopping()) return {};
    const int64_t steady_now = steady_us();
    auto wanted = [&](const std::string& line, bool own_only) {
      const bool read = read_back_.wanted(line, own_only, steady_now);
      if (!read) own_lines_not_read_.fetch_add(1);
      return read;
    };
    PRIVOX_ASSIGN(auto tx, store_.begin(store::TxMode::read));
    PRIVOX_ASSIGN(BindingUpdate read, shared_bindings_after(*tx, keys_, binding_seq_, options_.batch, clock_->now_us(),
                                                            binding_self_, binding_own_node_, wanted));
    tx.reset();
    if (read.seq == binding_seq_) return {};
    if (read.replace_all) {
      read_back_.read_every_line(steady_now);
      log::warn("sip", "bindings.reload_all", {{"reason", "binding_log_pruned"}});
    }
    binding_seq_ = read.seq;
    const bool more = read.more;
    if (!read.lines.empty() || read.replace_all) {
      binding_updates_.fetch_add(1);
      deliver_bindings_(std::make_shared<const BindingUpdate>(std::move(read)));
    }
    if (!more) return {};
  }
}

}  // namespace privox::sip
