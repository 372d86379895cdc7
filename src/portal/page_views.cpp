#include "portal/page_views.h"

#include <utility>  // before Asio, see http/server.h

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/clock.h"

namespace privox::portal {

std::string truncate_address(std::string_view address) {
  boost::system::error_code ec;
  const auto parsed = boost::asio::ip::make_address(std::string(address), ec);
  if (ec) return {};
  if (parsed.is_v4()) {
    auto bytes = parsed.to_v4().to_bytes();
    bytes[3] = 0;
    return boost::asio::ip::address_v4(bytes).to_string();
  }
  auto bytes = parsed.to_v6().to_bytes();
  for (size_t i = 6; i < bytes.size(); ++i) bytes[i] = 0;
  return boost::asio::ip::address_v6(bytes).to_string();
}

Status count_page_view(store::Store& store, std::string_view page, std::string_view client_address, int64_t now_us) {
  // The truncated network is all that is ever looked at, and nothing of it is stored: the count
  // is per day and page only.
  (void)truncate_address(client_address);
  const CivilDate d = utc_date(now_us);
  const std::string day = fmt::format("{:04}-{:02}-{:02}", d.year, d.month, d.day);
  return store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(s.exec("INSERT INTO page_views (day, page, views) VALUES (?, ?, 0) ON CONFLICT DO NOTHING",
                      {day, std::string(page)}));
    PRIVOX_TRY(s.exec("UPDATE page_views SET views = views + 1 WHERE day = ? AND page = ?", {day, std::string(page)}));
    return {};
  });
}

Result<nlohmann::json> page_view_counts(store::Store& store, int days) {
  PRIVOX_ASSIGN(auto tx, store.begin(store::TxMode::read));
  PRIVOX_ASSIGN(store::Rows rows, tx->query("SELECT day, page, views FROM page_views WHERE day IN (SELECT DISTINCT day "
                                            "FROM page_views ORDER BY day DESC LIMIT ?) ORDER BY day DESC, page",
                                            {int64_t{days}}));
  nlohmann::json out = nlohmann::json::array();
  for (const store::Row& r : rows) out.push_back({{"day", r.text(0)}, {"page", r.text(1)}, {"views", r.i64(2)}});
  return out;
}

}  // namespace privox::portal
