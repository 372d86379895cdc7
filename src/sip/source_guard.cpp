#include "sip/source_guard.h"

#include <charconv>

#include <algorithm>
#include <array>

#include "common/log.h"

namespace privox::sip {
namespace {

// How a source reached privox, as the guard's log lines name it (a softphone's WebSocket is "ws",
// not the TCP connection under it).
log::Code transport_label(const Peer& from) {
  if (from.websocket()) return log::Code("ws");
  return from.reliable() ? log::Code("tcp") : log::Code("udp");
}

// Lines per second the guard may log before it only counts them: an attack from many sources must
// not become a way to fill the operator's disk.
constexpr uint32_t kLogLinesPerSecond = 50;

char guard_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool guard_starts_with(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (guard_lower(text[i]) != prefix[i]) return false;
  return true;
}

std::string_view guard_trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string ban_hex(const BanHash& h) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * h.size(), '0');
  for (size_t i = 0; i < h.size(); ++i) {
    out[2 * i] = kDigits[h[i] >> 4];
    out[2 * i + 1] = kDigits[h[i] & 15];
  }
  return out;
}

uint64_t prefix_mask(int bits) { return bits <= 0 ? 0 : bits >= 64 ? ~uint64_t{0} : ~uint64_t{0} << (64 - bits); }

}  // namespace

// ---- SourceRange -----------------------------------------------------------------------------

bool SourceRange::contains(const SourceKey& key) const {
  if (key.ipv6 != base.ipv6) return false;
  if (!key.ipv6) {
    const uint64_t m = prefix_mask(prefix) >> 32;  // IPv4 lives in the low 32 bits
    return (key.bits & m) == (base.bits & m);
  }
  const uint64_t m = prefix_mask(std::min(prefix, 64));
  return (key.bits & m) == (base.bits & m);
}

std::optional<SourceRange> SourceRange::parse(std::string_view text) {
  text = guard_trim(text);
  const size_t slash = text.find('/');
  const auto key = SourceKey::parse(text.substr(0, slash));
  if (!key) return std::nullopt;
  SourceRange range{*key, key->ipv6 ? 64 : 32};
  if (slash != std::string_view::npos) {
    const std::string_view bits = text.substr(slash + 1);
    int value = -1;
    const auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), value);
    if (ec != std::errc() || end != bits.data() + bits.size() || value < 0 || value > (key->ipv6 ? 128 : 32))
      return std::nullopt;
    range.prefix = value;
  }
  return range;
}

std::optional<std::vector<SourceRange>> parse_source_ranges(std::string_view text) {
  std::vector<SourceRange> out;
  while (!guard_trim(text).empty()) {
    const size_t comma = text.find(',');
    const auto range = SourceRange::parse(text.substr(0, comma));
    if (!range) return std::nullopt;
    out.push_back(*range);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

// ---- SourceGuard -----------------------------------------------------------------------------

SourceGuard::SourceGuard(GuardLimits limits, Directory& directory, const SourceHasher& hasher, BanSink* sink,
                         const Clock& clock)
    : limits_(std::move(limits)), directory_(directory), hasher_(hasher), sink_(sink), clock_(clock) {}

bool SourceGuard::is_scanner(std::string_view user_agent) {
  // What scanning and password-guessing tools send by default. Prefixes, lower case.
  static constexpr std::array<std::string_view, 11> kScanners = {
      "friendly-scanner", "friendly-request", "sipvicious", "sipcli",  "vaxsipuseragent", "sip-scan",
      "sipscan",          "iwar",             "sundayddr",  "pplsip",  "sivus"};
  user_agent = guard_trim(user_agent);
  if (user_agent.empty()) return false;
  return std::any_of(kScanners.begin(), kScanners.end(),
                     [&](std::string_view s) { return guard_starts_with(user_agent, s); });
}

bool SourceGuard::exempt(const Peer& from, const SourceKey& key) {
  for (const SourceRange& r : limits_.trusted)
    if (r.contains(key)) return true;
  return directory_.trunk_at(from) != nullptr;
}

SourceGuard::Source* SourceGuard::find_or_add(const SourceKey& key, int64_t now_us) {
  if (const auto it = sources_.find(key); it != sources_.end()) return &it->second;
  if (sources_.size() >= limits_.max_sources) {
    // A sweep walks the whole table: once a second at most, or a flood of new (spoofed) sources
    // would buy one per packet.
    if (now_us - full_swept_us_ >= 1'000'000) {
      full_swept_us_ = now_us;
      sweep(now_us);
    }
    if (sources_.size() >= limits_.max_sources) {
      if (now_us - full_logged_us_ > 60'000'000 && may_log(now_us)) {
        full_logged_us_ = now_us;
        // New sources are let through unlimited until some go idle.
        log::warn("sip", "guard.sources_full", {{"sources", sources_.size()}});
      }
      return nullptr;
    }
  }
  Source& s = sources_[key];
  s.rate.start_us = now_us;
  return &s;
}

const BanHash& SourceGuard::hash_of(Source& s, const SourceKey& key) {
  if (!s.hashed) {
    s.hash = hasher_.source(key);
    s.hashed = true;
  }
  return s.hash;
}

void SourceGuard::refresh(Source& s, const SourceKey& key) {
  if (s.generation == generation_) return;
  s.generation = generation_;
  s.store_until_us = 0;
  if (bans_.empty()) return;  // no keyed hash to compute while nobody is banned
  if (const auto it = bans_.find(hash_of(s, key)); it != bans_.end()) s.store_until_us = it->second.banned_until_us;
}

bool SourceGuard::admit(const Peer& from, bool request, int64_t now_us) {
  const SourceKey key = SourceKey::of(from);
  if (exempt(from, key)) return true;
  Source* s = find_or_add(key, now_us);
  if (!s) {
    ++stats_.untracked;
    if (!bans_.empty() && bans_.count(hasher_.source(key))) return ++stats_.banned_drops, false;
    return true;
  }
  s->last_seen_us = now_us;
  refresh(*s, key);
  if (std::max(s->own_until_us, s->store_until_us) > now_us) return ++stats_.banned_drops, false;
  if (!request || limits_.rate_requests <= 0) return true;
  if (!from.websocket()) return within_rate(s->rate, from, key, now_us, limits_.rate_requests * std::max<int64_t>(1, s->lines));
  Flow& flow = flows_[from.connection];
  flow.last_seen_us = now_us;
  return within_rate(flow.rate, from, key, now_us, limits_.rate_requests);
}

void SourceGuard::on_auth_success(const Peer& from, const ExtensionInfo& line) {
  if (from.websocket() || limits_.rate_requests <= 0) return;
  const SourceKey key = SourceKey::of(from);
  if (exempt(from, key)) return;
  const int64_t now_us = clock_.now_us();
  Source* s = find_or_add(key, now_us);
  if (!s) return;
  std::vector<Credit>& lines = credits_[key];
  const uint64_t id = std::hash<std::string>{}(line.id);
  const auto held = std::find_if(lines.begin(), lines.end(), [&](const Credit& c) { return c.line == id; });
  if (held != lines.end()) held->at_us = now_us;
  else if (lines.size() < kMaxCreditedLines) lines.push_back({id, now_us});
  s->lines = static_cast<uint8_t>(lines.size());
  s->last_seen_us = now_us;
}

size_t SourceGuard::credited_lines(const Peer& from) const {
  const auto it = sources_.find(SourceKey::of(from));
  return it == sources_.end() ? 0 : it->second.lines;
}

SourceGuard::RateWindow::Verdict SourceGuard::RateWindow::count(int64_t now_us, int64_t window_us, int64_t limit) {
  if (start_us == 0) start_us = now_us;
  int64_t elapsed = now_us - start_us;
  if (elapsed >= window_us) {
    previous = elapsed >= 2 * window_us ? 0 : current;
    start_us = elapsed >= 2 * window_us ? now_us : start_us + window_us;
    current = 0;
    elapsed = now_us - start_us;
  }
  if (current < UINT32_MAX) ++current;
  const uint64_t estimate = current + static_cast<uint64_t>(previous) * static_cast<uint64_t>(window_us - elapsed) /
                                          static_cast<uint64_t>(window_us);
  if (estimate <= static_cast<uint64_t>(limit)) {
    hot = false;
    return Verdict::within;
  }
  const bool first = !hot;
  hot = true;
  return first ? Verdict::newly_over : Verdict::over;
}

bool SourceGuard::within_rate(RateWindow& window, const Peer& from, const SourceKey& key, int64_t now_us,
                              int64_t limit) {
  const RateWindow::Verdict verdict = window.count(now_us, limits_.rate_window_us, limit);
  if (verdict == RateWindow::Verdict::within) return true;
  ++stats_.rate_drops;
  if (verdict == RateWindow::Verdict::newly_over && may_log(now_us)) {
    log::warn("sip", "guard.rate_limited",
              {{"source_id", log::Id(source_id(key))}, {"transport", transport_label(from)}, {"limit", limit},
               {"window_ms", limits_.rate_window_us / 1000}});
  }
  return false;
}

bool SourceGuard::admit_request(const Message& request, const Peer& from, int64_t now_us) {
  if (!is_scanner(request.first_value(Header::user_agent))) return true;
  ++stats_.scanner_drops;
  if (may_log(now_us))
    log::info("sip", "guard.scanner_dropped",
              {{"source_id", log::Id(source_id(SourceKey::of(from)))}, {"method", log::Code(request.method_text())}});
  return false;
}

bool SourceGuard::banned(const Peer& from, int64_t now_us) {
  const SourceKey key = SourceKey::of(from);
  if (exempt(from, key)) return false;
  const auto it = sources_.find(key);
  if (it == sources_.end()) return !bans_.empty() && bans_.count(hasher_.source(key)) > 0;
  refresh(it->second, key);
  return std::max(it->second.own_until_us, it->second.store_until_us) > now_us;
}

std::string SourceGuard::source_id(const SourceKey& key) const { return ban_hex(hasher_.source(key)); }

void SourceGuard::on_auth_failure(const Peer& from, const AuthFailure& failure) {
  ++stats_.failures;
  const int64_t now_us = clock_.now_us();
  const SourceKey key = SourceKey::of(from);
  const bool exempted = exempt(from, key);
  size_t count = 0;
  if (!exempted) {
    std::deque<int64_t>& times = failures_[key];
    times.push_back(now_us);
    while (!times.empty() && now_us - times.front() > limits_.failure_window_us) times.pop_front();
    count = times.size();
  }
  // The login appears only as a keyed hash: enough to see that one login is being tried from many
  // places, or many logins from one, and nothing to read a name from.
  if (may_log(now_us))
    log::warn("sip", "guard.auth_failure",
              {{"source_id", log::Id(source_id(key))},
               {"transport", transport_label(from)},
               {"method", log::Code(failure.method)},
               {"login_tag", log::Id(hasher_.login_tag(failure.login))},
               {"login_known", failure.known_login},
               {"reason", log::Code(failure.reason)},
               {"failures", count},
               {"limit", limits_.ban_failures},
               {"window_s", limits_.failure_window_us / 1'000'000},
               {"exempt", exempted}});
  if (exempted || limits_.ban_failures <= 0 || count < static_cast<size_t>(limits_.ban_failures)) return;
  Source* s = find_or_add(key, now_us);
  if (s) {
    ban(key, *s, now_us, count);
  } else {
    // The table is full: the ban still goes to the store, and comes back to this node from there.
    Source scratch;
    ban(key, scratch, now_us, count);
  }
}

void SourceGuard::ban(const SourceKey& key, Source& s, int64_t now_us, size_t failures) {
  s.own_until_us = now_us + limits_.ban_us;
  s.own_banned_at_us = now_us;
  s.last_seen_us = now_us;
  const BanHash hash = hash_of(s, key);
  own_[hash] = key;
  failures_.erase(key);
  ++stats_.bans;
  if (sink_) sink_->ban({hash, now_us, limits_.ban_us, limits_.max_ban_us, "auth_failures"});
  if (may_log(now_us))
    log::warn("sip", "guard.ban",
              {{"source_id", log::Id(ban_hex(hash))}, {"failures", failures}, {"first_ban_s", limits_.ban_us / 1'000'000},
               {"reason", "auth_failures"}});
}

void SourceGuard::apply(const BanUpdate& update, int64_t now_us) {
  if (update.replace_all) bans_.clear();
  for (const BanState& b : update.bans) {
    if (b.banned_until_us > now_us && b.lifted_at_us == 0) bans_[b.hash] = b;
    else bans_.erase(b.hash);
    // This node's own bans live in its table by address: a lift (or a longer repeat ban) that the
    // store holds for one of them is applied to it now, not when the source next sends.
    const auto own = own_.find(b.hash);
    if (own == own_.end()) continue;
    const auto it = sources_.find(own->second);
    if (it == sources_.end()) {
      own_.erase(own);
      continue;
    }
    Source& s = it->second;
    if (b.lifted_at_us != 0 && b.lifted_at_us >= s.own_banned_at_us) {
      if (may_log(now_us)) log::info("sip", "guard.ban_lifted", {{"source_id", log::Id(ban_hex(b.hash))}});
      failures_.erase(own->second);
      s.own_until_us = 0;
      own_.erase(own);
    } else if (b.lifted_at_us == 0 && b.banned_until_us > s.own_until_us) {
      s.own_until_us = b.banned_until_us;  // a repeat: the store made it longer
    }
  }
  ++generation_;
}

void SourceGuard::sweep(int64_t now_us) {
  const int64_t idle_after = std::max<int64_t>(2 * limits_.rate_window_us, 1'000'000);
  for (auto it = credits_.begin(); it != credits_.end();) {
    std::erase_if(it->second, [&](const Credit& c) { return now_us - c.at_us > limits_.line_credit_us; });
    const auto source = sources_.find(it->first);
    if (source != sources_.end()) source->second.lines = static_cast<uint8_t>(it->second.size());
    if (it->second.empty() || source == sources_.end()) it = credits_.erase(it);
    else ++it;
  }
  for (auto it = sources_.begin(); it != sources_.end();) {
    Source& s = it->second;
    const bool own_ban = s.own_until_us > now_us;
    if (!own_ban && s.own_until_us != 0 && s.hashed) {
      own_.erase(s.hash);
      s.own_until_us = 0;
    }
    if (!own_ban && s.lines == 0 && now_us - s.last_seen_us > idle_after) it = sources_.erase(it);
    else ++it;
  }
  std::erase_if(flows_, [&](const auto& entry) { return now_us - entry.second.last_seen_us > idle_after; });
  for (auto it = failures_.begin(); it != failures_.end();) {
    std::deque<int64_t>& times = it->second;
    while (!times.empty() && now_us - times.front() > limits_.failure_window_us) times.pop_front();
    if (times.empty()) it = failures_.erase(it);
    else ++it;
  }
  std::erase_if(bans_, [&](const auto& entry) { return entry.second.banned_until_us <= now_us; });
}

bool SourceGuard::may_log(int64_t now_us) {
  const int64_t second = now_us / 1'000'000;
  if (second != log_second_) {
    if (log_suppressed_ > 0)
      log::warn("sip", "guard.log_suppressed", {{"lines", log_suppressed_}, {"per_second_limit", kLogLinesPerSecond}});
    log_second_ = second;
    logged_this_second_ = 0;
    log_suppressed_ = 0;
  }
  if (logged_this_second_ < kLogLinesPerSecond) {
    ++logged_this_second_;
    return true;
  }
  ++log_suppressed_;
  return false;
}

}  // namespace privox::sip
