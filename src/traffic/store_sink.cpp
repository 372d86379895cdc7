#include "traffic/store_sink.h"

#include <spdlog/spdlog.h>

#include "numbers/number_prefix.h"

namespace privox::traffic {
namespace {

const std::vector<std::string> kColumns = {
    "id",          "company_id",    "subject_id",     "direction",     "kind",         "source_enc",
    "destination_enc", "source_withheld", "started_at_us", "answered_at_us", "ended_at_us", "duration_ms",
    "outcome",     "failure_code",  "end_reason",     "caller_equipment_enc", "callee_equipment_enc",
    "trunk_id",    "node_id",       "updated_at_us", "source_prefix", "destination_prefix"};

store::Value optional_time(int64_t us) { return us ? store::Value{us} : store::null_value(); }
store::Value optional_text(const std::string& s) { return s.empty() ? store::null_value() : store::Value{s}; }

}  // namespace

StoreSink::StoreSink(store::Store& keys_store, store::AppendWriter& writer, const privacy::Keyring& keys,
                     const Clock& clock, std::string node_id)
    : keys_store_(keys_store), writer_(writer), keys_(keys), clock_(clock), node_id_(std::move(node_id)) {
  insert_target_ = writer_.add_target({"traffic_records", kColumns});
  close_target_ = writer_.add_target(
      {"traffic_records",
       {"ended_at_us", "duration_ms", "outcome", "end_reason", "callee_equipment_enc", "updated_at_us", "id"},
       "UPDATE traffic_records SET ended_at_us = ?, duration_ms = ?, outcome = ?, end_reason = ?, "
       "callee_equipment_enc = coalesce(?, callee_equipment_enc), updated_at_us = ? WHERE id = ?"});
  heartbeat_target_ = writer_.add_target(
      {"node_heartbeats",
       {"node_id", "last_seen_us"},
       "INSERT INTO node_heartbeats (node_id, last_seen_us) VALUES (?, ?) "
       "ON CONFLICT (node_id) DO UPDATE SET last_seen_us = excluded.last_seen_us"});
}

const privacy::SecretKey* StoreSink::key_for(const std::string& subject_id) {
  const auto cached = subject_keys_.find(subject_id);
  if (cached != subject_keys_.end()) return &cached->second;
  auto tx = keys_store_.begin(store::TxMode::read);
  if (!tx.ok()) return nullptr;
  auto key = privacy::subject_keys::load(**tx, keys_, subject_id);
  if (!key.ok()) return nullptr;
  return &subject_keys_.emplace(subject_id, std::move(key).value()).first->second;
}

store::Params StoreSink::full_row(const CallRecord& r, const privacy::SecretKey& key) const {
  auto seal = [&](std::string_view field, const std::string& value) -> store::Value {
    if (value.empty()) return store::null_value();
    return privacy::seal_field(key, r.subject_id, field, value);
  };
  return {r.id,
          r.company_id,
          r.subject_id,
          std::string(to_string(r.direction)),
          std::string(to_string(r.kind)),
          seal("source", r.source),
          seal("destination", r.destination),
          int64_t{r.source_withheld ? 1 : 0},
          r.started_at_us,
          optional_time(r.answered_at_us),
          optional_time(r.ended_at_us),
          r.ended_at_us ? store::Value{r.duration_ms()} : store::null_value(),
          std::string(to_string(r.outcome)),
          r.failure_code ? store::Value{int64_t{r.failure_code}} : store::null_value(),
          optional_text(r.end_reason),
          seal("caller_equipment", r.caller_equipment),
          seal("callee_equipment", r.callee_equipment),
          optional_text(r.trunk_id),
          node_id_,
          clock_.now_us(),
          // Cut here, while the numbers are in clear anyway: the traffic retention job then
          // anonymises a whole batch with one UPDATE instead of opening two sealed fields per record.
          numbers::prefix_at_write(r.source, r.source_withheld),
          numbers::prefix_at_write(r.destination)};
}

void StoreSink::opened(const CallRecord& record) {
  const privacy::SecretKey* key = key_for(record.subject_id);
  if (!key || !writer_.append(insert_target_, full_row(record, *key)).ok()) {
    ++stats_.dropped;
    spdlog::error("traffic: record {} of subject {} could not be queued", record.id, record.subject_id);
    return;
  }
  open_.insert(record.id);
  ++stats_.opened;
}

void StoreSink::closed(const CallRecord& record) {
  const privacy::SecretKey* key = key_for(record.subject_id);
  if (!key) {
    ++stats_.dropped;
    spdlog::error("traffic: no key for subject {}; record {} dropped", record.subject_id, record.id);
    return;
  }
  Result<store::AppendWriter::Ticket> queued = make_error(ErrorCode::internal, "unset");
  if (open_.erase(record.id)) {
    const store::Value callee = record.callee_equipment.empty()
                                    ? store::null_value()
                                    : store::Value{privacy::seal_field(*key, record.subject_id,
                                                                       "callee_equipment",
                                                                       record.callee_equipment)};
    queued = writer_.append(close_target_, {record.ended_at_us, record.duration_ms(),
                                            std::string(to_string(record.outcome)), optional_text(record.end_reason),
                                            callee, clock_.now_us(), record.id});
  } else {
    queued = writer_.append(insert_target_, full_row(record, *key));
  }
  if (!queued.ok()) {
    ++stats_.dropped;
    spdlog::error("traffic: record {} could not be queued: {}", record.id, queued.error().describe());
    return;
  }
  ++stats_.closed;
}

void StoreSink::heartbeat() { (void)writer_.append(heartbeat_target_, {node_id_, clock_.now_us()}); }

Result<int64_t> close_open_calls(store::Store& store, const std::string& node_id, const Clock& clock) {
  int64_t closed = 0;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(store::Rows beat, s.query("SELECT last_seen_us FROM node_heartbeats WHERE node_id = ?", {node_id}));
    // Without a heartbeat the record's own last update is the last time the node was known alive.
    const bool known = !beat.empty();
    const int64_t last_seen = known ? beat[0].i64(0) : 0;
    PRIVOX_ASSIGN(closed, s.exec("UPDATE traffic_records SET outcome = 'answered', end_reason = 'restart', "
                                 "ended_at_us = CASE WHEN ? = 1 AND ? > updated_at_us THEN ? ELSE updated_at_us END, "
                                 "duration_ms = (CASE WHEN ? = 1 AND ? > updated_at_us THEN ? ELSE updated_at_us END "
                                 "- answered_at_us) / 1000, updated_at_us = ? "
                                 "WHERE outcome = 'open' AND node_id = ?",
                                 {int64_t{known}, last_seen, last_seen, int64_t{known}, last_seen, last_seen,
                                  clock.now_us(), node_id}));
    return {};
  }));
  return closed;
}

}  // namespace privox::traffic
