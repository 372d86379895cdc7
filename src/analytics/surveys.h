#pragma once
// Surveys (P8): the operator asks members multiple-choice questions; each member answers once;
// results are released only as cells (question, choice) that count at least k respondents
// (cells.h). A response is stored per respondent, sealed under their key (data map:
// survey_responses.answers_enc), so erasing the member shreds it and results stop counting it.
// Creating a survey and responding are audited with ids only.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

#include "common/clock.h"
#include "privacy/audit.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::analytics {

struct SurveyQuestion {
  std::string text;
  std::vector<std::string> choices;  // 2 to 20, distinct, non-empty
};

class Surveys {
 public:
  Surveys(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : store_(store), keys_(keys), clock_(clock), audit_(keys, clock) {}

  // Returns the new survey's id. Errors: invalid_argument naming "title", "question" or
  // "choices" (empty, too long, fewer than 2 or duplicate choices, no questions).
  Result<std::string> create(const std::string& title, const std::vector<SurveyQuestion>& questions,
                             const std::string& actor);

  // Records one member's answers, one choice per question in order, each given as the choice's
  // text. Errors: invalid_argument naming "answer" (wrong number of answers, a choice that the
  // question does not offer), not_found (survey or member), erased (member erased), conflict
  // (the member has already answered this survey).
  Status respond(const std::string& survey_id, const std::string& member_id, const std::vector<std::string>& answers,
                 const std::string& actor);

  // {"survey": id, "title", "k", "respondents": n | "suppressed", "questions": [{"text",
  // "cells": [cell json per choice]}]} with every cell under k suppressed. Audited as
  // "survey.results" with counts only. Errors: not_found for an unknown survey.
  Result<nlohmann::json> results(const std::string& survey_id, const std::string& actor);

 private:
  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  privacy::AuditChain audit_;
};

}  // namespace privox::analytics
