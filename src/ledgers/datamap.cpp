// The data map's part for ledgers/: the disclosure register and legal holds (privacy/datamap.h).
#include "ledgers/module.h"

#include <array>

namespace privox::ledgers {
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

// clang-format off
constexpr std::array<StructuralColumn, 20> kStructural = {
  StructuralColumn{"disclosures", "id", "random time-ordered identifier of a register entry"},
  StructuralColumn{"disclosures", "recipient", "the third party that received data: a business or public authority, not a data subject"},
  StructuralColumn{"disclosures", "kind", "the kind of recipient: carrier, supplier, authority, buyer or region transfer"},
  StructuralColumn{"disclosures", "categories", "data map category names of what was disclosed"},
  StructuralColumn{"disclosures", "legal_basis", "the legal basis of the disclosure"},
  StructuralColumn{"disclosures", "reference", "the legal process's or contract's reference; names a matter, not a person"},
  StructuralColumn{"disclosures", "safeguard", "the transfer safeguard, e.g. standard contractual clauses"},
  StructuralColumn{"disclosures", "trunk_id", "the carrier trunk a standing routing entry is for"},
  StructuralColumn{"disclosures", "disclosed_at_us", "when the disclosure happened"},
  StructuralColumn{"disclosures", "recorded_by", "the staff account or tool that recorded it"},
  StructuralColumn{"disclosure_subjects", "disclosure_id", "the register entry"},
  StructuralColumn{"disclosure_subjects", "subject_id", "pseudonymous id of a member the entry concerned"},
  StructuralColumn{"legal_holds", "id", "random time-ordered identifier of a hold"},
  StructuralColumn{"legal_holds", "subject_id", "pseudonymous id of the member under the hold"},
  StructuralColumn{"legal_holds", "reason", "the legal matter the hold serves (a case, an order); staff name the matter, not the person"},
  StructuralColumn{"legal_holds", "reference", "the legal matter's reference"},
  StructuralColumn{"legal_holds", "placed_at_us", "when the hold was placed"},
  StructuralColumn{"legal_holds", "placed_by", "the staff account or tool that placed it"},
  StructuralColumn{"legal_holds", "released_at_us", "when the hold was released; empty while in force"},
  StructuralColumn{"legal_holds", "released_by", "the staff account or tool that released it"},
};

// clang-format on

}  // namespace

privacy::DataMapPart datamap_part() { return {"ledgers", {}, kStructural}; }

}  // namespace privox::ledgers
