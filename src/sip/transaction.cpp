#include "sip/transaction.h"

#include <fmt/format.h>
#include <sodium.h>

#include "sip/builder.h"

namespace privox::sip {
namespace {

constexpr std::string_view kMagicCookie = "z9hG4bK";
constexpr int64_t kUnbounded = TimerQueue::kNever;

bool is_client(uint8_t kind) { return kind >= 2; }

}  // namespace

TransactionLayer::TransactionLayer(Sender& sender, TimerQueue& timers, const Clock& clock, TransactionUser& user,
                                   TransactionTimers t, TransactionLimits limits)
    : sender_(sender), timers_(timers), clock_(clock), user_(user), t_(t), limits_(limits) {
  // Lingering transactions pile up to rate × 32 s; growing the tables through rehash after rehash
  // on the packet path costs more than reserving them once.
  by_id_.reserve(1 << 16);
  by_key_.reserve(1 << 16);
  randombytes_buf(hash_key_.data(), hash_key_.size());
  scratch_.reserve(512);
}

TransactionLayer::~TransactionLayer() {
  for (auto& [id, tx] : by_id_) {
    timers_.cancel(tx.retransmit);
    timers_.cancel(tx.timeout);
  }
}

uint64_t TransactionLayer::hash_scratch() const {
  static_assert(crypto_shorthash_KEYBYTES == 16 && crypto_shorthash_BYTES == 8);
  uint64_t out = 0;
  crypto_shorthash(reinterpret_cast<uint8_t*>(&out), reinterpret_cast<const uint8_t*>(scratch_.data()),
                   scratch_.size(), hash_key_.data());
  return out;
}

// RFC 3261 §17.2.3: the top Via's branch and sent-by, and the method (an ACK matches its INVITE,
// a CANCEL looks for its INVITE). A branch without the magic cookie comes from an RFC 2543 peer;
// its transaction is then named by the dialog-identifying fields instead.
uint64_t TransactionLayer::server_key(const Message& m, std::string_view method) const {
  const Via& via = m.top_via();
  const std::string_view branch = via.branch();
  const std::string port = std::to_string(via.port);
  scratch_.clear();
  if (branch.substr(0, kMagicCookie.size()) == kMagicCookie) {
    scratch_.append("3261|").append(branch).append("|").append(via.host).append(":").append(port);
  } else {
    scratch_.append("2543|").append(m.request_uri_text()).append("|").append(m.from().tag()).append("|");
    scratch_.append(m.call_id()).append("|").append(std::to_string(m.cseq().number)).append("|");
    scratch_.append(via.host).append(":").append(port);
  }
  scratch_.append("|").append(method);
  return hash_scratch();
}

uint64_t TransactionLayer::client_key(std::string_view branch, Method method) const {
  scratch_.clear();
  scratch_.append("client|").append(branch).append("|").append(to_string(method));
  return hash_scratch();
}

void TransactionLayer::receive(const Message& message, const Peer& from) {
  if (message.is_request()) receive_request(message, from);
  else receive_response(message, from);
}

void TransactionLayer::receive_request(const Message& request, const Peer& from) {
  const uint64_t key = server_key(request, request.method() == Method::ack ? "INVITE" : request.method_text());
  const auto found = by_key_.find(key);
  if (request.method() == Method::ack) {
    if (found == by_key_.end()) return user_.on_ack(request, from);
    Tx& tx = by_id_.at(found->second);
    ++stats_.retransmissions_absorbed;
    if (tx.kind == Kind::server_invite && tx.state == State::completed) {
      timers_.cancel(tx.timeout);  // timer H: the ACK came
      tx.timeout = 0;
      linger(tx, State::confirmed, t_.t4_us);  // timer I
    }
    return;
  }
  if (found != by_key_.end()) {
    Tx& tx = by_id_.at(found->second);
    ++stats_.retransmissions_absorbed;
    if (!tx.bytes.empty()) sender_.send(tx.peer, tx.bytes);  // the peer missed our last response
    return;
  }
  if (active_ >= limits_.max_in_flight) return reject_overloaded(request, from);
  const bool invite = request.method() == Method::invite;
  const TxId id = create(invite ? Kind::server_invite : Kind::server_other, invite ? State::proceeding : State::trying,
                         key, from)
                      .id;
  user_.on_request(id, request, from);
}

void TransactionLayer::reject_overloaded(const Message& request, const Peer& from) {
  ++stats_.overloaded;
  const std::string retry_after = std::to_string(limits_.retry_after_s);
  const ExtraHeader extra[] = {{"Retry-After", retry_after}};
  sender_.send(from, build_response(request, 503, "Service Unavailable", "overload", extra));
}

void TransactionLayer::receive_response(const Message& response, const Peer& from) {
  const auto found = by_key_.find(client_key(response.top_via().branch(), response.cseq().method));
  if (found == by_key_.end()) return user_.on_stray_response(response, from);
  Tx& tx = by_id_.at(found->second);
  const TxId id = tx.id;
  const int status = response.status();

  if (tx.kind == Kind::client_invite) {
    if (tx.state == State::calling || tx.state == State::proceeding) {
      tx.status = status;
      timers_.cancel(tx.retransmit);  // timer A: any response stops retransmission
      tx.retransmit = 0;
      if (status < 200) {
        if (tx.state == State::calling) {
          timers_.cancel(tx.timeout);  // timer B only runs while calling
          tx.timeout = 0;
          transition(tx, State::proceeding);
        }
        if (tx.cancel_pending) {
          tx.cancel_pending = false;
          send_cancel(tx);  // may add a transaction: `tx` is not used after this
        }
        return user_.on_response(id, response);
      }
      timers_.cancel(tx.timeout);
      tx.timeout = 0;
      if (status < 300) {
        transition(tx, State::accepted);
        arm_timeout(tx, 64 * t_.t1_us, false);  // timer M: forward 2xx retransmissions meanwhile
        return user_.on_response(id, response);
      }
      Message request;
      ParseError error;
      if (parse_message(tx.bytes, request, error)) {
        tx.bytes = build_ack(request, response);
        sender_.send(tx.peer, tx.bytes);
      }
      linger(tx, State::completed, 32'000'000);  // timer D
      return user_.on_response(id, response);
    }
    if (tx.state == State::accepted && status >= 200 && status < 300) return user_.on_response(id, response);
    if (tx.state == State::completed && status >= 300) sender_.send(tx.peer, tx.bytes);  // resend the ACK
    ++stats_.retransmissions_absorbed;
    return;
  }

  if (tx.state != State::trying && tx.state != State::proceeding) {
    ++stats_.retransmissions_absorbed;
    return;
  }
  tx.status = status;
  if (status < 200) {
    transition(tx, State::proceeding);
    return user_.on_response(id, response);
  }
  timers_.cancel(tx.timeout);  // timer F
  tx.timeout = 0;
  linger(tx, State::completed, t_.t4_us);  // timer K
  user_.on_response(id, response);
}

void TransactionLayer::respond(TxId id, std::string response, int status) {
  Tx* tx = find(id);
  if (!tx || is_client(static_cast<uint8_t>(tx->kind))) return;
  if (tx->state != State::trying && tx->state != State::proceeding) return;  // already final
  tx->bytes = std::move(response);
  tx->status = status;
  sender_.send(tx->peer, tx->bytes);
  if (status < 200) {
    transition(*tx, State::proceeding);
    return;
  }
  if (tx->kind == Kind::server_other) return linger(*tx, State::completed, 64 * t_.t1_us);  // timer J
  if (status < 300) {
    transition(*tx, State::accepted);
    arm_timeout(*tx, 64 * t_.t1_us, false);  // timer L: absorb INVITE retransmissions
    return;
  }
  transition(*tx, State::completed);
  if (!tx->peer.reliable()) arm_retransmit(*tx, t_.t1_us, t_.t2_us);  // timer G
  arm_timeout(*tx, 64 * t_.t1_us, false);                             // timer H
}

void TransactionLayer::respond_statelessly(TxId id, const std::string& response, int status) {
  Tx* tx = find(id);
  if (!tx || is_client(static_cast<uint8_t>(tx->kind)) || status < 200) return;
  if (tx->state != State::trying && tx->state != State::proceeding) return;
  sender_.send(tx->peer, response);
  terminate(id);
}

TxId TransactionLayer::send_request(const Peer& to, std::string request, Method method, std::string_view branch) {
  const bool invite = method == Method::invite;
  Tx& tx = create(invite ? Kind::client_invite : Kind::client_other, invite ? State::calling : State::trying,
                  client_key(branch, method), to);
  tx.bytes = std::move(request);
  sender_.send(to, tx.bytes);
  if (!to.reliable()) arm_retransmit(tx, t_.t1_us, invite ? kUnbounded : t_.t2_us);  // timer A or E
  arm_timeout(tx, 64 * t_.t1_us, true);                                              // timer B or F
  return tx.id;
}

void TransactionLayer::cancel(TxId id) {
  Tx* tx = find(id);
  if (!tx || tx->kind != Kind::client_invite) return;
  if (tx->state == State::calling) tx->cancel_pending = true;
  else if (tx->state == State::proceeding) send_cancel(*tx);
}

void TransactionLayer::send_cancel(Tx& invite) {
  Message request;
  ParseError error;
  if (!parse_message(invite.bytes, request, error)) return;
  const Peer peer = invite.peer;
  std::string cancel = build_cancel(request);
  const std::string branch(request.top_via().branch());
  send_request(peer, std::move(cancel), Method::cancel, branch);
}

TxId TransactionLayer::find_invite_for(const Message& cancel, const Peer&) const {
  const auto found = by_key_.find(server_key(cancel, "INVITE"));
  return found == by_key_.end() ? 0 : found->second;
}

void TransactionLayer::transition(Tx& tx, State next) {
  if (is_active(tx.state) && !is_active(next)) --active_;
  tx.state = next;
}

TransactionLayer::Tx& TransactionLayer::create(Kind kind, State state, uint64_t key, const Peer& peer) {
  const TxId id = next_id_++;
  Tx& tx = by_id_[id];
  tx.id = id;
  tx.kind = kind;
  tx.state = state;
  ++active_;  // every transaction starts in an active state
  tx.key = key;
  tx.peer = peer;
  by_key_[tx.key] = id;
  return tx;
}

TransactionLayer::Tx* TransactionLayer::find(TxId id) {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second;
}

void TransactionLayer::terminate(TxId id) {
  const auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  if (is_active(it->second.state)) --active_;
  timers_.cancel(it->second.retransmit);
  timers_.cancel(it->second.timeout);
  const auto key = by_key_.find(it->second.key);
  if (key != by_key_.end() && key->second == id) by_key_.erase(key);
  by_id_.erase(it);
}

void TransactionLayer::arm_retransmit(Tx& tx, int64_t interval, int64_t cap) {
  tx.interval_us = interval;
  const TxId id = tx.id;
  tx.retransmit = timers_.schedule(clock_.now_us() + interval, [this, id, cap] { on_retransmit(id, cap); });
}

void TransactionLayer::on_retransmit(TxId id, int64_t cap) {
  Tx* tx = find(id);
  if (!tx) return;
  tx->retransmit = 0;
  const bool sending = tx->kind == Kind::server_invite ? tx->state == State::completed
                                                       : tx->state == State::calling || tx->state == State::trying ||
                                                             (tx->kind == Kind::client_other && tx->state == State::proceeding);
  if (!sending) return;
  sender_.send(tx->peer, tx->bytes);
  ++stats_.retransmissions_sent;
  // Timer E runs at T2 once a provisional response arrived (§17.1.2.2).
  const int64_t next = tx->state == State::proceeding ? t_.t2_us : std::min(tx->interval_us * 2, cap);
  arm_retransmit(*tx, next, cap);
}

void TransactionLayer::arm_timeout(Tx& tx, int64_t after_us, bool report) {
  const TxId id = tx.id;
  tx.timeout = timers_.schedule(clock_.now_us() + after_us, [this, id, report] {
    Tx* t = find(id);
    if (!t) return;
    t->timeout = 0;
    const bool unanswered = report && (t->state == State::calling || t->state == State::trying ||
                                       (t->kind == Kind::client_other && t->state == State::proceeding));
    terminate(id);
    if (unanswered) {
      ++stats_.timeouts;
      user_.on_timeout(id);
    }
  });
}

void TransactionLayer::linger(Tx& tx, State state, int64_t unreliable_us) {
  transition(tx, state);
  timers_.cancel(tx.retransmit);
  tx.retransmit = 0;
  if (tx.peer.reliable()) return terminate(tx.id);
  timers_.cancel(tx.timeout);
  arm_timeout(tx, unreliable_us, false);
}

}  // namespace privox::sip
