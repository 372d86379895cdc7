// The schema of analytics/'s tables, surveys, as migration parts (store/schema.h). Released parts are
// never edited: a change is a part of a new version.
#include "analytics/module.h"

namespace privox::analytics {

std::vector<store::SchemaPart> schema_parts() {
  return {
      {6,
       "analytics",
       "surveys",
       {
           R"(CREATE TABLE surveys (
                id TEXT PRIMARY KEY,
                title TEXT NOT NULL,
                created_by TEXT NOT NULL,
                created_at_us {i64} NOT NULL))",
           // choices: the answers a respondent may pick, as a JSON array of strings.
           R"(CREATE TABLE survey_questions (
                survey_id TEXT NOT NULL REFERENCES surveys (id),
                position {i64} NOT NULL,
                text TEXT NOT NULL,
                choices TEXT NOT NULL,
                PRIMARY KEY (survey_id, position)))",
           // One row per respondent and survey; the answers are sealed under the respondent's key.
           R"(CREATE TABLE survey_responses (
                id TEXT PRIMARY KEY,
                survey_id TEXT NOT NULL REFERENCES surveys (id),
                respondent_id TEXT NOT NULL REFERENCES members (id),
                answers_enc {blob} NOT NULL,
                responded_at_us {i64} NOT NULL,
                UNIQUE (survey_id, respondent_id)))",
       }},
  };
}

}  // namespace privox::analytics
