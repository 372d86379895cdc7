#pragma once
// The SIP transaction layer (RFC 3261 §17, with RFC 6026's Accepted states): matches every
// message to its transaction, absorbs retransmissions, retransmits over UDP (timers A, E, G),
// times out (B, F, H) and lingers to absorb late copies (D, I, J, K, L, M). What remains for the
// transaction user (the proxy, registrar) is one call per new request, per response worth
// acting on, and per timeout. Past its limit of transactions in flight it answers new requests
// 503 with Retry-After and keeps no state for them (R4).
//
// Transactions are named by ids, never pointers: an id outlives its transaction safely, and
// using a finished one does nothing.
//
// Thread-safety: none; one instance per SIP worker thread, driven by that worker's event loop.

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "common/clock.h"
#include "sip/message.h"
#include "sip/timer_queue.h"
#include "sip/transport.h"

namespace privox::sip {

using TxId = uint64_t;

class TransactionUser {
 public:
  virtual ~TransactionUser() = default;
  // A new request, CANCEL included, in server transaction `tx`. Not called for ACKs.
  virtual void on_request(TxId tx, const Message& request, const Peer& from) = 0;
  // An ACK that matched no transaction: the ACK for a 2xx, which a proxy routes like a request.
  virtual void on_ack(const Message& ack, const Peer& from) = 0;
  // A response in client transaction `tx`: each provisional, the final, and every 2xx (a 2xx
  // retransmission too, which the proxy forwards).
  virtual void on_response(TxId tx, const Message& response) = 0;
  // Client transaction `tx` got no final response in time (timer B or F): act as on a 408.
  virtual void on_timeout(TxId tx) = 0;
  // A response that matched no client transaction.
  virtual void on_stray_response(const Message& response, const Peer& from) = 0;
};

struct TransactionTimers {
  int64_t t1_us = 500'000;
  int64_t t2_us = 4'000'000;
  int64_t t4_us = 5'000'000;
};

struct TransactionLimits {
  size_t max_in_flight = 50'000;  // working server and client transactions together
  int retry_after_s = 5;
};

class TransactionLayer {
 public:
  TransactionLayer(Sender& sender, TimerQueue& timers, const Clock& clock, TransactionUser& user,
                   TransactionTimers t = {}, TransactionLimits limits = {});
  ~TransactionLayer();
  TransactionLayer(const TransactionLayer&) = delete;
  TransactionLayer& operator=(const TransactionLayer&) = delete;

  // Every parsed message from the transport goes here.
  void receive(const Message& message, const Peer& from);

  // Sends a response in server transaction `tx`: a 1xx keeps it open, a final one completes it.
  void respond(TxId tx, std::string response, int status);

  // Sends a final response and drops the transaction at once, as a stateless server would: for
  // challenges (401, 407), where a retransmitted request just earns a fresh challenge, so keeping
  // 32 s of state per challenge would buy nothing.
  void respond_statelessly(TxId tx, const std::string& response, int status);

  // Starts a client transaction that sends `request` (whose top Via carries `branch`) to `to`.
  TxId send_request(const Peer& to, std::string request, Method method, std::string_view branch);

  // Cancels client INVITE transaction `tx` (RFC 3261 §9.1): sends CANCEL once a provisional
  // response has arrived, or as soon as one does; does nothing after a final response.
  void cancel(TxId tx);

  // The server INVITE transaction a CANCEL names (§9.2), or 0.
  TxId find_invite_for(const Message& cancel, const Peer& from) const;

  // Transactions still working (not lingering to absorb retransmissions): what the overload
  // limit counts.
  size_t in_flight() const { return active_; }
  // Every transaction held, lingering ones included.
  size_t held() const { return by_id_.size(); }
  // A new overload limit (serve's SIGHUP): requests past it get 503 from now on; those working stay.
  void set_max_in_flight(size_t max_in_flight) { limits_.max_in_flight = max_in_flight; }

  struct Stats {
    uint64_t retransmissions_absorbed = 0;
    uint64_t retransmissions_sent = 0;
    uint64_t timeouts = 0;
    uint64_t overloaded = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  enum class Kind : uint8_t { server_invite, server_other, client_invite, client_other };
  enum class State : uint8_t { trying, calling, proceeding, completed, confirmed, accepted };
  static bool is_active(State s) { return s == State::trying || s == State::calling || s == State::proceeding; }

  struct Tx {
    TxId id = 0;
    Kind kind{};
    State state{};
    uint64_t key = 0;
    Peer peer;
    std::string bytes;        // server: the last response sent; client: the request
    int status = 0;           // server: last status sent; client: last status received
    int64_t interval_us = 0;  // current retransmission interval
    TimerQueue::Id retransmit = 0;
    TimerQueue::Id timeout = 0;
    bool cancel_pending = false;
  };

  // Transactions are found by a keyed 64-bit SipHash of the fields that name them (RFC 3261
  // §17.1.3, §17.2.3), built in a reused buffer: no string is allocated or hashed twice on the
  // packet path, and the per-process key keeps peers from aiming two transactions at one slot.
  uint64_t server_key(const Message& m, std::string_view method) const;
  uint64_t client_key(std::string_view branch, Method method) const;
  uint64_t hash_scratch() const;

  void receive_request(const Message& request, const Peer& from);
  void receive_response(const Message& response, const Peer& from);
  void reject_overloaded(const Message& request, const Peer& from);

  Tx& create(Kind kind, State state, uint64_t key, const Peer& peer);
  Tx* find(TxId id);
  void terminate(TxId id);
  // Arms the retransmission timer at `interval`, doubling up to `cap` each time it fires.
  void arm_retransmit(Tx& tx, int64_t interval, int64_t cap);
  void arm_timeout(Tx& tx, int64_t after_us, bool report);
  void linger(Tx& tx, State state, int64_t unreliable_us);  // reliable transports linger 0
  void transition(Tx& tx, State next);  // keeps active_ in step
  void send_cancel(Tx& invite);
  void on_retransmit(TxId id, int64_t cap);

  Sender& sender_;
  TimerQueue& timers_;
  const Clock& clock_;
  TransactionUser& user_;
  const TransactionTimers t_;
  TransactionLimits limits_;
  TxId next_id_ = 1;
  std::unordered_map<TxId, Tx> by_id_;
  std::unordered_map<uint64_t, TxId> by_key_;
  std::array<uint8_t, 16> hash_key_{};  // random per process
  mutable std::string scratch_;         // where keys are assembled before hashing
  size_t active_ = 0;
  Stats stats_;
};

}  // namespace privox::sip
