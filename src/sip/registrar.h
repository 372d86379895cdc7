#pragma once
// The registrar (RFC 3261 §10.3): authenticates REGISTER, checks that the authenticated
// extension registers its own address of record, applies Expires / Min-Expires (423), adds,
// refreshes and removes contacts (Contact: * with Expires: 0 removes them all), and answers 200
// with every live binding once the change is durable.
//
// Thread-safety: the SIP worker thread only.

#include "common/clock.h"
#include "sip/authenticator.h"
#include "sip/location.h"
#include "sip/transaction.h"

namespace privox::sip {

struct RegistrarConfig {
  int min_expires_s = 60;
  int max_expires_s = 3600;
  int default_expires_s = 3600;
  // SIP Outbound (RFC 5626): how often a phone that registers a flow should send its keep-alives
  // (Flow-Timer; STUN over UDP, a double CRLF over TCP and TLS). Below the usual 30 s of a home
  // router's UDP mapping. Setting sip.outbound_keepalive_seconds.
  int flow_timer_s = 25;
};

// A REGISTER that asks for SIP Outbound (RFC 5626 §4.2): Supported: outbound, and a Contact with
// reg-id and +sip.instance.
bool asks_for_outbound(const Message& request);

// The reason phrase for a line of a company that requires encryption when its phone uses a
// transport other than TLS (accounts::Extensions::set_company_encryption).
inline constexpr std::string_view kTlsRequired = "Forbidden: this company requires TLS (sips:) for its phones";

// Where a UDP binding is reached: the Contact's address, unless it names a private or local
// address other than the source's (a phone behind NAT), when it is the REGISTER's source address
// and port; a connection-oriented binding is its connection. A binding registered with SIP Outbound
// is always its flow, the source (Registrar::handle). Exposed for its unit test.
Peer where_to_reach(const Uri& contact, const Peer& from);
// A TCP or TLS binding's peer: one that listens (Peer::listens) at its Contact when the Contact is on
// the host it registered from, so that privox may open a new connection there; else `from`, reached
// only over its own connection. Used again when bindings are restored at start (sip/store_bindings.cpp).
Peer reconnectable(const Uri& contact, const Peer& from);

class Registrar {
 public:
  Registrar(TransactionLayer& layer, Authenticator& auth, Location& location, const Clock& clock,
            RegistrarConfig config = {})
      : layer_(layer), auth_(auth), location_(location), clock_(clock), config_(config) {}

  void handle(TxId tx, const Message& request, const Peer& from);

  // Where a request for a registered contact URI goes (in-dialog ones, say): the phone, or the node
  // that holds its flow (Binding::next_hop).
  const Peer* peer_for_contact(std::string_view contact) const;
  // The phone of a registered contact whose flow this node holds, or nullptr: for a request
  // another node routed through this one (sip/proxy_nodes.cpp).
  const Peer* own_flow_for_contact(std::string_view contact) const;
  // Rebuilds that map from the location service, after bindings were restored at start.
  void learn_contacts(const Location& location);
  // Puts bindings as the store holds them after a node's change (another's, or this one's read
  // back) into the location service and that map (see Location::replace_shared).
  void apply_shared(const BindingUpdate& update);

 private:
  // The 200 with every live binding; when the REGISTER asked for SIP Outbound (asks_for_outbound),
  // Require: outbound and Flow-Timer too.
  void reply_bindings(TxId tx, const Message& request, const std::string& extension_id, bool outbound);
  // Adds to `changes` the removal of each binding a change's SIP Outbound flow (instance and
  // reg-id) takes over under another Contact.
  void replace_flows(const std::string& extension_id, int64_t now, std::vector<BindingChange>& changes);

  TransactionLayer& layer_;
  Authenticator& auth_;
  Location& location_;
  const Clock& clock_;
  const RegistrarConfig config_;
  struct ContactHop {
    Peer peer;
    bool through_node = false;  // `peer` is the node that holds the phone's flow
  };
  void learn(const Binding& b) { contact_peers_[b.contact] = {b.next_hop(), b.through.has_value()}; }
  const ContactHop* hop_for_contact(std::string_view contact) const;
  std::unordered_map<std::string, ContactHop> contact_peers_;
};

}  // namespace privox::sip
