#pragma once
// The store's side of SIP bans (sip/source_guard.h), shared by every node: the sip_bans table, its
// change counter, and what reads and changes it (the node's writer, the directory loader, the CLI's
// `privox ban list|lift`, and the operator console through the portal).
//
// A ban is keyed by a keyed hash of the source (HMAC-SHA-256 under a key derived from the master
// key, cut to 16 bytes and written as 32 hex digits: the ban's id), never by the address, so the
// store cannot say who was banned and an operator finds a ban by the address they have in hand.
// Each row holds when the ban began and ends, how many times the source was banned while the row
// was kept (`strikes`: each repeat doubles the ban, up to the maximum), and, once an operator lifted
// it, when. A row is kept kBanMemoryUs past its end, so a source that comes back the next day is
// treated as a repeat, then purged.
//
// Every change takes the next number from sip_ban_log_head (whose row the changing transaction
// updates first, so changes commit in the order of their numbers, as in accounts/directory_log.h)
// into the row's `seq`, and notifies accounts::kDirectoryChannel, which the directory loader of
// every serving node listens on: the loader reads the rows whose seq is past the last it saw and
// hands them to the SIP worker. A lift is a change like any other.
//
// Thread-safety: free functions work in the caller's transaction; Bans and BanHasher are safe from
// any thread; StoreBans as its comment says.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "privacy/audit.h"
#include "privacy/keyring.h"
#include "sip/source_guard.h"
#include "store/append_writer.h"
#include "store/store.h"

namespace privox::sip {

// How long a ban's row outlives the ban, so that a repeat is recognised.
inline constexpr int64_t kBanMemoryUs = 86'400'000'000;

// The keyed hashes of sources and logins, under a key derived from the master key (every node
// that shares the master key computes the same hashes).
class BanHasher final : public SourceHasher {
 public:
  explicit BanHasher(const privacy::Keyring& keys);
  ~BanHasher() override;
  BanHasher(const BanHasher&) = delete;
  BanHasher& operator=(const BanHasher&) = delete;

  BanHash source(const SourceKey& key) const override;
  std::string login_tag(std::string_view login) const override;

 private:
  std::array<uint8_t, 32> key_;
};

// A ban's id: its hash as 32 lowercase hex digits; nullopt for anything else.
std::string ban_id(const BanHash& hash);
std::optional<BanHash> parse_ban_id(std::string_view id);

struct StoredBan {
  std::string id;
  int64_t banned_at_us = 0;
  int64_t banned_until_us = 0;
  int64_t strikes = 0;
  std::string reason;
  std::optional<int64_t> lifted_at_us;
  int64_t seq = 0;
  bool active(int64_t now_us) const { return !lifted_at_us && banned_until_us > now_us; }
};
BanState ban_state(const StoredBan& ban);

// Bans in force at `now_us` (every row kept, with `include_past`), latest first.
Result<std::vector<StoredBan>> list_bans(store::Session& s, int64_t now_us, bool include_past = false);
// The ban with this id; not_found when there is none.
Result<StoredBan> find_ban(store::Session& s, std::string_view id);

// Rows changed after `seq`, oldest change first, at most `limit` (ask again from the last seq).
// `restart` when the counter is behind `seq` (a store restored from a backup): read everything
// again with active_bans().
struct BanChanges {
  std::vector<StoredBan> bans;
  bool restart = false;
};
Result<BanChanges> bans_after(store::Session& s, int64_t seq, size_t limit);
Result<int64_t> ban_log_head(store::Session& s);

// The bans to apply at start (every ban in force, and the log position they are current with), as
// one replace_all update. Reads in the caller's transaction.
Result<BanUpdate> load_bans(store::Session& s, int64_t now_us);

// The guard's limits from the operator's settings (sip/settings.cpp): sip.rate_limit_requests,
// sip.rate_limit_window_seconds, sip.ban_max_failures, sip.ban_window_minutes, sip.ban_minutes,
// sip.ban_max_minutes and sip.trusted_sources. Fails with store errors only.
Result<GuardLimits> guard_limits_from_settings(store::Store& store);

// Lists and lifts bans for operators, each lift audited (action "sip.ban_lift", actor as given,
// the ban id in the detail; no address is ever known to privox's store).
class Bans {
 public:
  Bans(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : store_(store), hasher_(keys), clock_(clock), audit_(keys, clock) {}

  Result<std::vector<StoredBan>> list(bool include_past = false);
  // The id a source's ban has, whether or not it is banned: `address` is "192.0.2.7" or an IPv6
  // address (its /64 is the source). invalid_argument on `address` when it is neither.
  Result<std::string> id_of(std::string_view address) const;
  // Lifts the ban: it ends now on every node (within a second) and the source's failures are
  // forgotten. Its strikes are kept while the row is (a day): a ban after the lift is a repeat, as
  // with fail2ban's unban. not_found (field `id`) when no ban with this id is in force;
  // invalid_argument when `id` is not an id.
  Status lift(std::string_view id, const std::string& actor);

 private:
  store::Store& store_;
  BanHasher hasher_;
  const Clock& clock_;
  privacy::AuditChain audit_;
};

// The SIP worker's BanSink: each ban goes to the node's writer, whose thread works out the repeat
// (doubling the ban while the source's row is kept), numbers it and notifies every node. The worker
// does not wait: it enforces the ban at once, and the store's version (with the longer repeat)
// comes back through the loader.
//
// Thread-safety: ban() and purge_expired() on the SIP worker thread.
class StoreBans final : public BanSink {
 public:
  explicit StoreBans(store::AppendWriter& writer);
  void ban(const BanNotice& notice) override;
  // Queues removal of rows kept past their memory; returns at once.
  void purge_expired(int64_t now_us);

 private:
  store::AppendWriter& writer_;
  size_t ban_target_, purge_target_;
};

}  // namespace privox::sip
