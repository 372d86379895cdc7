#pragma once
// The location service: where each extension's devices can be reached (RFC 3261 §10). Bindings
// live in memory for the packet path and are written through a BindingStore, so they survive a
// restart; REGISTER is answered only once its change is durable.
//
// Thread-safety: the SIP worker thread only. BindingStore implementations may finish their
// writes on another thread, but must call `done` back on the worker thread.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "sip/transport.h"

namespace privox::sip {

struct Binding {
  std::string contact;     // the Contact URI as registered
  Peer peer;               // where the REGISTER came from: requests for the contact go here
  int64_t expires_at_us = 0;
  std::string user_agent;  // equipment, for traffic records
  std::string call_id;
  uint32_t cseq = 0;
  // RFC 5626: the device's +sip.instance and the reg-id, "<instance> <reg-id>", when it registered
  // with SIP Outbound; a new REGISTER with the same pair replaces the binding whatever its Contact.
  // Kept in memory only: a flow does not outlive the node that holds it.
  std::string flow;
  // Set when another node holds the phone's flow (its connection, SIP Outbound flow or NAT
  // mapping): requests for the contact go to that node, which relays them over the flow (RFC 3327's
  // Path between nodes, sip/store_bindings.h). `peer` is then the phone as that node sees it: its
  // transport kind tells what media it takes, and it is never sent to from here (its connection
  // number is the other node's).
  std::optional<Peer> through;
  // A TLS phone's certificate, as it presented it on the connection it registered over: a
  // connection privox opens back to the phone must present the same (sip/tls.h). Stored with the
  // binding, so it outlives a restart.
  std::optional<CertificatePin> certificate;
  // This node holds the phone's connection: nothing else can reach it.
  bool on_own_connection() const { return peer.reliable() && !through; }
  // Where this node sends the contact's requests: the node that holds its flow, or the phone.
  const Peer& next_hop() const { return through ? *through : peer; }
};

struct BindingChange {
  std::string extension_id;
  Binding binding;
  bool remove = false;
};

// Bindings as the store holds them after the changes of any node (sip/store_bindings.h), for this
// node's worker to put into its location service.
struct BindingUpdate {
  struct Line {
    std::string extension_id;
    std::vector<Binding> bindings;  // its live UDP bindings; none: it has none left
  };
  int64_t seq = 0;           // the place in the binding log this is current with
  bool replace_all = false;  // `lines` holds every line with a live binding; any other has none
  bool more = false;         // the log held more entries than were read
  std::vector<Line> lines;
};

class BindingStore {
 public:
  virtual ~BindingStore() = default;
  // Makes the changes durable, then calls `done` (on the worker thread) with the outcome.
  virtual void persist(std::vector<BindingChange> changes, std::function<void(const Status&)> done) = 0;
};

class Location {
 public:
  explicit Location(BindingStore* store) : store_(store) {}

  // The live bindings of an extension at `now_us` (expired ones are dropped as they are met).
  std::span<const Binding> lookup(const std::string& extension_id, int64_t now_us);
  // Applies changes in memory now and persists them; `done` runs when they are durable.
  void apply(std::vector<BindingChange> changes, std::function<void(const Status&)> done);
  // Loads bindings read back from the store at startup.
  void restore(const std::string& extension_id, Binding binding);
  // Replaces an extension's bindings with `fresh`, as the store holds them after a node's change,
  // except those on this node's own connections: memory's stays, since it knows the connection,
  // unless `fresh` has the contact on another node's flow now (the phone moved). Memory only.
  // Returns the contacts that are no longer bound.
  std::vector<std::string> replace_shared(const std::string& extension_id, std::vector<Binding> fresh);
  // The extensions that hold a binding not on this node's own connection, for an update that
  // replaces every line's.
  std::vector<std::string> extensions_with_shared() const;
  // Drops a removed line's bindings from memory; the transaction that removed the line deleted
  // their stored rows (accounts/line_removal.h).
  void forget(const std::string& extension_id) { bindings_.erase(extension_id); }
  size_t size() const;
  // Calls `each(extension_id, binding)` for every binding held, expired ones included.
  template <class F>
  void for_each(F&& each) const {
    for (const auto& [id, list] : bindings_)
      for (const Binding& b : list) each(id, b);
  }

 private:
  BindingStore* store_;
  std::unordered_map<std::string, std::vector<Binding>> bindings_;
};

}  // namespace privox::sip
