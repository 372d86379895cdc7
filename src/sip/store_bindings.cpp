#include "sip/store_bindings.h"

#include <fmt/format.h>

#include <optional>

#include "common/ids.h"

namespace privox::sip {
namespace {

// "udp 192.0.2.1 5060": what is sealed as a binding's source address.
std::string encode_peer(const Peer& p) {
  return fmt::format("{} {} {}", p.transport == TransportKind::udp ? "udp" : p.transport == TransportKind::tcp ? "tcp" : "tls", p.host(), p.port);
}

bool decode_peer(std::string_view text, Peer& out) {
  const size_t a = text.find(' '), b = text.rfind(' ');
  if (a == std::string_view::npos || b == a) return false;
  if (text.substr(0, a) != "udp") return false;
  unsigned port = 0;
  for (char c : text.substr(b + 1)) {
    if (c < '0' || c > '9') return false;
    port = port * 10 + static_cast<unsigned>(c - '0');
    if (port > 65535) return false;
  }
  return Peer::parse(text.substr(a + 1, b - a - 1), static_cast<uint16_t>(port), TransportKind::udp, out);
}

std::string open_or(const std::optional<privacy::SecretKey>& key, const std::string& line_id, std::string_view field,
                    const Bytes& sealed) {
  if (!key) return "erased";
  auto value = privacy::open_field(*key, line_id, field, sealed);
  return value.ok() ? std::move(value).value() : std::string("unreadable");
}

}  // namespace

Result<std::vector<StoredDevice>> stored_devices(store::Session& s, const privacy::Keyring& keys,
                                                 const std::string& line_id, int64_t live_after_us,
                                                 bool with_addresses) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT contact_enc, received_enc, user_agent_enc, expires_at_us FROM bindings "
                                          "WHERE extension_id = ? AND expires_at_us > ? ORDER BY expires_at_us",
                                          {line_id, live_after_us}));
  std::vector<StoredDevice> out;
  if (rows.empty()) return out;
  std::optional<privacy::SecretKey> key;
  if (auto loaded = privacy::subject_keys::load(s, keys, line_id); loaded.ok()) key = std::move(loaded).value();
  for (const store::Row& r : rows) {
    StoredDevice d;
    d.expires_at_us = r.i64(3);
    if (with_addresses) {
      d.contact = open_or(key, line_id, "contact", r.blob(0));
      if (!r.is_null(1)) d.received = open_or(key, line_id, "received", r.blob(1));
    }
    if (!r.is_null(2)) d.user_agent = open_or(key, line_id, "user_agent", r.blob(2));
    out.push_back(std::move(d));
  }
  return out;
}

namespace {

// The rows as the SIP worker appends them: what the writer thread seals or indexes is in clear.
enum Upsert : size_t { kId, kLine, kContact, kContactIndex, kReceived, kUserAgent, kCallId };
enum Remove : size_t { kRemoveLine, kRemoveContact };

// The prepare step of the upsert target (store/append_writer.h), on the writer thread inside the
// batch's transaction: indexes and seals each binding under its line's key, read there. It holds
// no pointer to StoreBindings, which may be gone before the writer drains its queue.
store::PrepareRows seal_bindings(const privacy::Keyring& keys) {
  return [&keys](store::Session& s, std::vector<store::Params>& rows,
                 std::vector<std::optional<Error>>& refused) -> Status {
    std::vector<std::string> lines;
    lines.reserve(rows.size());
    for (const store::Params& row : rows) lines.push_back(std::get<std::string>(row[kLine]));
    PRIVOX_ASSIGN(const privacy::subject_keys::OpenKeys open, privacy::subject_keys::load_cached(s, keys, lines));
    for (size_t i = 0; i < rows.size(); ++i) {
      store::Params& row = rows[i];
      const std::string& line = lines[i];
      const auto key = open.find(line);
      if (key == open.end()) {
        refused[i] = Error{ErrorCode::erased, "", fmt::format("no key for extension {}", line)};
        continue;
      }
      const std::string contact = std::get<std::string>(row[kContact]);
      row[kContact] = privacy::seal_field(*key->second, line, "contact", contact);
      row[kContactIndex] = keys.blind_index("binding_contact", contact);
      row[kReceived] = privacy::seal_field(*key->second, line, "received", std::get<std::string>(row[kReceived]));
      if (const std::string* agent = std::get_if<std::string>(&row[kUserAgent]))
        row[kUserAgent] = privacy::seal_field(*key->second, line, "user_agent", *agent);
      row[kCallId] = keys.blind_index("binding_call_id", std::get<std::string>(row[kCallId]));
    }
    return {};
  };
}

store::PrepareRows index_contacts(const privacy::Keyring& keys) {
  return [&keys](store::Session&, std::vector<store::Params>& rows, std::vector<std::optional<Error>>&) -> Status {
    for (store::Params& row : rows)
      row[kRemoveContact] = keys.blind_index("binding_contact", std::get<std::string>(row[kRemoveContact]));
    return {};
  };
}

}  // namespace

StoreBindings::StoreBindings(store::Store& store, store::AppendWriter& writer, const privacy::Keyring& keys,
                             const Clock& clock)
    : store_(store), writer_(writer), keys_(keys), clock_(clock) {
  upsert_target_ = writer_.add_target(
      {"bindings",
       {"id", "extension_id", "contact_enc", "contact_bidx", "received_enc", "user_agent_enc", "call_id_bidx", "cseq",
        "expires_at_us", "updated_at_us"},
       "INSERT INTO bindings (id, extension_id, contact_enc, contact_bidx, received_enc, user_agent_enc, "
       "call_id_bidx, cseq, expires_at_us, updated_at_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
       "ON CONFLICT (extension_id, contact_bidx) DO UPDATE SET contact_enc = excluded.contact_enc, "
       "received_enc = excluded.received_enc, user_agent_enc = excluded.user_agent_enc, "
       "call_id_bidx = excluded.call_id_bidx, cseq = excluded.cseq, expires_at_us = excluded.expires_at_us, "
       "updated_at_us = excluded.updated_at_us",
       seal_bindings(keys_)});
  delete_target_ = writer_.add_target({"bindings",
                                       {"extension_id", "contact_bidx"},
                                       "DELETE FROM bindings WHERE extension_id = ? AND contact_bidx = ?",
                                       index_contacts(keys_)});
  purge_target_ =
      writer_.add_target({"bindings", {"expires_at_us"}, "DELETE FROM bindings WHERE expires_at_us <= ?"});
}

void StoreBindings::persist(std::vector<BindingChange> changes, std::function<void(const Status&)> done) {
  const int64_t now = clock_.now_us();
  uint64_t first = 0, last = 0;
  for (BindingChange& c : changes) {
    Result<store::AppendWriter::Ticket> ticket = make_error(ErrorCode::internal, "unset");
    if (c.remove) {
      ticket = writer_.append(delete_target_, {c.extension_id, std::move(c.binding.contact)});
    } else {
      Binding& b = c.binding;
      store::Value user_agent = b.user_agent.empty() ? store::null_value() : store::Value{std::move(b.user_agent)};
      std::string contact = b.contact;  // in clear: the writer thread seals one copy and indexes the other
      ticket = writer_.append(upsert_target_, {new_id(now), c.extension_id, std::move(contact),
                                               std::move(b.contact), encode_peer(b.peer), std::move(user_agent),
                                               std::move(b.call_id), int64_t{b.cseq}, b.expires_at_us, now});
    }
    // Rows already queued will still be written: that is harmless, as the device retries its
    // REGISTER on the error and rewrites them.
    if (!ticket.ok()) return done(ticket.error());
    if (first == 0) first = ticket->seq;
    last = ticket->seq;
  }
  if (first == 0) return done({});
  waiting_.add(first, last, std::move(done));
}

void StoreBindings::completed(const store::BatchOutcome& batch) { waiting_.completed(batch); }

Result<size_t> StoreBindings::restore_all(Location& location) {
  const int64_t now = clock_.now_us();
  PRIVOX_ASSIGN(auto tx, store_.begin(store::TxMode::read));
  PRIVOX_ASSIGN(store::Rows rows, tx->query("SELECT extension_id, contact_enc, received_enc, user_agent_enc, cseq, "
                                            "expires_at_us FROM bindings WHERE expires_at_us > ?",
                                            {now}));
  std::vector<std::string> lines;
  lines.reserve(rows.size());
  for (const store::Row& r : rows) lines.push_back(r.text(0));
  PRIVOX_ASSIGN(const privacy::subject_keys::OpenKeys keys, privacy::subject_keys::load_cached(*tx, keys_, lines));
  tx.reset();
  size_t restored = 0;
  for (const store::Row& r : rows) {
    const std::string& extension_id = r.text(0);
    const auto key = keys.find(extension_id);
    if (key == keys.end()) continue;  // the extension's key was destroyed: nothing to route to
    auto contact = privacy::open_field(*key->second, extension_id, "contact", r.blob(1));
    auto received = r.is_null(2) ? Result<std::string>(make_error(ErrorCode::not_found, "none"))
                                 : privacy::open_field(*key->second, extension_id, "received", r.blob(2));
    Binding b;
    if (!contact.ok() || !received.ok() || !decode_peer(*received, b.peer)) continue;
    b.contact = std::move(contact).value();
    if (!r.is_null(3))
      if (auto ua = privacy::open_field(*key->second, extension_id, "user_agent", r.blob(3)); ua.ok()) b.user_agent = *ua;
    b.cseq = static_cast<uint32_t>(r.i64(4));
    b.expires_at_us = r.i64(5);
    location.restore(extension_id, std::move(b));
    ++restored;
  }
  return restored;
}

void StoreBindings::purge_expired() { (void)writer_.append(purge_target_, {clock_.now_us()}); }

}  // namespace privox::sip
