// The live fraud rules at call set-up (fraud/guard.h): kept in a file of their own so that the
// set-up path in proxy.cpp carries one line for them. The guard costs a few map look-ups under
// its lock; the line's registrations are counted from the location service, in memory.

#include <fmt/format.h>

#include <string>

#include "fraud/guard.h"
#include "sip/builder.h"
#include "sip/proxy.h"

namespace privox::sip {
namespace {

// How many distinct addresses the line's live bindings came from (the many_sources rule).
size_t distinct_sources(std::span<const Binding> bindings) {
  size_t distinct = 0;
  for (size_t i = 0; i < bindings.size(); ++i) {
    bool seen = false;
    for (size_t j = 0; j < i && !seen; ++j) seen = bindings[j].peer.same_host(bindings[i].peer);
    if (!seen) ++distinct;
  }
  return distinct;
}

}  // namespace

bool Proxy::refused_for_fraud(TxId tx, const Message& request, const ExtensionInfo& caller,
                              traffic::CallRecord& record, int64_t now_us) {
  const size_t sources = distinct_sources(location_.lookup(caller.id, now_us));
  const std::optional<fraud::Refusal> refused = fraud_->admit(caller.id, caller.company_id, sources, now_us);
  if (!refused) return false;
  record.destination = std::string(request.request_uri().user);
  record.ended_at_us = now_us;
  record.outcome = traffic::Outcome::failed;
  record.failure_code = refused->status;
  traffic_.closed(record);
  if (refused->retry_after_s == 0) {
    respond(tx, request, refused->status, refused->reason);
    return true;
  }
  const std::string retry_after = std::to_string(refused->retry_after_s);
  const ExtraHeader extra[] = {{"Retry-After", retry_after}};
  layer_->respond(tx, build_response(request, refused->status, refused->reason, "px", extra), refused->status);
  return true;
}

}  // namespace privox::sip
