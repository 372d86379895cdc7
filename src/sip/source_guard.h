#pragma once
// Problem: anyone on the Internet can send SIP to privox. One source could guess passwords at tens
// of thousands a second, flood the worker until legitimate calls fail, or walk the extensions with a
// scanner. SourceGuard is the SIP worker's per-source defence, in memory and on the packet path,
// so it must cost a hash look-up and a few comparisons per packet:
//  - bans: a source whose digest authentication failed `ban_failures` times within
//    `failure_window_us` is banned for `ban_us` (fail2ban's defaults: 5 in 10 minutes, 10
//    minutes), longer on each repeat (the store doubles it, up to `max_ban_us`). A banned source's
//    packets are dropped before they are parsed, without an answer. Bans are per source, never per
//    extension, so an attacker elsewhere cannot lock a real phone out. Each ban goes to the
//    BanSink (the node's writer, sip/bans.h), so that every node applies it; bans made or lifted
//    elsewhere come back through apply(), from the directory loader's thread by way of the
//    worker's event loop, keyed by a keyed hash of the address (the store never holds the address).
//  - a request-rate limit per source in the style of Kamailio's pike: more than `rate_requests`
//    requests in a sliding `rate_window_us` (16 in 2 s by default) and the source's requests are
//    dropped, unanswered, until its rate falls. Responses and keep-alives are not counted.
//    A softphone's WebSocket has the same budget, but its own, not its address's: the portal
//    opened it for a live session and one line (portal/softphone.cpp), and the browsers of an office
//    behind one NAT address, or a browser beside a desk phone, must not silence each other.
//    Likewise an office's desk phones behind one NAT address: the address's budget is the limit
//    times the lines that authenticated from it within `line_credit_us` (up to kMaxCreditedLines),
//    so thirty phones re-registering after a power cut are not dropped as a flood. A stranger
//    earns nothing: only a right password (a digest that verifies, on a fresh nonce) adds a line.
//  - known scanners (friendly-scanner, sipvicious, sipcli, VaxSIPUserAgent, ...), recognised by
//    their User-Agent, are dropped without an answer.
//  - structured log lines for every failure and ban, rate-limited so an attack cannot fill a disk.
//    An address is personal data, so a line names its source by the keyed hash a ban of it has
//    (`source_id`, the ban id; `privox ban id --address` gives it for an address in hand), and the
//    login by a keyed hash too; never an address, password or login in clear.
// Provisioned trunks (by IP address, any source port) and the operator's trusted ranges are exempt
// from all but the scanner check. A source is an address (IPv6: its /64), see sip/source.h.
//
// Thread-safety: the SIP worker thread only.

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "sip/authenticator.h"
#include "sip/directory.h"
#include "sip/message.h"
#include "sip/source.h"

namespace privox::sip {

// An address range, "192.0.2.0/24", "2001:db8::/48" or one address; IPv6 prefixes past /64 mean
// the /64 (sources are /64s).
struct SourceRange {
  SourceKey base;
  int prefix = 32;
  bool contains(const SourceKey& key) const;
  static std::optional<SourceRange> parse(std::string_view text);
};
// A comma-separated list of ranges (spaces allowed); nullopt when any is malformed.
std::optional<std::vector<SourceRange>> parse_source_ranges(std::string_view text);

struct GuardLimits {
  int64_t rate_requests = 16;  // per source per window; 0: no rate limit
  int64_t rate_window_us = 2'000'000;
  int64_t ban_failures = 5;  // failures within the window that ban; 0: never ban
  int64_t failure_window_us = 600'000'000;
  int64_t ban_us = 600'000'000;       // the first ban
  int64_t max_ban_us = 86'400'000'000;  // repeats double it up to this (the store computes it)
  std::vector<SourceRange> trusted;   // exempt from rate limit and bans
  size_t max_sources = 200'000;       // sources tracked at once (about 100 bytes each)
  // How long a line that authenticated from a source widens its budget: past a registration's
  // longest life (an hour), so a phone's refreshes keep it.
  int64_t line_credit_us = 3'900'000'000;
};

// What a ban tells the store: the source by its keyed hash, when, and what the repeat policy is.
struct BanNotice {
  BanHash hash{};
  int64_t banned_at_us = 0;
  int64_t ban_us = 0;      // the first ban's length
  int64_t max_ban_us = 0;  // the longest a repeat may make it
  std::string reason;      // "auth_failures"
};

// Where the guard's own bans go to be shared: the node's writer (sip/bans.h). Called on the SIP
// worker thread; must not block.
class BanSink {
 public:
  virtual ~BanSink() = default;
  virtual void ban(const BanNotice& notice) = 0;
};

// The store's view of one source's ban, as the loader delivers it.
struct BanState {
  BanHash hash{};
  int64_t banned_at_us = 0;
  int64_t banned_until_us = 0;  // in the past once lifted or over
  int64_t lifted_at_us = 0;     // 0: not lifted
};
// Bans made, changed or lifted since the last update (`replace_all`: every ban that holds now,
// and what it does not name holds no longer).
struct BanUpdate {
  bool replace_all = false;
  std::vector<BanState> bans;
  int64_t seq = 0;  // the ban log position this update brings the node up to
};

// Keyed hashes of sources and logins (sip/bans.h holds the key). The guard needs them only when it
// bans, and when bans made elsewhere are held.
class SourceHasher {
 public:
  virtual ~SourceHasher() = default;
  virtual BanHash source(const SourceKey& key) const = 0;
  // A short keyed hash of a login, for logs: "c3f9a12bc" (a letter, then eight hex digits).
  virtual std::string login_tag(std::string_view login) const = 0;
};

struct GuardStats {
  uint64_t banned_drops = 0;   // packets from banned sources
  uint64_t rate_drops = 0;     // requests over the rate limit
  uint64_t scanner_drops = 0;  // requests from scanners
  uint64_t failures = 0;       // authentication failures reported
  uint64_t bans = 0;           // bans this node made
  uint64_t untracked = 0;      // packets from sources the full table could not take
};

class SourceGuard final : public AuthFailures {
 public:
  // `directory` tells trunks; `hasher`, `sink` and `clock` must outlive the guard (`sink` may be
  // null: bans stay on this node).
  SourceGuard(GuardLimits limits, Directory& directory, const SourceHasher& hasher, BanSink* sink,
              const Clock& clock);

  // Before parsing: false drops the packet silently (a banned source; a request over the rate).
  // `request` is false for responses, which are never rate-limited.
  bool admit(const Peer& from, bool request, int64_t now_us);
  // After parsing a request: false drops it silently (a known scanner).
  bool admit_request(const Message& request, const Peer& from, int64_t now_us);
  // Whether the source is banned now (for a TCP connection being accepted).
  bool banned(const Peer& from, int64_t now_us);

  void on_auth_failure(const Peer& from, const AuthFailure& failure) override;
  // A line authenticated from `from`: its source's budget widens by one line's (not a WebSocket's,
  // which has its own, nor an exempt source's).
  void on_auth_success(const Peer& from, const ExtensionInfo& line) override;
  // The lines a source's budget counts now (tests and the benchmark).
  size_t credited_lines(const Peer& from) const;
  static constexpr size_t kMaxCreditedLines = 64;
  // Bans from the store (through the loader); applied at once.
  void apply(const BanUpdate& update, int64_t now_us);
  // Forgets sources idle past every window and bans that are over; run every few seconds.
  void sweep(int64_t now_us);
  const GuardStats& stats() const { return stats_; }
  size_t sources() const { return sources_.size(); }
  const GuardLimits& limits() const { return limits_; }

  // User-Agent values of known scanners (prefixes, any case).
  static bool is_scanner(std::string_view user_agent);

 private:
  // Requests in a sliding window, kept as two fixed ones: the previous window counts for the part
  // of it that still lies within the last window. Dropped requests count too, so a flood stays
  // refused until it stops, not every other window.
  struct RateWindow {
    enum class Verdict { within, over, newly_over };  // newly_over: the first drop of an episode
    int64_t start_us = 0;
    uint32_t current = 0, previous = 0;  // requests in this window and the one before
    bool hot = false;                    // over the rate in this episode
    Verdict count(int64_t now_us, int64_t window_us, int64_t limit);
  };
  struct Source {
    RateWindow rate;
    int64_t last_seen_us = 0;
    int64_t own_until_us = 0;      // a ban this node made (0: none)
    int64_t own_banned_at_us = 0;  // when
    int64_t store_until_us = 0;    // a ban the store holds, as of `generation`
    uint64_t generation = 0;       // the bans_ generation store_until_us was read at
    bool hashed = false;
    uint8_t lines = 0;  // lines credited to it (credits_), kept here so admit() looks up once
    BanHash hash{};
  };
  struct Credit {  // a line that authenticated from a source: its id's hash and when, lately
    uint64_t line = 0;
    int64_t at_us = 0;
  };
  struct Flow {  // a softphone's WebSocket, by its connection id
    RateWindow rate;
    int64_t last_seen_us = 0;
  };

  bool exempt(const Peer& from, const SourceKey& key);
  // Counts a request against `window` (its source's or its flow's); false drops it.
  bool within_rate(RateWindow& window, const Peer& from, const SourceKey& key, int64_t now_us, int64_t limit);
  Source* find_or_add(const SourceKey& key, int64_t now_us);
  const BanHash& hash_of(Source& s, const SourceKey& key);
  // Brings s.store_until_us up to date with bans_.
  void refresh(Source& s, const SourceKey& key);
  void ban(const SourceKey& key, Source& s, int64_t now_us, size_t failures);
  // How log lines name a source: its ban id (the keyed hash), never its address.
  std::string source_id(const SourceKey& key) const;
  // Global budget for warning lines: false once `kLogLinesPerSecond` were written this second.
  bool may_log(int64_t now_us);

  const GuardLimits limits_;
  Directory& directory_;
  const SourceHasher& hasher_;
  BanSink* const sink_;
  const Clock& clock_;

  std::unordered_map<SourceKey, Source, SourceKeyHash> sources_;
  std::unordered_map<uint64_t, Flow> flows_;  // WebSocket flows seen lately, swept when idle
  // Lines that authenticated from each source lately, its budget's multiplier (Source::lines); a
  // source with credits is not swept while they last.
  std::unordered_map<SourceKey, std::vector<Credit>, SourceKeyHash> credits_;
  std::unordered_map<SourceKey, std::deque<int64_t>, SourceKeyHash> failures_;  // recent failure times
  std::unordered_map<BanHash, BanState, BanHashHash> bans_;  // bans the store holds that are in force
  std::unordered_map<BanHash, SourceKey, BanHashHash> own_;  // this node's bans, to apply lifts at once
  uint64_t generation_ = 1;  // bumped on every apply()
  GuardStats stats_;
  int64_t log_second_ = 0;
  uint32_t logged_this_second_ = 0;
  uint64_t log_suppressed_ = 0;
  int64_t full_logged_us_ = 0;
  int64_t full_swept_us_ = 0;  // when a full table last made admit() sweep
};

}  // namespace privox::sip
