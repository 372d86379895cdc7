#pragma once
// The limits of portal logins and sessions (auth.h) and of the writes anyone may make without a
// session (rate_limit.h), apart from the code that applies them so that api.h, which the
// composition root includes, needs nothing heavier than this.

#include <cstdint>

#include "common/result.h"

namespace privox::store {
class Store;
}

namespace privox::portal {

// A number of actions per client in a fixed window (rate_limit.h).
struct RateLimit {
  int64_t max = 10;
  int64_t window_us = 3600LL * 1'000'000;
};

// The defaults equal the settings' defaults (portal/settings.cpp); tests pass their own.
struct AuthLimits {
  int64_t max_failures = 5;                   // per account and client pair before delays begin
  int64_t window_us = 15LL * 60 * 1'000'000;  // each quiet window takes one failure off a pair's count
  int64_t max_delay_us = 15LL * 60 * 1'000'000;  // the longest delay between a pair's tries
  int64_t session_idle_us = 30LL * 60 * 1'000'000;  // ASVS 3.3.2 (L2): 30 minutes
  int64_t session_max_us = 12LL * 3600 * 1'000'000;
  RateLimit signups{10, 3600LL * 1'000'000};         // sign-ups per client address
  RateLimit consent_writes{30, 3600LL * 1'000'000};  // consent decisions per visitor address or member
  RateLimit password_resets{10, 3600LL * 1'000'000};  // forgotten-password emails per client address
  RateLimit password_resets_per_email{3, 3600LL * 1'000'000};  // and per address typed, whoever typed it
  RateLimit invites{50, 3600LL * 1'000'000};          // invitations per company
  RateLimit identity_codes{5, 3600LL * 1'000'000};    // rights-request codes a member asks to be re-sent
};

// The limits in force from the operator's settings: portal.login_max_failures,
// portal.login_window_minutes, portal.lockout_minutes (the longest delay),
// portal.session_idle_minutes, portal.session_max_hours, portal.signups_per_hour,
// portal.consent_writes_per_hour, portal.password_resets_per_hour,
// portal.password_resets_per_email_per_hour, portal.invites_per_hour and
// portal.identity_codes_per_hour (each checked against its
// range when set). Fails with store
// errors only.
Result<AuthLimits> auth_limits_from_settings(store::Store& store);

}  // namespace privox::portal
