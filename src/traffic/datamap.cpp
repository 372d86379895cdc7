// The data map's part for traffic/: traffic records (call detail records) and node heartbeats (privacy/datamap.h).
#include "traffic/module.h"

#include <array>

namespace privox::traffic {
namespace {

using privacy::Category;
using privacy::ErasureTreatment;
using privacy::FieldSpec;
using privacy::Format;
using privacy::LegalBasis;
using privacy::Protection;
using privacy::PurposeSet;
using privacy::RetentionRule;
using privacy::StructuralColumn;
using enum privacy::Purpose;

constexpr PurposeSet kTraffic = service | billing | fraud | support | legal;
constexpr PurposeSet kEquipment = service | fraud | support;
constexpr std::string_view kDisputedBill =
    "kept raw while a bill that includes the call or message is unpaid or disputed";
constexpr std::string_view kTrafficInClear =
    "needed in clear to rate, bill, index and query calls and to close calls a crashed node left open (R1); "
    "says when or how a call went, not who took part: the parties are sealed under the line's key";

// clang-format off
constexpr std::array<FieldSpec, 18> kFields = {
  FieldSpec{"source", "traffic_records", "source_enc", "", Category::traffic, true,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::per_subject, "",
            Format::recorded, 256, "who called or sent the message: a number or SIP address (another person's when the call came in)",
            "Who called or sent the message",
            "The number or address that made a call or sent a message: yours, or the other person's when the call came to you."},
  FieldSpec{"source_withheld", "traffic_records", "source_withheld", "", Category::traffic, true,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true,
            Protection::none, "a flag, not a number: call logs and exports must read it to keep a withheld caller withheld (P13)",
            Format::recorded, 1, "whether the caller withheld their number (SIP Privacy: id)",
            "Whether the caller hid their number",
            "Whether the person calling you, or you, withheld the number, so that we keep it hidden wherever we show the call."},
  FieldSpec{"destination", "traffic_records", "destination_enc", "", Category::traffic, true,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::per_subject, "",
            Format::recorded, 256, "who was called or sent the message: a number or SIP address",
            "Who was called or sent the message",
            "The number or address your call or message went to, or yours when it came to you."},
  FieldSpec{"direction", "traffic_records", "direction", "", Category::traffic, true,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::none, kTrafficInClear,
            Format::recorded, 8, "internal, outbound (to the public network) or inbound (from it)",
            "Direction of the call",
            "Whether your call stayed inside your company, went out to the phone network or came in from it."},
  FieldSpec{"kind", "traffic_records", "kind", "", Category::traffic, true,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::none, kTrafficInClear,
            Format::recorded, 5, "the type of communication: voice or sms",
            "Call or text message",
            "Whether you made or received a voice call or a text message."},
  FieldSpec{"started_at", "traffic_records", "started_at_us", "", Category::traffic, true,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::none, kTrafficInClear,
            Format::recorded, 20, "when the call was placed or the message sent (UTC)",
            "When the call started",
            "When your call was placed or your message sent."},
  FieldSpec{"answered_at", "traffic_records", "answered_at_us", "", Category::traffic, false,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::none, kTrafficInClear,
            Format::recorded, 20, "when the call was answered (UTC)",
            "When the call was answered",
            "When your call was answered."},
  FieldSpec{"ended_at", "traffic_records", "ended_at_us", "", Category::traffic, false,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::none, kTrafficInClear,
            Format::recorded, 20, "when the call ended (UTC)",
            "When the call ended",
            "When your call ended."},
  FieldSpec{"duration", "traffic_records", "duration_ms", "", Category::traffic, false,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::none, kTrafficInClear,
            Format::recorded, 20, "how long the answered call lasted, in milliseconds",
            "How long the call lasted",
            "How long your answered call lasted."},
  FieldSpec{"cost", "traffic_records", "cost_micros", "", Category::traffic, false,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::none, kTrafficInClear,
            Format::recorded, 20, "what the call cost under the operator's rate deck, in millionths of cost_currency; empty when not rated",
            "What the call cost",
            "What your call cost, when it was charged for."},
  FieldSpec{"outcome", "traffic_records", "outcome", "", Category::traffic, true,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::none, kTrafficInClear,
            Format::recorded, 16, "how the attempt went: open, answered, busy, no_answer, cancelled or failed",
            "How the call went",
            "Whether your call was answered, busy, not answered, cancelled or failed."},
  FieldSpec{"failure_code", "traffic_records", "failure_code", "", Category::traffic, false,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::none, kTrafficInClear,
            Format::recorded, 3, "the SIP status code of a failed attempt",
            "Why a call failed",
            "The technical code the phone network gave when your call could not be connected."},
  FieldSpec{"end_reason", "traffic_records", "end_reason", "", Category::traffic, false,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::none, kTrafficInClear,
            Format::recorded, 64, "why the call ended: which side hung up, a timeout, or a restart",
            "Why the call ended",
            "Why your call ended: which side hung up, a time-out, or a restart of our service."},
  FieldSpec{"caller_equipment", "traffic_records", "caller_equipment_enc", "", Category::traffic, false,
            kEquipment, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::per_subject, "",
            Format::recorded, 256, "the caller's device, as its User-Agent header names it",
            "The calling phone or app",
            "The make and software of the device that placed the call: yours, or the caller's when the call came to you, as the device announced itself."},
  FieldSpec{"callee_equipment", "traffic_records", "callee_equipment_enc", "", Category::traffic, false,
            kEquipment, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::per_subject, "",
            Format::recorded, 256, "the called party's device, as its User-Agent or Server header names it",
            "The answering phone or app",
            "The make and software of the device that took the call: yours when the call came to you, as the device announced itself."},
  FieldSpec{"trunk", "traffic_records", "trunk_id", "", Category::traffic, false,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true,
            Protection::none, "names the carrier link that carried the call (needed in clear to rate it and to register the disclosure, P9), not who took part",
            Format::recorded, 36, "which carrier trunk carried the call (routing)",
            "The carrier that carried the call",
            "Which telephone carrier linked your call to the public phone network."},
  FieldSpec{"caller_encrypted", "traffic_records", "caller_leg_encrypted", "", Category::traffic, false,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::none, kTrafficInClear,
            Format::recorded, 1, "whether the caller's leg went over TLS with encrypted audio (SRTP)",
            "Whether the calling side was encrypted",
            "Whether your call's signalling and sound between the calling phone and our network were encrypted."},
  FieldSpec{"callee_encrypted", "traffic_records", "callee_leg_encrypted", "", Category::traffic, false,
            kTraffic, LegalBasis::contract, RetentionRule::billing_dispute_period,
            ErasureTreatment::anonymise, kDisputedBill, true, Protection::none, kTrafficInClear,
            Format::recorded, 1, "whether the answering side's leg went over TLS with encrypted audio (SRTP)",
            "Whether the answering side was encrypted",
            "Whether your call's signalling and sound between our network and the answering phone were encrypted."},
};

constexpr std::array<StructuralColumn, 13> kStructural = {
  StructuralColumn{"traffic_records", "id", "random identifier of a call detail record"},
  StructuralColumn{"traffic_records", "company_id", "which tenant the call is billed to; a business, not a person"},
  StructuralColumn{"traffic_records", "subject_id", "pseudonymous id of the line (extension) whose record this is; its key seals the parties and equipment"},
  StructuralColumn{"traffic_records", "node_id", "which serving node handled the call, to close the calls it left open after a crash (R1)"},
  StructuralColumn{"traffic_records", "updated_at_us", "when the record last changed, for recovery after a crash"},
  StructuralColumn{"node_heartbeats", "node_id", "name of a serving node (a machine), not a person"},
  StructuralColumn{"node_heartbeats", "last_seen_us", "the node's last sign of life"},
  StructuralColumn{"traffic_records", "source_prefix",
   "what anonymisation keeps of the caller's number: country code and at most three national digits of a public "
   "number (an area or an operator's range that hundreds of thousands of numbers share), nothing (empty) of an "
   "extension, an address or a withheld number. Cut by the write path so anonymisation needs no decryption; while "
   "the record is linked it only repeats, coarser, what the line's own sealed source already holds, and it names an "
   "area, never a party; anonymisation keeps it unlinked. While linked, empty text means nothing is kept and NULL "
   "marks a record written before prefixes were stored (the job then opens the sealed number); once anonymised, "
   "NULL means nothing is kept"},
  StructuralColumn{"traffic_records", "destination_prefix",
   "the called number cut the same way as source_prefix, for the same reason and with the same empty/NULL meaning"},
  StructuralColumn{"traffic_records", "anonymised_at_us", "when the record lost its parties, equipment and subject (end of the dispute period)"},
  StructuralColumn{"traffic_records", "cost_currency", "the ISO 4217 code of the call's cost"},
  StructuralColumn{"traffic_records", "rate_deck_id", "which rate deck import priced the call"},
  StructuralColumn{"traffic_records", "log_hidden_at_us", "when the record left the member's call log (operator's count or age limit)"},
};

// clang-format on

}  // namespace

privacy::DataMapPart datamap_part() { return {"traffic", kFields, kStructural}; }

}  // namespace privox::traffic
