#include "sip/store_bindings.h"

#include <fmt/format.h>

#include <optional>

#include "common/ids.h"

namespace privox::sip {
namespace {

// "udp 192.0.2.1 5060": what is sealed as a binding's source address.
std::string encode_peer(const Peer& p) {
  return fmt::format("{} {} {}", p.transport == TransportKind::udp ? "udp" : "tcp", p.host(), p.port);
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
       "updated_at_us = excluded.updated_at_us"});
  delete_target_ = writer_.add_target({"bindings",
                                       {"extension_id", "contact_bidx"},
                                       "DELETE FROM bindings WHERE extension_id = ? AND contact_bidx = ?"});
  purge_target_ =
      writer_.add_target({"bindings", {"expires_at_us"}, "DELETE FROM bindings WHERE expires_at_us <= ?"});
}

const privacy::SecretKey* StoreBindings::key_for(const std::string& extension_id) {
  const auto cached = subject_keys_.find(extension_id);
  if (cached != subject_keys_.end()) return &cached->second;
  auto tx = store_.begin(store::TxMode::read);
  if (!tx.ok()) return nullptr;
  auto key = privacy::subject_keys::load(**tx, keys_, extension_id);
  if (!key.ok()) return nullptr;
  return &subject_keys_.emplace(extension_id, std::move(key).value()).first->second;
}

void StoreBindings::persist(std::vector<BindingChange> changes, std::function<void(const Status&)> done) {
  const int64_t now = clock_.now_us();
  uint64_t last = 0;
  for (const BindingChange& c : changes) {
    const privacy::SecretKey* key = key_for(c.extension_id);
    if (!key) return done(make_error(ErrorCode::not_found, fmt::format("no key for extension {}", c.extension_id)));
    const Bytes contact_index = keys_.blind_index("binding_contact", c.binding.contact);
    Result<store::AppendWriter::Ticket> ticket = make_error(ErrorCode::internal, "unset");
    if (c.remove) {
      ticket = writer_.append(delete_target_, {c.extension_id, contact_index});
    } else {
      const Binding& b = c.binding;
      store::Value user_agent = b.user_agent.empty()
                                    ? store::null_value()
                                    : store::Value{privacy::seal_field(*key, c.extension_id, "user_agent",
                                                                       b.user_agent)};
      ticket = writer_.append(
          upsert_target_,
          {new_id(now), c.extension_id, privacy::seal_field(*key, c.extension_id, "contact", b.contact),
           contact_index, privacy::seal_field(*key, c.extension_id, "received", encode_peer(b.peer)),
           std::move(user_agent), keys_.blind_index("binding_call_id", b.call_id), int64_t{b.cseq}, b.expires_at_us,
           now});
    }
    if (!ticket.ok()) return done(ticket.error());
    last = ticket->seq;
  }
  waiting_.push_back({last, std::move(done)});
}

void StoreBindings::completed(uint64_t first, uint64_t last, const Status& outcome) {
  while (!waiting_.empty() && waiting_.front().ticket <= last) {
    Waiter w = std::move(waiting_.front());
    waiting_.pop_front();
    // A waiter's rows may span batches; the one holding its last row decides.
    w.done(w.ticket >= first ? outcome : Status{});
  }
}

Result<size_t> StoreBindings::restore_all(Location& location) {
  const int64_t now = clock_.now_us();
  PRIVOX_ASSIGN(auto tx, store_.begin(store::TxMode::read));
  PRIVOX_ASSIGN(store::Rows rows, tx->query("SELECT extension_id, contact_enc, received_enc, user_agent_enc, cseq, "
                                            "expires_at_us FROM bindings WHERE expires_at_us > ?",
                                            {now}));
  tx.reset();
  size_t restored = 0;
  for (const store::Row& r : rows) {
    const std::string extension_id = r.text(0);
    const privacy::SecretKey* key = key_for(extension_id);
    if (!key) continue;  // the extension's key was destroyed: nothing to route to
    auto contact = privacy::open_field(*key, extension_id, "contact", r.blob(1));
    auto received = r.is_null(2) ? Result<std::string>(make_error(ErrorCode::not_found, "none"))
                                 : privacy::open_field(*key, extension_id, "received", r.blob(2));
    Binding b;
    if (!contact.ok() || !received.ok() || !decode_peer(*received, b.peer)) continue;
    b.contact = std::move(contact).value();
    if (!r.is_null(3))
      if (auto ua = privacy::open_field(*key, extension_id, "user_agent", r.blob(3)); ua.ok()) b.user_agent = *ua;
    b.cseq = static_cast<uint32_t>(r.i64(4));
    b.expires_at_us = r.i64(5);
    location.restore(extension_id, std::move(b));
    ++restored;
  }
  return restored;
}

void StoreBindings::purge_expired() { (void)writer_.append(purge_target_, {clock_.now_us()}); }

}  // namespace privox::sip
