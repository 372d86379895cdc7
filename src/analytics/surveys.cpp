#include "analytics/surveys.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "accounts/accounts.h"
#include "accounts/validation.h"
#include "analytics/cells.h"
#include "common/ids.h"
#include "privacy/audit_record.h"

namespace privox::analytics {
namespace {

constexpr std::string_view kAnswersField = "survey_answers";
constexpr size_t kMaxTitle = 200, kMaxQuestion = 500, kMaxChoice = 100, kMaxQuestions = 50, kMaxChoices = 20;

Status check_questions(const std::string& title, const std::vector<SurveyQuestion>& questions) {
  if (title.empty() || title.size() > kMaxTitle)
    return invalid("title", fmt::format("give a title of 1 to {} characters", kMaxTitle));
  if (questions.empty() || questions.size() > kMaxQuestions)
    return invalid("question", fmt::format("give 1 to {} questions", kMaxQuestions));
  for (const SurveyQuestion& q : questions) {
    if (q.text.empty() || q.text.size() > kMaxQuestion)
      return invalid("question", fmt::format("each question needs 1 to {} characters", kMaxQuestion));
    if (q.choices.size() < 2 || q.choices.size() > kMaxChoices)
      return invalid("choices", fmt::format("question '{}' needs 2 to {} choices", q.text, kMaxChoices));
    std::set<std::string> seen;
    for (const std::string& c : q.choices) {
      if (c.empty() || c.size() > kMaxChoice)
        return invalid("choices", fmt::format("each choice needs 1 to {} characters", kMaxChoice));
      if (!seen.insert(c).second)
        return invalid("choices", fmt::format("question '{}' offers '{}' twice", q.text, c));
    }
  }
  return {};
}

struct StoredSurvey {
  std::string title;
  std::vector<SurveyQuestion> questions;
};

Result<StoredSurvey> load_survey(store::Session& s, const std::string& id) {
  PRIVOX_ASSIGN(store::Rows survey, s.query("SELECT title FROM surveys WHERE id = ?", {id}));
  if (survey.empty()) return Error{ErrorCode::not_found, "id", fmt::format("no survey has id {}", id)};
  StoredSurvey out{survey[0].text(0), {}};
  PRIVOX_ASSIGN(store::Rows questions, s.query("SELECT text, choices FROM survey_questions WHERE survey_id = ? "
                                               "ORDER BY position",
                                               {id}));
  for (const store::Row& q : questions)
    out.questions.push_back({q.text(0), nlohmann::json::parse(q.text(1)).get<std::vector<std::string>>()});
  return out;
}

Result<std::vector<int64_t>> choice_indexes(const StoredSurvey& survey, const std::vector<std::string>& answers) {
  if (answers.size() != survey.questions.size())
    return invalid("answer", fmt::format("the survey has {} questions; give one answer for each, in order",
                                         survey.questions.size()));
  std::vector<int64_t> out;
  for (size_t i = 0; i < answers.size(); ++i) {
    const std::vector<std::string>& choices = survey.questions[i].choices;
    const auto it = std::find(choices.begin(), choices.end(), answers[i]);
    if (it == choices.end())
      return invalid("answer", fmt::format("'{}' is not a choice of question {} ({})", answers[i], i + 1,
                                           fmt::join(choices, ", ")));
    out.push_back(it - choices.begin());
  }
  return out;
}

}  // namespace

Result<std::string> Surveys::create(const std::string& title, const std::vector<SurveyQuestion>& questions,
                                    const std::string& actor) {
  PRIVOX_TRY(check_questions(title, questions));
  const std::string id = new_id(clock_.now_us());
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(s.exec("INSERT INTO surveys (id, title, created_by, created_at_us) VALUES (?, ?, ?, ?)",
                      {id, title, actor, clock_.now_us()}));
    for (size_t i = 0; i < questions.size(); ++i)
      PRIVOX_TRY(s.exec("INSERT INTO survey_questions (survey_id, position, text, choices) VALUES (?, ?, ?, ?)",
                        {id, static_cast<int64_t>(i), questions[i].text, nlohmann::json(questions[i].choices).dump()}));
    PRIVOX_TRY(audit_.append(s, {actor, "survey.create", "", "", {{"survey", id}, {"questions", questions.size()}}}));
    return {};
  }));
  return id;
}

Status Surveys::respond(const std::string& survey_id, const std::string& member_id,
                        const std::vector<std::string>& answers, const std::string& actor) {
  PRIVOX_ASSIGN(std::string survey, accounts::check_id("id", survey_id));
  PRIVOX_ASSIGN(std::string member, accounts::check_id("member", member_id));
  return store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(StoredSurvey stored, load_survey(s, survey));
    PRIVOX_ASSIGN(std::vector<int64_t> picks, choice_indexes(stored, answers));
    PRIVOX_TRY(accounts::require_active_member(s, member));
    PRIVOX_ASSIGN(store::Rows done, s.query("SELECT 1 FROM survey_responses WHERE survey_id = ? AND respondent_id = ?",
                                            {survey, member}));
    if (!done.empty())
      return Error{ErrorCode::conflict, "member", fmt::format("member {} has already answered survey {}", member, survey)};
    PRIVOX_ASSIGN(privacy::SecretKey key, privacy::subject_keys::load(s, keys_, member));
    const Bytes sealed = privacy::seal_field(key, member, kAnswersField, nlohmann::json(picks).dump());
    PRIVOX_TRY(s.exec("INSERT INTO survey_responses (id, survey_id, respondent_id, answers_enc, responded_at_us) "
                      "VALUES (?, ?, ?, ?, ?)",
                      {new_id(clock_.now_us()), survey, member, sealed, clock_.now_us()}));
    PRIVOX_TRY(audit_.append(s, {actor, "survey.respond", member, "", {{"survey", survey}}}));
    return {};
  });
}

Result<nlohmann::json> Surveys::results(const std::string& survey_id, const std::string& actor) {
  PRIVOX_ASSIGN(std::string survey, accounts::check_id("id", survey_id));
  PRIVOX_ASSIGN(int64_t k, min_cell_size(store_));
  nlohmann::json out;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(StoredSurvey stored, load_survey(s, survey));
    std::vector<std::vector<int64_t>> counts;
    for (const SurveyQuestion& q : stored.questions) counts.emplace_back(q.choices.size(), 0);
    PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT respondent_id, answers_enc FROM survey_responses "
                                            "WHERE survey_id = ? ORDER BY id",
                                            {survey}));
    int64_t respondents = 0;
    for (const store::Row& r : rows) {
      // An erased respondent's key is gone and their answers with it: they are no longer counted.
      auto key = privacy::subject_keys::load(s, keys_, r.text(0));
      if (!key.ok()) continue;
      auto opened = privacy::open_field(*key, r.text(0), kAnswersField, r.blob(1));
      if (!opened.ok()) continue;
      const auto picks = nlohmann::json::parse(*opened, nullptr, false);
      if (!picks.is_array() || picks.size() != counts.size()) continue;
      for (size_t q = 0; q < counts.size(); ++q) {
        const int64_t pick = picks[q].is_number_integer() ? picks[q].get<int64_t>() : -1;
        if (pick >= 0 && static_cast<size_t>(pick) < counts[q].size()) ++counts[q][static_cast<size_t>(pick)];
      }
      ++respondents;
    }
    nlohmann::json questions = nlohmann::json::array();
    int64_t suppressed = 0;
    for (size_t q = 0; q < counts.size(); ++q) {
      std::vector<Cell> cells;
      for (size_t c = 0; c < counts[q].size(); ++c)
        cells.push_back({stored.questions[q].choices[c], counts[q][c], nlohmann::json::object(), false});
      suppress_small_cells(cells, respondents, k);
      nlohmann::json released = nlohmann::json::array();
      for (const Cell& cell : cells) {
        released.push_back(to_json(cell));
        suppressed += cell.suppressed ? 1 : 0;
      }
      questions.push_back({{"text", stored.questions[q].text}, {"cells", released}});
    }
    out = {{"survey", survey}, {"title", stored.title}, {"k", k}, {"questions", questions}};
    out["respondents"] = respondents >= k ? nlohmann::json(respondents) : nlohmann::json("suppressed");
    PRIVOX_TRY(audit_.append(s, {actor, "survey.results", "", "",
                                 {{"survey", survey}, {"respondents", respondents}, {"suppressed_cells", suppressed}}}));
    return {};
  }));
  return out;
}

}  // namespace privox::analytics
