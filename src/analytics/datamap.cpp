// The data map's part for analytics/: surveys and their sealed answers (privacy/datamap.h).
#include "analytics/module.h"

#include <array>

namespace privox::analytics {
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
using privacy::Purpose;

// clang-format off
constexpr std::array<FieldSpec, 1> kFields = {
  FieldSpec{"survey_answers", "survey_responses", "answers_enc", "", Category::operator_interactions, false,
            static_cast<PurposeSet>(Purpose::support), LegalBasis::consent, RetentionRule::until_closure,
            ErasureTreatment::erase, "", true, Protection::per_subject, "",
            Format::recorded, 4096,
            "the choices a member picked in a survey they chose to answer; released only as counts of at least k people",
            "Your survey answers",
            "The answers you chose to give in a survey. We only ever use them counted together with enough other people's answers that nobody can be singled out."},
};

constexpr std::array<StructuralColumn, 12> kStructural = {
  StructuralColumn{"surveys", "id", "random identifier of a survey"},
  StructuralColumn{"surveys", "title", "the operator's title for the survey; about the service, not a person"},
  StructuralColumn{"surveys", "created_by", "the staff account or tool that created it"},
  StructuralColumn{"surveys", "created_at_us", "when the survey was created"},
  StructuralColumn{"survey_questions", "survey_id", "which survey the question belongs to"},
  StructuralColumn{"survey_questions", "position", "the question's place in the survey"},
  StructuralColumn{"survey_questions", "text", "the operator's question"},
  StructuralColumn{"survey_questions", "choices", "the answers the operator offers"},
  StructuralColumn{"survey_responses", "id", "random identifier of a response"},
  StructuralColumn{"survey_responses", "survey_id", "which survey was answered"},
  StructuralColumn{"survey_responses", "respondent_id", "pseudonymous id of the member who answered; one response each, and their key seals it"},
  StructuralColumn{"survey_responses", "responded_at_us", "when the response was given"},
};

// clang-format on

}  // namespace

privacy::DataMapPart datamap_part() { return {"analytics", kFields, kStructural}; }

}  // namespace privox::analytics
