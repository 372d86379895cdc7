// The data map's part for retention/ and analytics/ (see datamap_parts.h): the columns migration 6
// adds to traffic_records, retention runs, account closures and surveys.
#include <array>

#include "privacy/datamap_parts.h"

namespace privox::privacy {
namespace {

// clang-format off
// Survey answers are sealed, not kept in clear: an answer is a named person's opinion until the
// results are aggregated, and sealing it under the respondent's key means erasing them (closure,
// a deletion request) shreds their answers with everything else. Results open them only to count
// them into cells of at least k people (analytics/surveys.h).
constexpr std::array<FieldSpec, 1> kFields = {{
  FieldSpec{"survey_answers", "survey_responses", "answers_enc", "", Category::operator_interactions, false,
            static_cast<PurposeSet>(Purpose::support), LegalBasis::consent, RetentionRule::until_closure,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::recorded, 4096,
            "the choices a member picked in a survey they chose to answer; released only as counts of at least k people"},
}};

constexpr std::array<StructuralColumn, 30> kStructural = {{
  {"traffic_records", "source_prefix",
   "what anonymisation keeps of the caller's number: country code and at most three national digits of a public "
   "number (an area or an operator's range that hundreds of thousands of numbers share), nothing (empty) of an "
   "extension, an address or a withheld number. Cut by the write path so anonymisation needs no decryption; while "
   "the record is linked it only repeats, coarser, what the line's own sealed source already holds, and it names an "
   "area, never a party; anonymisation keeps it unlinked. While linked, empty text means nothing is kept and NULL "
   "marks a record written before prefixes were stored (the job then opens the sealed number); once anonymised, "
   "NULL means nothing is kept"},
  {"traffic_records", "destination_prefix",
   "the called number cut the same way as source_prefix, for the same reason and with the same empty/NULL meaning"},
  {"traffic_records", "anonymised_at_us", "when the record lost its parties, equipment and subject (end of the dispute period)"},
  {"traffic_records", "log_hidden_at_us", "when the record left the member's call log (operator's count or age limit)"},
  {"retention_runs", "job", "which retention job the row tracks"},
  {"retention_runs", "run_id", "random identifier of a run"},
  {"retention_runs", "as_of_us", "the time the run's periods are measured from"},
  {"retention_runs", "cursor_us", "the time key of the last record a committed batch handled"},
  {"retention_runs", "cursor_id", "the id of the last record, line or member a committed batch handled"},
  {"retention_runs", "batches", "how many batches the run committed"},
  {"retention_runs", "changed", "how many records or accounts the run changed"},
  {"retention_runs", "held", "how many were skipped under a legal hold"},
  {"retention_runs", "started_at_us", "when the run began"},
  {"retention_runs", "finished_at_us", "when the run completed; empty while it is in progress or was interrupted"},
  {"account_closures", "member_id", "pseudonymous id of the member whose account closed"},
  {"account_closures", "closed_at_us", "when the account closed; the grace period runs from here"},
  {"account_closures", "closed_by", "the staff account or tool that closed it"},
  {"account_closures", "erased_at_us", "when the retention job erased the member"},
  {"surveys", "id", "random identifier of a survey"},
  {"surveys", "title", "the operator's title for the survey; about the service, not a person"},
  {"surveys", "created_by", "the staff account or tool that created it"},
  {"surveys", "created_at_us", "when the survey was created"},
  {"survey_questions", "survey_id", "which survey the question belongs to"},
  {"survey_questions", "position", "the question's place in the survey"},
  {"survey_questions", "text", "the operator's question"},
  {"survey_questions", "choices", "the answers the operator offers"},
  {"survey_responses", "id", "random identifier of a response"},
  {"survey_responses", "survey_id", "which survey was answered"},
  {"survey_responses", "respondent_id", "pseudonymous id of the member who answered; one response each, and their key seals it"},
  {"survey_responses", "responded_at_us", "when the response was given"},
}};
// clang-format on

}  // namespace

std::span<const FieldSpec> retention_personal_fields() { return kFields; }
std::span<const StructuralColumn> retention_structural_columns() { return kStructural; }

}  // namespace privox::privacy
