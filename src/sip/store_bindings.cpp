#include "sip/store_bindings.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

#include "accounts/directory_log.h"
#include "common/bytes.h"
#include "common/ids.h"
#include "sip/registrar.h"
#include "traffic/store_sink.h"

namespace privox::sip {
namespace {

// "udp 192.0.2.1 5060": what is sealed as a binding's source address.
std::string encode_peer(const Peer& p) {
  std::string kind(p.via_name());
  std::transform(kind.begin(), kind.end(), kind.begin(), [](unsigned char c) { return std::tolower(c); });
  return fmt::format("{} {} {}", kind, p.host(), p.port);
}

// "udp 192.0.2.1 5060", "tls …", "ws …": any transport; connection 0, as no connection outlives
// the node that had it.
bool decode_peer(std::string_view text, Peer& out) {
  const size_t a = text.find(' '), b = text.rfind(' ');
  if (a == std::string_view::npos || b == a) return false;
  const std::string_view name = text.substr(0, a);
  TransportKind kind = TransportKind::udp;
  if (name == "tcp") kind = TransportKind::tcp;
  else if (name == "tls") kind = TransportKind::tls;
  else if (name == "ws") kind = TransportKind::ws;
  else if (name == "wss") kind = TransportKind::wss;
  else if (name != "udp") return false;
  unsigned port = 0;
  for (char c : text.substr(b + 1)) {
    if (c < '0' || c > '9') return false;
    port = port * 10 + static_cast<unsigned>(c - '0');
    if (port > 65535) return false;
  }
  return Peer::parse(text.substr(a + 1, b - a - 1), static_cast<uint16_t>(port), kind, out);
}

// What is sealed as a binding's "received": its peer (encode_peer), and for a TLS phone the pin of
// the certificate it registered with, " certificate=<64 hex digits>", so that after a restart a
// connection back to the phone still goes only to that certificate (sip/tls.h).
constexpr std::string_view kCertificateTag = " certificate=";

std::string encode_reached(const Binding& b) {
  std::string out = encode_peer(b.peer);
  if (b.certificate) out += fmt::format("{}{}", kCertificateTag, to_hex(b.certificate->data(), b.certificate->size()));
  return out;
}

bool decode_reached(std::string_view text, Binding& b) {
  if (const size_t tag = text.find(kCertificateTag); tag != std::string_view::npos) {
    const std::optional<Bytes> pin = privox::from_hex(text.substr(tag + kCertificateTag.size()));
    if (!pin || pin->size() != CertificatePin{}.size()) return false;
    b.certificate.emplace();
    std::copy(pin->begin(), pin->end(), b.certificate->begin());
    text = text.substr(0, tag);
  }
  return decode_peer(text, b.peer);
}

// Only the node that took the REGISTER reaches the phone: over its connection, its SIP Outbound
// flow, or a NAT's mapping that is open to that node's address alone (the Contact does not name
// where the REGISTER came from).
bool held_by_this_node(const Binding& b) {
  if (b.peer.reliable() || !b.flow.empty()) return true;
  const std::optional<Uri> uri = parse_uri(b.contact);
  Peer named;
  return !uri || !Peer::parse(uri->host, uri->port ? uri->port : 5060, TransportKind::udp, named) ||
         !named.same_address(b.peer);
}

std::string open_or(const std::optional<privacy::SecretKey>& key, const std::string& line_id, std::string_view field,
                    const Bytes& sealed) {
  if (!key) return "erased";
  auto value = privacy::open_field(*key, line_id, field, sealed);
  return value.ok() ? std::move(value).value() : std::string("unreadable");
}

// `held_by` ("<node id> udp 192.0.2.7 5060") names the node of `self`, whatever its address.
bool held_by_node(std::string_view held_by, std::string_view self) {
  const size_t space = self.find(' ');
  return space != std::string_view::npos && held_by.substr(0, space + 1) == self.substr(0, space + 1);
}

// Who reads a stored binding: this node at start, when its connections have died with its last
// run, or this node's loader following the log while it serves.
enum class Reader { restart, loader };

// A stored binding's row (contact_enc, received_enc, user_agent_enc, cseq, expires_at_us, held_by
// from column `at`), opened under its line's key, as node `self` reaches it: through the node that
// holds its flow, or itself. nullopt when it does not open, when it is on a connection of this
// node's last run (unless a TCP phone listening at its Contact, sip/registrar.h's reconnectable,
// which this node reaches on a new connection, or a TLS one that registered with a certificate),
// or on a connection of a node that wrote no address.
std::optional<Binding> open_binding(const privacy::SecretKey& key, const std::string& line_id, const store::Row& r,
                                    size_t at, std::string_view self, Reader reader) {
  auto contact = privacy::open_field(key, line_id, "contact", r.blob(at));
  if (!contact.ok() || r.is_null(at + 1)) return std::nullopt;
  auto received = privacy::open_field(key, line_id, "received", r.blob(at + 1));
  Binding b;
  if (!received.ok() || !decode_reached(*received, b)) return std::nullopt;
  const std::string_view held_by = r.is_null(at + 5) ? std::string_view() : std::string_view(r.text(at + 5));
  // At start, any address this node held a flow at is its own: its last run's.
  const bool own = reader == Reader::restart ? held_by_node(held_by, self) : held_by == self;
  if (!held_by.empty() && !own) {
    Peer node;
    if (!decode_peer(held_by.substr(held_by.find(' ') + 1), node)) return std::nullopt;
    b.through = node;
  } else if (b.peer.reliable() && reader == Reader::restart) {
    const std::optional<Uri> uri = parse_uri(*contact);
    const bool tls = b.peer.transport == TransportKind::tls;
    if (!uri || (b.peer.transport != TransportKind::tcp && !(tls && b.certificate))) return std::nullopt;
    b.peer = reconnectable(*uri, b.peer);
    if (!b.peer.listens) return std::nullopt;
  } else if (b.peer.reliable() && held_by.empty()) {
    return std::nullopt;  // a node that knows no address of its own wrote it: only it reaches the phone
  }
  b.contact = std::move(contact).value();
  if (!r.is_null(at + 2))
    if (auto ua = privacy::open_field(key, line_id, "user_agent", r.blob(at + 2)); ua.ok()) b.user_agent = *ua;
  b.cseq = static_cast<uint32_t>(r.i64(at + 3));
  b.expires_at_us = r.i64(at + 4);
  return b;
}

constexpr const char* kBindingColumns = "contact_enc, received_enc, user_agent_enc, cseq, expires_at_us, held_by";

// The live bindings of each of `lines` (each named, with none if it has none), opened as `self`
// reaches them.
Result<std::vector<BindingUpdate::Line>> live_bindings_of(store::Session& s, const privacy::Keyring& keys,
                                                          const std::vector<std::string>& lines, int64_t now_us,
                                                          std::string_view self) {
  std::vector<BindingUpdate::Line> out;
  PRIVOX_ASSIGN(const privacy::subject_keys::OpenKeys open, privacy::subject_keys::load_cached(s, keys, lines));
  for (const std::string& line : lines) {
    BindingUpdate::Line& entry = out.emplace_back();
    entry.extension_id = line;
    const auto key = open.find(line);
    if (key == open.end()) continue;  // the line is gone or its key destroyed: nothing to reach
    PRIVOX_ASSIGN(store::Rows rows, s.query(fmt::format("SELECT {} FROM bindings WHERE extension_id = ? AND "
                                                        "expires_at_us > ?",
                                                        kBindingColumns),
                                            {line, now_us}));
    for (const store::Row& r : rows)
      if (auto b = open_binding(*key->second, line, r, 0, self, Reader::loader)) entry.bindings.push_back(std::move(*b));
  }
  return out;
}

}  // namespace

Result<int64_t> binding_log_head(store::Session& s) {
  PRIVOX_ASSIGN(store::Rows head, s.query("SELECT seq FROM sip_binding_log_head WHERE id = 1"));
  if (head.empty()) return make_error(ErrorCode::corrupt, "sip_binding_log_head has no row");
  return head[0].i64(0);
}

Result<BindingUpdate> shared_bindings_after(store::Session& s, const privacy::Keyring& keys, int64_t seq,
                                            size_t limit, int64_t now_us, std::string_view self,
                                            std::string_view own_node, const WantedLine& wanted) {
  BindingUpdate update;
  update.seq = seq;
  // The head first: entries commit with the head's update, in number order, so every entry up to
  // the head read here is visible to the query after it unless it was pruned.
  PRIVOX_ASSIGN(const int64_t head, binding_log_head(s));
  if (head == seq) return update;
  PRIVOX_ASSIGN(store::Rows entries, s.query("SELECT seq, extension_id, node FROM sip_binding_log WHERE seq > ? "
                                             "ORDER BY seq LIMIT ?",
                                             {seq, static_cast<int64_t>(limit)}));
  const bool pruned = entries.empty() || entries.front().i64(0) != seq + 1;
  std::vector<std::string> lines;
  if (pruned) {
    // The entries after `seq` were pruned: what changed meanwhile is unknown, so every line.
    update.replace_all = true;
    update.seq = head;
    PRIVOX_ASSIGN(store::Rows all, s.query("SELECT DISTINCT extension_id FROM bindings WHERE expires_at_us > ?",
                                           {now_us}));
    for (const store::Row& r : all) lines.push_back(r.text(0));
  } else {
    update.seq = entries.back().i64(0);
    update.more = entries.size() >= limit;
    std::map<std::string, bool> own_only;  // line -> whether every entry naming it is own_node's
    for (const store::Row& r : entries) {
      const bool own = !own_node.empty() && r.text(2) == own_node;
      auto [it, added] = own_only.emplace(r.text(1), own);
      if (!added) it->second = it->second && own;
    }
    for (const auto& [line, own] : own_only)
      if (!wanted || wanted(line, own)) lines.push_back(line);
  }
  PRIVOX_ASSIGN(update.lines, live_bindings_of(s, keys, lines, now_us, self));
  return update;
}

bool ReadBackPolicy::wanted(const std::string& line, bool own_only, int64_t now_us) {
  if (now_us - forgotten_at_us_ >= kReadBackWindowUs) {  // at most once a window: the map stays small
    forget_older_than(now_us - kReadBackWindowUs);
    forgotten_at_us_ = now_us;
  }
  if (!own_only) {
    foreign_read_at_us_[line] = now_us;
    return true;
  }
  if (every_line_read_at_us_ && now_us - *every_line_read_at_us_ < kReadBackWindowUs) return true;
  const auto it = foreign_read_at_us_.find(line);
  return it != foreign_read_at_us_.end() && now_us - it->second < kReadBackWindowUs;
}

void ReadBackPolicy::forget_older_than(int64_t cutoff_us) {
  std::erase_if(foreign_read_at_us_, [&](const auto& entry) { return entry.second < cutoff_us; });
}

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

// The log target's prepare: numbers the batch's entries from the head, whose row this updates
// first (on PostgreSQL the row lock orders every node's batches), and notifies the channel every
// node's loader listens on.
enum LogEntry : size_t { kLogSeq, kLogLine, kLogNode, kLogAt };
store::PrepareRows number_log_entries() {
  return [](store::Session& s, std::vector<store::Params>& rows, std::vector<std::optional<Error>>&) -> Status {
    const auto count = static_cast<int64_t>(rows.size());
    PRIVOX_ASSIGN(store::Rows head, s.query("UPDATE sip_binding_log_head SET seq = seq + ? WHERE id = 1 RETURNING seq",
                                            {count}));
    if (head.empty()) return make_error(ErrorCode::corrupt, "sip_binding_log_head has no row");
    int64_t seq = head[0].i64(0) - count;
    for (store::Params& row : rows) row[kLogSeq] = ++seq;
    return s.notify(accounts::kDirectoryChannel);
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
                             const Clock& clock, std::string node)
    : store_(store), writer_(writer), keys_(keys), clock_(clock), node_(std::move(node)) {
  upsert_target_ = writer_.add_target(
      {"bindings",
       {"id", "extension_id", "contact_enc", "contact_bidx", "received_enc", "user_agent_enc", "call_id_bidx", "cseq",
        "expires_at_us", "held_by", "updated_at_us"},
       "INSERT INTO bindings (id, extension_id, contact_enc, contact_bidx, received_enc, user_agent_enc, "
       "call_id_bidx, cseq, expires_at_us, held_by, updated_at_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
       "ON CONFLICT (extension_id, contact_bidx) DO UPDATE SET contact_enc = excluded.contact_enc, "
       "received_enc = excluded.received_enc, user_agent_enc = excluded.user_agent_enc, "
       "call_id_bidx = excluded.call_id_bidx, cseq = excluded.cseq, expires_at_us = excluded.expires_at_us, "
       "held_by = excluded.held_by, updated_at_us = excluded.updated_at_us",
       seal_bindings(keys_)});
  delete_target_ = writer_.add_target({"bindings",
                                       {"extension_id", "contact_bidx"},
                                       "DELETE FROM bindings WHERE extension_id = ? AND contact_bidx = ?",
                                       index_contacts(keys_)});
  purge_target_ =
      writer_.add_target({"bindings", {"expires_at_us"}, "DELETE FROM bindings WHERE expires_at_us <= ?"});
  log_target_ = writer_.add_target(
      {"sip_binding_log", {"seq", "extension_id", "node", "changed_at_us"}, "", number_log_entries()});
  log_purge_target_ = writer_.add_target(
      {"sip_binding_log", {"changed_at_us"}, "DELETE FROM sip_binding_log WHERE changed_at_us <= ?"});
}

void StoreBindings::persist(std::vector<BindingChange> changes, std::function<void(const Status&)> done) {
  const int64_t now = clock_.now_us();
  uint64_t first = 0, last = 0;
  std::vector<std::string> lines;  // one log entry each, after the changes, in the same batch or a later one
  lines.reserve(changes.size());
  for (const BindingChange& c : changes) lines.push_back(c.extension_id);
  std::sort(lines.begin(), lines.end());
  lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  for (BindingChange& c : changes) {
    Result<store::AppendWriter::Ticket> ticket = make_error(ErrorCode::internal, "unset");
    if (c.remove) {
      ticket = writer_.append(delete_target_, {c.extension_id, std::move(c.binding.contact)});
    } else {
      Binding& b = c.binding;
      store::Value user_agent = b.user_agent.empty() ? store::null_value() : store::Value{std::move(b.user_agent)};
      std::string contact = b.contact;  // in clear: the writer thread seals one copy and indexes the other
      store::Value held_by = self_.empty() || !held_by_this_node(b) ? store::null_value() : store::Value{self_};
      ticket = writer_.append(upsert_target_, {new_id(now), c.extension_id, std::move(contact),
                                               std::move(b.contact), encode_reached(b), std::move(user_agent),
                                               std::move(b.call_id), int64_t{b.cseq}, b.expires_at_us,
                                               std::move(held_by), now});
    }
    // Rows already queued will still be written: that is harmless, as the device retries its
    // REGISTER on the error and rewrites them.
    if (!ticket.ok()) return done(ticket.error());
    if (first == 0) first = ticket->seq;
    last = ticket->seq;
  }
  for (std::string& line : lines) {
    auto ticket = writer_.append(log_target_, {int64_t{0}, std::move(line), node_, now});
    if (!ticket.ok()) return done(ticket.error());
    if (first == 0) first = ticket->seq;
    last = ticket->seq;
  }
  if (first == 0) return done({});
  waiting_.add(first, last, std::move(done));
}

void StoreBindings::completed(const store::BatchOutcome& batch) { waiting_.completed(batch); }

void StoreBindings::set_self(const Peer& reached_at) { self_ = fmt::format("{} {}", node_, encode_peer(reached_at)); }

Result<StoreBindings::Restored> StoreBindings::restore_all(Location& location) {
  const int64_t now = clock_.now_us();
  PRIVOX_ASSIGN(auto tx, store_.begin(store::TxMode::read));
  Restored out;
  PRIVOX_ASSIGN(out.log_seq, binding_log_head(*tx));
  PRIVOX_ASSIGN(store::Rows rows, tx->query(fmt::format("SELECT extension_id, {} FROM bindings WHERE expires_at_us > ?",
                                                        kBindingColumns),
                                            {now}));
  std::vector<std::string> lines;
  lines.reserve(rows.size());
  for (const store::Row& r : rows) lines.push_back(r.text(0));
  PRIVOX_ASSIGN(const privacy::subject_keys::OpenKeys keys, privacy::subject_keys::load_cached(*tx, keys_, lines));
  tx.reset();
  std::vector<BindingChange> dead;
  for (const store::Row& r : rows) {
    const std::string& extension_id = r.text(0);
    const auto key = keys.find(extension_id);
    if (key == keys.end()) continue;  // the extension's key was destroyed: nothing to route to
    std::optional<Binding> b = open_binding(*key->second, extension_id, r, 1, self_, Reader::restart);
    if (b && b->certificate && b->peer.listens) {
      // The connection it registered over died with the last run: the pin goes under an id of the
      // new one's, which a connection back to the phone looks it up by.
      if (!pin_keeper_) b.reset();
      else b->peer.connection = pin_keeper_(*b->certificate, b->expires_at_us);
    }
    if (b) {
      location.restore(extension_id, std::move(*b));
      ++out.bindings;
    } else if (!self_.empty() && !r.is_null(6) && held_by_node(r.text(6), self_)) {
      // A flow of this node's last run: other nodes would relay to this one for nothing.
      if (auto contact = privacy::open_field(*key->second, extension_id, "contact", r.blob(1)); contact.ok()) {
        BindingChange& gone = dead.emplace_back();
        gone.extension_id = extension_id;
        gone.binding.contact = std::move(contact).value();
        gone.remove = true;
      }
    }
  }
  out.dead_flows = dead.size();
  if (!dead.empty()) persist(std::move(dead), [](const Status&) {});  // a failure leaves them to expire
  return out;
}

namespace {

// A binding a silent node held, and that node.
struct HeldFlow {
  std::string id, line, node;
};

// The bindings held by the nodes silent before `before_us`, read in `s`.
Result<std::vector<HeldFlow>> flows_of_silent_nodes(store::Session& s, const std::string& own_node, int64_t before_us) {
  PRIVOX_ASSIGN(const std::vector<std::string> silent, traffic::silent_nodes(s, own_node, before_us));
  std::vector<HeldFlow> held;
  for (const std::string& node : silent) {
    // held_by starts with the node's id and a space (StoreBindings::set_self).
    const std::string prefix = node + " ";
    PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT id, extension_id FROM bindings WHERE held_by IS NOT NULL AND "
                                            "substr(held_by, 1, length(?)) = ?",
                                            {prefix, prefix}));
    for (const store::Row& r : rows) held.push_back({r.text(0), r.text(1), node});
  }
  return held;
}

}  // namespace

Result<int64_t> drop_flows_of_silent_nodes(store::Store& store, const std::string& own_node, const Clock& clock,
                                          int64_t silent_us) {
  // The chore runs every few seconds on every node: it looks in a read transaction, and takes the
  // write lock (SQLite's one writer) only when a dead node left bindings behind.
  {
    PRIVOX_ASSIGN(auto tx, store.begin(store::TxMode::read));
    PRIVOX_ASSIGN(const std::vector<HeldFlow> held, flows_of_silent_nodes(*tx, own_node, clock.now_us() - silent_us));
    if (held.empty()) return 0;
  }
  int64_t dropped = 0;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::vector<HeldFlow> held, flows_of_silent_nodes(s, own_node, clock.now_us() - silent_us));
    dropped = static_cast<int64_t>(held.size());  // read again: another node may have dropped them
    if (held.empty()) return {};
    std::map<std::string, std::string> lines;  // line -> a silent node that held one of its flows
    for (const HeldFlow& flow : held) {
      PRIVOX_TRY(s.exec("DELETE FROM bindings WHERE id = ?", {flow.id}));
      lines.emplace(flow.line, flow.node);
    }
    // One log entry per line, numbered as the writer numbers them, so that every node reloads it.
    // It names the silent node, not this one: the change is to that node's flows, and this node
    // reads back only what other nodes changed (ReadBackPolicy), its memory still holding them.
    const auto count = static_cast<int64_t>(lines.size());
    PRIVOX_ASSIGN(store::Rows head, s.query("UPDATE sip_binding_log_head SET seq = seq + ? WHERE id = 1 RETURNING seq",
                                            {count}));
    if (head.empty()) return make_error(ErrorCode::corrupt, "sip_binding_log_head has no row");
    int64_t seq = head[0].i64(0) - count;
    for (const auto& [line, node] : lines)
      PRIVOX_TRY(s.exec("INSERT INTO sip_binding_log (seq, extension_id, node, changed_at_us) VALUES (?, ?, ?, ?)",
                        {++seq, line, node, clock.now_us()}));
    return s.notify(accounts::kDirectoryChannel);
  }));
  return dropped;
}

void StoreBindings::purge_expired() {
  const int64_t now = clock_.now_us();
  (void)writer_.append(purge_target_, {now});
  (void)writer_.append(log_purge_target_, {now - kBindingLogKeptUs});
}

}  // namespace privox::sip
