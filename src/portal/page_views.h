#pragma once
// Page views of the portal's HTML pages, counted on the server without cookies (P8, P12): the
// client's address is truncated (/24 for IPv4, /48 for IPv6) before anything else happens to it,
// and only a count per (UTC day, page) is stored.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>

#include "common/result.h"
#include "store/store.h"

namespace privox::portal {

// "203.0.113.77" -> "203.0.113.0", "2001:db8:1:2::5" -> "2001:db8:1::"; empty for anything else.
std::string truncate_address(std::string_view address);

// Counts one view of `page` on the UTC day of `now_us`.
Status count_page_view(store::Store& store, std::string_view page, std::string_view client_address, int64_t now_us);

// [{day, page, views}], newest day first, at most `days` days.
Result<nlohmann::json> page_view_counts(store::Store& store, int days = 31);

}  // namespace privox::portal
