#pragma once
// Bindings made durable through the node's batched writer, so that they survive a restart
// (RFC 3261 §10 leaves persistence to the registrar; privox answers REGISTER only once its
// change is committed). Contact, source address and User-Agent are sealed under the extension's
// own key; the contact's keyed blind index finds the row to refresh or remove.
//
// The SIP worker never touches the store: persist() appends the changes in clear, and the writer
// thread computes the blind indexes and seals them (AppendTarget::prepare) under the line's key,
// read in the batch's own transaction through the keyring's bounded cache
// (privacy::subject_keys::load_cached). A change for a line without a key is not written, and
// its REGISTER is answered with the error.
//
// Thread-safety: persist() and completed() on the SIP worker thread (the writer's on_batch hook
// posts completed() to the worker's event loop); restore_all() once at start, before the worker
// serves, since it reads the store.

#include <functional>

#include "common/clock.h"
#include "privacy/keyring.h"
#include "sip/location.h"
#include "store/append_writer.h"

namespace privox::sip {

// A line's stored registrations, opened under the line's key, oldest expiry first: what the portal
// shows of a line's devices and what an access export holds. A field whose key is gone reads
// "erased"; one that does not open reads "unreadable". Only registrations that expire after
// `live_after_us` (0: every stored one). `with_addresses`: open the contact and source address too,
// not only the device's software.
struct StoredDevice {
  std::string contact, received, user_agent;
  int64_t expires_at_us = 0;
};
Result<std::vector<StoredDevice>> stored_devices(store::Session& s, const privacy::Keyring& keys,
                                                 const std::string& line_id, int64_t live_after_us,
                                                 bool with_addresses);

class StoreBindings final : public BindingStore {
 public:
  // `store` is read by restore_all() only; `writer` is the node's append writer.
  StoreBindings(store::Store& store, store::AppendWriter& writer, const privacy::Keyring& keys, const Clock& clock);

  void persist(std::vector<BindingChange> changes, std::function<void(const Status&)> done) override;
  // The writer finished `batch`: answers the changes it made durable.
  void completed(const store::BatchOutcome& batch);
  // Loads every live UDP binding into `location` (TCP bindings died with their connections).
  Result<size_t> restore_all(Location& location);
  // Queues removal of bindings that expired; returns at once.
  void purge_expired();

 private:
  store::Store& store_;
  store::AppendWriter& writer_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  size_t upsert_target_, delete_target_, purge_target_;
  store::TicketWaiters waiting_;
};

}  // namespace privox::sip
