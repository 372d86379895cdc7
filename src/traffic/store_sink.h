#pragma once
// Makes traffic records durable (P5, R1) through the node's single batched writer: an answered
// call's record is appended the moment it is answered (the writer commits within milliseconds)
// and updated when it ends; every other attempt is appended once, final. Source, destination and
// equipment are sealed under the subject's key before they leave the process; what anonymisation
// will keep of the parties (numbers/number_prefix.h, prefix_at_write) is stored beside them.
//
// After a crash nothing in memory survives, so on start close_open_calls() ends every call this
// node left open, with reason "restart" and the node's last heartbeat as its end.
//
// Thread-safety: opened() and closed() on the SIP worker thread; heartbeat() on any thread.

#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "common/clock.h"
#include "privacy/keyring.h"
#include "store/append_writer.h"
#include "traffic/record.h"

namespace privox::traffic {

class StoreSink final : public TrafficSink {
 public:
  // `keys_store` reads subject keys; `writer` is the node's append writer.
  StoreSink(store::Store& keys_store, store::AppendWriter& writer, const privacy::Keyring& keys, const Clock& clock,
            std::string node_id);

  void opened(const CallRecord& record) override;
  void closed(const CallRecord& record) override;

  // Records this node's liveness (what a restart uses as the end of calls it left open).
  void heartbeat();
  // Waits until every record handed over so far is durable.
  Status flush() { return writer_.flush(); }

  struct Stats {
    uint64_t opened = 0;
    uint64_t closed = 0;
    uint64_t dropped = 0;  // no key for the subject, or the writer refused: logged
  };
  const Stats& stats() const { return stats_; }

 private:
  const privacy::SecretKey* key_for(const std::string& subject_id);
  store::Params full_row(const CallRecord& record, const privacy::SecretKey& key) const;

  store::Store& keys_store_;
  store::AppendWriter& writer_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  const std::string node_id_;
  size_t insert_target_, close_target_, heartbeat_target_;
  std::unordered_map<std::string, privacy::SecretKey> subject_keys_;  // worker thread only
  std::unordered_set<std::string> open_;                             // records opened, not yet closed
  Stats stats_;
};

// Ends every call `node_id` left open: outcome answered, reason "restart", ended at the node's
// last heartbeat (or the record's last update). Returns how many it closed.
Result<int64_t> close_open_calls(store::Store& store, const std::string& node_id, const Clock& clock);

}  // namespace privox::traffic
