#include "accounts/trunks.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "accounts/directory_log.h"
#include "accounts/validation.h"
#include "common/ids.h"
#include "privacy/audit_record.h"

namespace privox::accounts {
namespace {

using store::Rows;
using store::Session;
using store::TxMode;

constexpr size_t kMaxName = 64;
constexpr std::string_view kTrunkSelect = "SELECT id, name, host, port, trusted, created_at_us FROM trunks";

Trunk trunk_from(const store::Row& r) {
  return Trunk{r.text(0), r.text(1), {r.text(2), static_cast<uint16_t>(r.i64(3))}, r.i64(4) != 0, r.i64(5)};
}

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// RFC 1123 host name, already lower-cased: labels of 1-63 letters, digits and inner hyphens. The
// last label is not all digits, so that a mistyped IPv4 address (1.2.3.256) is not taken for a name.
bool is_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  for (;;) {
    const size_t dot = name.find('.', start);
    const std::string_view label = name.substr(start, dot == std::string_view::npos ? name.size() - start : dot - start);
    if (label.empty() || label.size() > 63 || !is_alnum(label.front()) || !is_alnum(label.back()) ||
        !std::all_of(label.begin(), label.end(), [](char c) { return is_alnum(c) || c == '-'; }))
      return false;
    if (dot == std::string_view::npos)
      return !std::all_of(label.begin(), label.end(), [](char c) { return c >= '0' && c <= '9'; });
    start = dot + 1;
  }
}

bool is_ip_literal(const std::string& host) {
  in6_addr v6{};
  in_addr v4{};
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 || ::inet_pton(AF_INET, host.c_str(), &v4) == 1;
}

}  // namespace

Result<std::string> normalise_host(std::string_view host) {
  const Error bad = invalid("address", fmt::format("'{}' is neither an IP address nor a DNS name", host));
  std::string_view h = host;
  const bool bracketed = h.size() >= 2 && h.front() == '[' && h.back() == ']';
  if (bracketed) h = h.substr(1, h.size() - 2);
  if (h.empty() || h.size() > 254) return bad;
  std::string text(h);
  char buf[INET6_ADDRSTRLEN] = {};
  if (text.find(':') != std::string::npos) {
    in6_addr v6{};
    if (::inet_pton(AF_INET6, text.c_str(), &v6) != 1 || !::inet_ntop(AF_INET6, &v6, buf, sizeof buf)) return bad;
    return std::string(buf);
  }
  if (bracketed) return bad;
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1 && ::inet_ntop(AF_INET, &v4, buf, sizeof buf)) return std::string(buf);
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  if (text.back() == '.') text.pop_back();  // the root label: "carrier.example." is "carrier.example"
  if (!is_dns_name(text)) return bad;
  return text;
}

Result<TrunkAddress> parse_trunk_address(std::string_view text) {
  const Error not_host_port = invalid(
      "address", fmt::format("'{}' is not HOST:PORT (an IPv6 address goes in brackets: [2001:db8::1]:5060)", text));
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return not_host_port;
    host = text.substr(0, close + 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return not_host_port;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return not_host_port;
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
    return invalid("address", fmt::format("'{}' is not a port number (1-65535)", port));
  PRIVOX_ASSIGN(std::string normal, normalise_host(host));
  return TrunkAddress{std::move(normal), static_cast<uint16_t>(value)};
}

std::string format_trunk_address(const TrunkAddress& address) {
  if (address.host.find(':') != std::string::npos) return fmt::format("[{}]:{}", address.host, address.port);
  return fmt::format("{}:{}", address.host, address.port);
}

Result<std::string> Trunks::add_trunk(const std::string& name, const std::string& address, bool trusted,
                                      const std::string& actor, const AlsoInTransaction& also) {
  PRIVOX_TRY(refuse_card_numbers({{"name", name}, {"address", address}}));
  PRIVOX_ASSIGN(const std::string clean_name, normalise_text("name", name, kMaxName, false));
  PRIVOX_ASSIGN(const TrunkAddress at, parse_trunk_address(address));
  // Trust goes by the address a request comes from, and a name cannot be compared with one.
  if (trusted && !is_ip_literal(at.host))
    return invalid("address", fmt::format("a trusted trunk is recognised by the IP address its requests come from; "
                                          "give {} as an IP address",
                                          at.host));
  const int64_t now = clock_.now_us();
  const std::string id = new_id(now);
  PRIVOX_TRY(write_checked(store_, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(Rows named, s.query("SELECT id FROM trunks WHERE name = ?", {clean_name}));
    if (!named.empty())
      return Error{ErrorCode::conflict, "name", fmt::format("trunk {} is already called '{}'", named[0].text(0), clean_name)};
    PRIVOX_ASSIGN(Rows there, s.query("SELECT id FROM trunks WHERE host = ? AND port = ?", {at.host, int64_t{at.port}}));
    if (!there.empty())
      return Error{ErrorCode::conflict, "address",
                   fmt::format("trunk {} already has the address {}", there[0].text(0), format_trunk_address(at))};
    PRIVOX_TRY(s.exec("INSERT INTO trunks (id, name, host, port, trusted, created_at_us) VALUES (?, ?, ?, ?, ?, ?)",
                      {id, clean_name, at.host, int64_t{at.port}, int64_t{trusted ? 1 : 0}, now}));
    if (also) PRIVOX_TRY(also(s, id, clean_name));
    PRIVOX_TRY(audit_.append(s, {actor, "trunk.add", "", "", {{"trunk_id", id}, {"trusted", trusted}}}));
    return record_directory_change(s, DirectoryItem::trunk, id, "added", now);
  }, "name"));
  return id;
}

Result<Trunk> Trunks::find_trunk_by_address(std::string_view host, uint16_t port) {
  PRIVOX_ASSIGN(const std::string normal, normalise_host(host));
  PRIVOX_ASSIGN(auto tx, store_.begin(TxMode::read));
  PRIVOX_ASSIGN(Rows rows, tx->query(fmt::format("{} WHERE host = ?", kTrunkSelect), {normal}));
  if (rows.empty()) return Error{ErrorCode::not_found, "address", fmt::format("no trunk has the address {}", normal)};
  // The rule sip::MemoryDirectory::trunk_at applies: the port decides only between trunks that
  // share the address, and otherwise the first by name (byte-wise, as directory_trunks sorts).
  std::vector<Trunk> there;
  there.reserve(rows.size());
  for (const store::Row& r : rows) there.push_back(trunk_from(r));
  const auto exact = std::find_if(there.begin(), there.end(), [&](const Trunk& t) { return t.address.port == port; });
  if (exact != there.end()) return *exact;
  return *std::min_element(there.begin(), there.end(), [](const Trunk& a, const Trunk& b) { return a.name < b.name; });
}

Result<std::vector<Trunk>> Trunks::list_trunks() {
  PRIVOX_ASSIGN(auto tx, store_.begin(TxMode::read));
  return directory_trunks(*tx);
}

Result<std::vector<Trunk>> directory_trunks(store::Session& s, const std::vector<std::string>& ids) {
  std::string sql(kTrunkSelect);
  store::Params params;
  if (!ids.empty()) {
    sql += " WHERE id IN (";
    for (size_t i = 0; i < ids.size(); ++i) {
      sql += i ? ", ?" : "?";
      params.emplace_back(ids[i]);
    }
    sql += ")";
  }
  PRIVOX_ASSIGN(Rows rows, s.query(sql, params));
  std::vector<Trunk> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) out.push_back(trunk_from(r));
  // Sorted here, byte-wise: PostgreSQL's ORDER BY would follow the database's locale.
  std::sort(out.begin(), out.end(), [](const Trunk& a, const Trunk& b) { return a.name < b.name; });
  return out;
}

}  // namespace privox::accounts
