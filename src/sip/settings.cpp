// The settings sip/ reads: the per-source request-rate limit, the bans after repeated
// authentication failures, and the sources exempt from both (store/settings.h). Read when
// `privox serve` starts.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "sip/bans.h"
#include "sip/module.h"
#include "store/settings.h"

namespace privox::sip {
namespace {

using enum store::SettingKind;
using store::SettingSpec;

// A host name or address as phones are to be given it: no spaces, quotes or markup, since it goes
// into provisioning files.
Status check_public_host(std::string_view value) {
  const bool plain = std::all_of(value.begin(), value.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
  });
  if (!plain || value.size() > 253)
    return invalid("sip.public_host", "must be a host name or an IP address, such as sip.example.com or 192.0.2.10");
  return {};
}

Status check_trusted_sources(std::string_view value) {
  if (!parse_source_ranges(value))
    return invalid("sip.trusted_sources",
                   "must be addresses or ranges separated by commas, such as 192.0.2.10, 198.51.100.0/24, 2001:db8::/48");
  return {};
}

// clang-format off
constexpr std::array<SettingSpec, 15> kSettings = {
  SettingSpec{"sip.rate_limit_requests", integer, "16", 0, 1'000'000,
              "SIP requests one source (an IPv4 address, an IPv6 /64) may send in the rate window; past it its "
              "requests are dropped unanswered until its rate falls; 0 turns the limit off (read when privox serve "
              "starts)"},
  SettingSpec{"sip.rate_limit_window_seconds", integer, "2", 1, 60,
              "the window of the SIP request-rate limit (read when privox serve starts)"},
  SettingSpec{"sip.ban_max_failures", integer, "5", 0, 1000,
              "failed SIP digest authentications from one source within the failure window that ban it; 0 never "
              "bans (read when privox serve starts)"},
  SettingSpec{"sip.ban_window_minutes", integer, "10", 1, 1440,
              "the window SIP authentication failures are counted in (read when privox serve starts)"},
  SettingSpec{"sip.ban_minutes", integer, "10", 1, 10080,
              "how long a source's first SIP ban lasts; each repeat while it is remembered (a day after the last "
              "ban) doubles it (read when privox serve starts)"},
  SettingSpec{"sip.ban_max_minutes", integer, "1440", 1, 525600,
              "the longest a repeated SIP ban may last (read when privox serve starts)"},
  SettingSpec{"sip.trusted_sources", text, "", 0, 0,
              "addresses and ranges (comma-separated: 192.0.2.10, 198.51.100.0/24, 2001:db8::/48) never "
              "rate-limited or banned, such as an office NAT or a session border controller; provisioned trunks "
              "are exempt already (read when privox serve starts)",
              check_trusted_sources},
  SettingSpec{"sip.public_host", text, "", 0, 0,
              "the host name or address phones register to, as the Extensions page and provisioning files name it; "
              "empty: the address privox serve --sip listens on (read when privox serve starts)",
              check_public_host},
  SettingSpec{"sip.public_port", integer, "0", 0, 65535,
              "the port phones register to, as the Extensions page and provisioning files name it; 0: the port "
              "privox serve --sip listens on (read when privox serve starts)"},
  SettingSpec{"sip.max_forward_hops", integer, "5", 1, 20,
              "how many times forwards, ring groups' overflow and their fallbacks may send one call on before it "
              "is refused 483, which cuts forwarding loops (read when privox serve starts)"},
  SettingSpec{"sip.outbound_keepalive_seconds", integer, "25", 5, 3600,
              "how often a phone that registers with SIP Outbound (RFC 5626) is asked to send its keep-alives "
              "(Flow-Timer: STUN over UDP, a double CRLF over TCP and TLS), so that its NAT keeps the mapping "
              "incoming calls reach it by (read when privox serve starts)"},
  SettingSpec{"sip.node_silent_seconds", integer, "15", 3, 3600,
              "how long a node sharing the store may go without its heartbeat (one a second) before another node "
              "ends the calls it carried, with reason restart (read when privox serve starts)"},
  SettingSpec{"sip.max_clock_skew_ms", integer, "1000", 10, 3'600'000,
              "how far a node's clock may be from the store's: privox serve refuses to start beyond it, and a "
              "running node beyond it logs node.clock_skewed (read when privox serve starts)"},
  SettingSpec{"conference.max_participants", integer, "10", 2, 100,
              "how many people one conference room holds at once; the next caller hears that it is full "
              "(read when privox serve starts)"},
  SettingSpec{"sip.music_on_hold_file", text, "/usr/share/asterisk/moh/macroform-the_simplicity.wav", 0, 0,
              "a WAV file the media relay plays to a caller put on hold (Debian's asterisk-moh-opsound-wav by "
              "default); empty: silence. Needs serve --media-relay (read when privox serve starts)"},
};
// clang-format on

}  // namespace

std::span<const store::SettingSpec> settings() { return kSettings; }

Result<GuardLimits> guard_limits_from_settings(store::Store& store) {
  const store::Settings settings(store);
  GuardLimits limits;
  PRIVOX_ASSIGN(limits.rate_requests, settings.integer("sip.rate_limit_requests"));
  PRIVOX_ASSIGN(const int64_t window_s, settings.integer("sip.rate_limit_window_seconds"));
  PRIVOX_ASSIGN(limits.ban_failures, settings.integer("sip.ban_max_failures"));
  PRIVOX_ASSIGN(const int64_t failure_window_min, settings.integer("sip.ban_window_minutes"));
  PRIVOX_ASSIGN(const int64_t ban_min, settings.integer("sip.ban_minutes"));
  PRIVOX_ASSIGN(const int64_t max_ban_min, settings.integer("sip.ban_max_minutes"));
  PRIVOX_ASSIGN(const std::string trusted, settings.text("sip.trusted_sources"));
  constexpr int64_t kMinute = 60'000'000;
  limits.rate_window_us = window_s * 1'000'000;
  limits.failure_window_us = failure_window_min * kMinute;
  limits.ban_us = ban_min * kMinute;
  limits.max_ban_us = std::max(max_ban_min, ban_min) * kMinute;
  auto ranges = parse_source_ranges(trusted);
  if (!ranges) return check_trusted_sources(trusted).error();
  limits.trusted = std::move(*ranges);
  return limits;
}

}  // namespace privox::sip
