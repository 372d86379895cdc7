#include "sip/bans.h"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <cstdlib>

#include "accounts/directory_log.h"
#include "privacy/audit_record.h"

namespace privox::sip {
namespace {

constexpr std::string_view kBanColumns =
    "address_hash, banned_at_us, banned_until_us, strikes, reason, lifted_at_us, seq";

StoredBan stored_ban(const store::Row& r) {
  StoredBan b;
  b.id = r.text(0);
  b.banned_at_us = r.i64(1);
  b.banned_until_us = r.i64(2);
  b.strikes = r.i64(3);
  b.reason = r.text(4);
  if (!r.is_null(5)) b.lifted_at_us = r.i64(5);
  b.seq = r.i64(6);
  return b;
}

// The next change number: the UPDATE takes the counter's row lock until the transaction ends, so
// changes commit in the order of their numbers even with several nodes banning at once.
Result<int64_t> next_ban_seq(store::Session& s) {
  PRIVOX_ASSIGN(store::Rows head, s.query("UPDATE sip_ban_log_head SET seq = seq + 1 WHERE id = 1 RETURNING seq"));
  if (head.empty()) return make_error(ErrorCode::corrupt, "sip_ban_log_head has no row");
  return head[0].i64(0);
}

// A ban's row as the SIP worker appends it, and as the writer's prepare step turns it into the
// upsert's values (the same positions).
enum BanRow : size_t {
  kHash,         // id, both
  kBannedAt,     // both
  kLength,       // appended: the first ban's length; written: banned_until_us
  kLongest,      // appended: the longest a repeat may be; written: strikes
  kReason,       // both
  kSeq,          // appended: 0; written: the change number
  kExpires,      // appended: 0; written: when the row is purged
};

// Runs on the writer thread inside the batch's transaction: works out each ban's repeat from the
// row the store keeps for its source, and numbers it. It holds no pointer to StoreBans.
store::PrepareRows number_bans() {
  return [](store::Session& s, std::vector<store::Params>& rows, std::vector<std::optional<Error>>&) -> Status {
    for (store::Params& row : rows) {
      const std::string id = std::get<std::string>(row[kHash]);
      const int64_t at = std::get<int64_t>(row[kBannedAt]);
      const int64_t first = std::max<int64_t>(std::get<int64_t>(row[kLength]), 1);
      const int64_t longest = std::max(std::get<int64_t>(row[kLongest]), first);
      PRIVOX_ASSIGN(store::Rows held,
                    s.query("SELECT strikes, expires_at_us FROM sip_bans WHERE address_hash = ?", {id}));
      // A row still kept (lifted or not) means this is a repeat.
      const int64_t prior = held.empty() || held[0].i64(1) <= at ? 0 : held[0].i64(0);
      int64_t length = first;
      for (int64_t i = 0; i < prior && length < longest; ++i) length = std::min(longest, length * 2);
      PRIVOX_ASSIGN(const int64_t seq, next_ban_seq(s));
      row[kLength] = at + length;
      row[kLongest] = prior + 1;
      row[kSeq] = seq;
      row[kExpires] = at + length + kBanMemoryUs;
    }
    return s.notify(accounts::kDirectoryChannel);
  };
}

}  // namespace

// ---- hashes ----------------------------------------------------------------------------------

BanHasher::BanHasher(const privacy::Keyring& keys) {
  static_assert(crypto_auth_hmacsha256_KEYBYTES == 32);
  const Bytes derived = keys.blind_index("sip-ban-key", "v1");
  if (derived.size() != key_.size()) std::abort();  // cannot happen: blind_index is BLAKE2b-256
  std::copy(derived.begin(), derived.end(), key_.begin());
}

BanHasher::~BanHasher() { sodium_memzero(key_.data(), key_.size()); }

BanHash BanHasher::source(const SourceKey& key) const {
  const auto bytes = key.bytes();
  uint8_t mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256(mac, bytes.data(), bytes.size(), key_.data());
  BanHash out;
  std::copy(mac, mac + out.size(), out.begin());
  return out;
}

std::string BanHasher::login_tag(std::string_view login) const {
  // 'L' before the login keeps these apart from source hashes, whose input starts with 4 or 6.
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key_.data(), key_.size());
  const uint8_t domain = 'L';
  crypto_auth_hmacsha256_update(&state, &domain, 1);
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const uint8_t*>(login.data()), login.size());
  uint8_t mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, mac);
  // A letter first, so that the tag never reads as a number (common/log.h writes an all-digit id
  // as refused_id, since it could be a phone number): "c3f9a12bc".
  return fmt::format("{}{:02x}{:02x}{:02x}{:02x}", "abcdef"[mac[4] % 6], mac[0], mac[1], mac[2], mac[3]);
}

std::string ban_id(const BanHash& hash) {
  std::string out;
  out.reserve(2 * hash.size());
  for (uint8_t b : hash) out += fmt::format("{:02x}", b);
  return out;
}

std::optional<BanHash> parse_ban_id(std::string_view id) {
  BanHash out{};
  if (id.size() != 2 * out.size()) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = digit(id[2 * i]), lo = digit(id[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

BanState ban_state(const StoredBan& ban) {
  BanState state;
  state.hash = parse_ban_id(ban.id).value_or(BanHash{});
  state.banned_at_us = ban.banned_at_us;
  state.banned_until_us = ban.lifted_at_us ? std::min(ban.banned_until_us, *ban.lifted_at_us) : ban.banned_until_us;
  state.lifted_at_us = ban.lifted_at_us.value_or(0);
  return state;
}

// ---- reading -----------------------------------------------------------------------------------

Result<std::vector<StoredBan>> list_bans(store::Session& s, int64_t now_us, bool include_past) {
  PRIVOX_ASSIGN(store::Rows rows,
                include_past
                    ? s.query(fmt::format("SELECT {} FROM sip_bans ORDER BY banned_at_us DESC", kBanColumns))
                    : s.query(fmt::format("SELECT {} FROM sip_bans WHERE banned_until_us > ? AND lifted_at_us IS NULL "
                                          "ORDER BY banned_at_us DESC",
                                          kBanColumns),
                              {now_us}));
  std::vector<StoredBan> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) out.push_back(stored_ban(r));
  return out;
}

Result<StoredBan> find_ban(store::Session& s, std::string_view id) {
  PRIVOX_ASSIGN(store::Rows rows,
                s.query(fmt::format("SELECT {} FROM sip_bans WHERE address_hash = ?", kBanColumns), {std::string(id)}));
  if (rows.empty()) return Error{ErrorCode::not_found, "id", fmt::format("no ban has id {}", id)};
  return stored_ban(rows[0]);
}

Result<int64_t> ban_log_head(store::Session& s) {
  PRIVOX_ASSIGN(store::Rows head, s.query("SELECT seq FROM sip_ban_log_head WHERE id = 1"));
  return head.empty() ? 0 : head[0].i64(0);
}

Result<BanChanges> bans_after(store::Session& s, int64_t seq, size_t limit) {
  BanChanges out;
  PRIVOX_ASSIGN(const int64_t head, ban_log_head(s));
  if (head < seq) {
    out.restart = true;
    return out;
  }
  if (head == seq) return out;
  PRIVOX_ASSIGN(store::Rows rows, s.query(fmt::format("SELECT {} FROM sip_bans WHERE seq > ? ORDER BY seq LIMIT ?",
                                                      kBanColumns),
                                          {seq, static_cast<int64_t>(limit)}));
  out.bans.reserve(rows.size());
  for (const store::Row& r : rows) out.bans.push_back(stored_ban(r));
  return out;
}

Result<BanUpdate> load_bans(store::Session& s, int64_t now_us) {
  BanUpdate update;
  update.replace_all = true;
  PRIVOX_ASSIGN(update.seq, ban_log_head(s));
  PRIVOX_ASSIGN(const std::vector<StoredBan> bans, list_bans(s, now_us));
  for (const StoredBan& b : bans) update.bans.push_back(ban_state(b));
  return update;
}

// ---- operators ---------------------------------------------------------------------------------

Result<std::vector<StoredBan>> Bans::list(bool include_past) {
  PRIVOX_ASSIGN(auto tx, store_.begin(store::TxMode::read));
  return list_bans(*tx, clock_.now_us(), include_past);
}

Result<std::string> Bans::id_of(std::string_view address) const {
  const auto key = SourceKey::parse(address);
  if (!key) return invalid("address", fmt::format("'{}' is not an IPv4 or IPv6 address", address));
  return ban_id(hasher_.source(*key));
}

Status Bans::lift(std::string_view id, const std::string& actor) {
  if (!parse_ban_id(id)) return invalid("id", "a ban id is 32 lowercase hex digits, as `privox ban list` shows");
  const std::string key(id);
  return store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    const int64_t now = clock_.now_us();
    PRIVOX_ASSIGN(const StoredBan ban, find_ban(s, key));
    if (!ban.active(now)) return Error{ErrorCode::not_found, "id", fmt::format("ban {} is not in force", key)};
    PRIVOX_ASSIGN(const int64_t seq, next_ban_seq(s));
    // The row stays until it is purged, its strikes with it: as with fail2ban's unban, a source
    // that fails again within the memory is a repeat (an operator who trusts it names it in
    // sip.trusted_sources instead).
    PRIVOX_TRY(s.exec("UPDATE sip_bans SET lifted_at_us = ?, seq = ?, expires_at_us = ? WHERE address_hash = ?",
                      {now, seq, now + kBanMemoryUs, key}));
    PRIVOX_TRY(audit_.append(s, {actor, "sip.ban_lift", "", "", {{"ban_id", key}, {"strikes", ban.strikes}}}));
    return s.notify(accounts::kDirectoryChannel);
  });
}

// ---- the writer --------------------------------------------------------------------------------

StoreBans::StoreBans(store::AppendWriter& writer) : writer_(writer) {
  ban_target_ = writer_.add_target(
      {"sip_bans",
       {"address_hash", "banned_at_us", "banned_until_us", "strikes", "reason", "seq", "expires_at_us"},
       "INSERT INTO sip_bans (address_hash, banned_at_us, banned_until_us, strikes, reason, seq, expires_at_us) "
       "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (address_hash) DO UPDATE SET banned_at_us = excluded.banned_at_us, "
       "banned_until_us = excluded.banned_until_us, strikes = excluded.strikes, reason = excluded.reason, "
       "lifted_at_us = NULL, seq = excluded.seq, expires_at_us = excluded.expires_at_us",
       number_bans()});
  purge_target_ = writer_.add_target({"sip_bans", {"expires_at_us"}, "DELETE FROM sip_bans WHERE expires_at_us <= ?"});
}

void StoreBans::ban(const BanNotice& notice) {
  // Not waited for: the worker enforces the ban already. Should the writer refuse it (a full
  // queue), the ban holds on this node alone.
  (void)writer_.append(ban_target_, {ban_id(notice.hash), notice.banned_at_us, notice.ban_us, notice.max_ban_us,
                                     notice.reason, int64_t{0}, int64_t{0}});
}

void StoreBans::purge_expired(int64_t now_us) { (void)writer_.append(purge_target_, {now_us}); }

}  // namespace privox::sip
