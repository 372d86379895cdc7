#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "accounts/accounts.h"
#include "accounts/directory_log.h"
#include "accounts/extensions.h"
#include "callflow/groups.h"
#include "callflow/receptionist.h"
#include "common/ids.h"
#include "retention/closures.h"
#include "retention/retention.h"
#include "store/test_stores.h"

namespace privox::callflow {
namespace {

constexpr int64_t kReceptionStart = 1'795'000'000'000'000;
constexpr std::string_view kReceptionPremium = "+449098790000";
// Debian's asterisk-core-sounds-en-wav, which `make run` installs for the voicemail prompts.
constexpr const char* kReceptionIntroWav = "/usr/share/asterisk/sounds/en_US_f_Allison/vm-intro.wav";

std::vector<uint8_t> read_reception_wav(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Receptionists and menus on a company (GB) with two lines and a ring group, and a second company
// with a line and a menu of its own, on both backends.
class ReceptionistTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    extensions_ = std::make_unique<accounts::Extensions>(*store_, keys_, clock_);
    receptionists_ = std::make_unique<Receptionists>(*store_, keys_, clock_);
    accounts::Accounts accounts(*store_, keys_, clock_);
    company_ = *accounts.add_company({"Acme Ltd", "eea", ""}, "cli:test");
    other_company_ = *accounts.add_company({"Beta LLC", "us", ""}, "cli:test");
    line_a_ = add_line(company_, "101", "020 7946 0101");
    line_b_ = add_line(company_, "102");
    other_line_ = add_line(other_company_, "201");
    RingGroup g;
    g.company_id = company_;
    g.number = "300";
    g.name = "Sales";
    g.member_line_ids = {line_a_, line_b_};
    auto gid = RingGroups(*store_, keys_, clock_).create(g, "cli:test");
    ASSERT_TRUE(gid.ok()) << gid.error().describe();
    group_ = *gid;
    Menu other;
    other.company_id = other_company_;
    other.name = "Theirs";
    auto oid = receptionists_->create_menu(other, "cli:test");
    ASSERT_TRUE(oid.ok()) << oid.error().describe();
    other_menu_ = *oid;
  }

  std::string add_line(const std::string& company, const std::string& number,
                       std::optional<std::string> did = std::nullopt) {
    auto id = extensions_->add_extension({company, number, "correct-horse-7", std::nullopt, std::move(did)},
                                         "cli:test");
    EXPECT_TRUE(id.ok()) << id.error().describe();
    return id.ok() ? *id : "";
  }

  Menu menu(std::map<char, MenuAction> keys = {}) const {
    Menu m;
    m.company_id = company_;
    m.name = "Main menu";
    m.timeout_seconds = 6;
    m.keys = std::move(keys);
    return m;
  }

  std::string create_menu(const Menu& m) {
    auto id = receptionists_->create_menu(m, "cli:test");
    EXPECT_TRUE(id.ok()) << id.error().describe();
    return id.ok() ? *id : "";
  }

  Receptionist receptionist(const std::string& open_menu, std::string number = "500") const {
    Receptionist r;
    r.company_id = company_;
    r.number = std::move(number);
    r.name = "Front desk";
    r.open_menu_id = open_menu;
    return r;
  }

  int64_t count(const std::string& sql, const store::Params& params = {}) {
    auto tx = store_->begin(store::TxMode::read);
    auto rows = (*tx)->query(sql, params);
    EXPECT_TRUE(rows.ok()) << rows.error().describe();
    return rows.ok() ? rows->at(0).i64(0) : -1;
  }

  accounts::DirectoryChange last_change() {
    auto tx = store_->begin(store::TxMode::read);
    auto head = accounts::directory_log_head(**tx);
    EXPECT_TRUE(head.ok());
    auto changes = accounts::directory_changes_after(**tx, *head - 1, 1);
    EXPECT_TRUE(changes.ok() && changes->changes.size() == 1);
    return changes.ok() && !changes->changes.empty() ? changes->changes[0] : accounts::DirectoryChange{};
  }

  static ::testing::AssertionResult ok(const Status& s) {
    if (s.ok()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << s.error().describe();
  }

  template <class T>
  static void expect_error(const Result<T>& r, ErrorCode code, const std::string& field) {
    ASSERT_FALSE(r.ok()) << "expected an error on " << field;
    EXPECT_EQ(r.error().code, code) << r.error().describe();
    EXPECT_EQ(r.error().field, field) << r.error().describe();
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{kReceptionStart};
  std::unique_ptr<accounts::Extensions> extensions_;
  std::unique_ptr<Receptionists> receptionists_;
  std::string company_, other_company_, line_a_, line_b_, other_line_, group_, other_menu_;
};

TEST_P(ReceptionistTest, AMenuKeepsItsKeysThroughItsLife) {
  const std::string sub = create_menu(menu());
  Menu m = menu({{'1', {MenuActionKind::line, line_a_}},
                 {'2', {MenuActionKind::group, group_}},
                 {'3', {MenuActionKind::voicemail, line_b_}},
                 {'4', {MenuActionKind::external, "020 7946 0000"}},
                 {'5', {MenuActionKind::menu, sub}},
                 {'9', {MenuActionKind::dial_by_extension, ""}},
                 {'*', {MenuActionKind::repeat, ""}}});
  m.timeout = MenuAction{MenuActionKind::line, line_b_};
  const std::string id = create_menu(m);
  EXPECT_EQ(last_change().kind, accounts::DirectoryItem::receptionist);
  EXPECT_EQ(last_change().item_id, id);

  auto found = receptionists_->find_menu(id);
  ASSERT_TRUE(found.ok()) << found.error().describe();
  m.id = id;
  m.keys['4'].ref = "+442079460000";  // stored in E.164, read in the company's country
  EXPECT_EQ(*found, m);

  m.keys = {{'0', {MenuActionKind::menu, id}}, {'#', {MenuActionKind::line, line_a_}}};
  m.timeout = std::nullopt;
  m.timeout_seconds = kMaxMenuTimeoutSeconds;
  m.name = "Out of hours";
  ASSERT_TRUE(ok(receptionists_->update_menu(m, "cli:test")));
  EXPECT_EQ(*receptionists_->find_menu(id), m) << "a key may lead back to its own menu";
  EXPECT_EQ(last_change().item_id, id);

  auto listed = receptionists_->list_menus(company_);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 2u);
  EXPECT_EQ(receptionists_->list_menus(other_company_)->size(), 1u);

  ASSERT_TRUE(ok(receptionists_->remove_menu(id, "cli:test")));
  expect_error(receptionists_->find_menu(id), ErrorCode::not_found, "menu");
  EXPECT_EQ(last_change().kind, accounts::DirectoryItem::receptionist);
  EXPECT_EQ(last_change().item_id, id);
  EXPECT_EQ(count("SELECT COUNT(*) FROM receptionist_menu_keys WHERE menu_id = ?", {id}), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM subject_keys WHERE subject_id = ?", {id}), 0) << "its key went with it";
}

TEST_P(ReceptionistTest, EachMenuErrorNamesItsField) {
  Menu m = menu();
  m.company_id = "nope";
  expect_error(receptionists_->create_menu(m, "cli:test"), ErrorCode::invalid_argument, "company");
  m.company_id = new_id(kReceptionStart);
  expect_error(receptionists_->create_menu(m, "cli:test"), ErrorCode::not_found, "company");
  m = menu();
  m.name = "";
  expect_error(receptionists_->create_menu(m, "cli:test"), ErrorCode::invalid_argument, "name");
  m.name = std::string(kMaxMenuName + 1, 'x');
  expect_error(receptionists_->create_menu(m, "cli:test"), ErrorCode::invalid_argument, "name");
  m = menu();
  m.timeout_seconds = kMinMenuTimeoutSeconds - 1;
  expect_error(receptionists_->create_menu(m, "cli:test"), ErrorCode::invalid_argument, "timeout_seconds");
  expect_error(receptionists_->create_menu(menu({{'a', {MenuActionKind::repeat, ""}}}), "cli:test"),
               ErrorCode::invalid_argument, "keys.a");
  expect_error(receptionists_->create_menu(menu({{'1', {MenuActionKind::line, other_line_}}}), "cli:test"),
               ErrorCode::not_found, "keys.1");
  expect_error(receptionists_->create_menu(menu({{'2', {MenuActionKind::voicemail, other_line_}}}), "cli:test"),
               ErrorCode::not_found, "keys.2");
  expect_error(receptionists_->create_menu(menu({{'3', {MenuActionKind::group, line_a_}}}), "cli:test"),
               ErrorCode::not_found, "keys.3");
  expect_error(receptionists_->create_menu(menu({{'4', {MenuActionKind::external, std::string(kReceptionPremium)}}}), "cli:test"),
               ErrorCode::invalid_argument, "keys.4");
  expect_error(receptionists_->create_menu(menu({{'5', {MenuActionKind::menu, other_menu_}}}), "cli:test"),
               ErrorCode::not_found, "keys.5");
  expect_error(receptionists_->create_menu(menu({{'6', {MenuActionKind::repeat, line_a_}}}), "cli:test"),
               ErrorCode::invalid_argument, "keys.6");
  expect_error(receptionists_->create_menu(menu({{'#', {MenuActionKind::dial_by_extension, "101"}}}), "cli:test"),
               ErrorCode::invalid_argument, "keys.#");
  m = menu();
  m.timeout = MenuAction{MenuActionKind::external, "12"};
  expect_error(receptionists_->create_menu(m, "cli:test"), ErrorCode::invalid_argument, "timeout");
  m.timeout = MenuAction{MenuActionKind::menu, other_menu_};
  expect_error(receptionists_->create_menu(m, "cli:test"), ErrorCode::not_found, "timeout");
  m = menu();
  m.id = new_id(kReceptionStart);
  expect_error(receptionists_->update_menu(m, "cli:test"), ErrorCode::not_found, "menu");
  EXPECT_EQ(count("SELECT COUNT(*) FROM receptionist_menus WHERE company_id = ?", {company_}), 0)
      << "nothing refused was written";
}

TEST_P(ReceptionistTest, AReceptionistKeepsItsMenusAndNumber) {
  const std::string open = create_menu(menu());
  const std::string closed = create_menu(menu());
  Receptionist r = receptionist(open);
  r.did = "020 7946 0500";
  r.closed_menu_id = closed;
  auto id = receptionists_->create(r, "cli:test");
  ASSERT_TRUE(id.ok()) << id.error().describe();
  EXPECT_EQ(last_change().kind, accounts::DirectoryItem::receptionist);
  EXPECT_EQ(last_change().item_id, *id);
  r.id = *id;
  r.did = "+442079460500";
  EXPECT_EQ(*receptionists_->find(*id), r);

  r.number = "501";
  r.closed_menu_id = std::nullopt;
  r.did = std::nullopt;
  ASSERT_TRUE(ok(receptionists_->update(r, "cli:test")));
  EXPECT_EQ(*receptionists_->find(*id), r);
  EXPECT_EQ(last_change().change, "updated");
  {
    auto tx = store_->begin(store::TxMode::read);
    auto all = all_receptionists(**tx);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ((*all)[0], r);
  }
  EXPECT_EQ(receptionists_->list(company_)->size(), 1u);
  EXPECT_TRUE(receptionists_->list(other_company_)->empty());

  ASSERT_TRUE(ok(receptionists_->remove(*id, "cli:test")));
  expect_error(receptionists_->find(*id), ErrorCode::not_found, "receptionist");
  EXPECT_EQ(last_change().item_id, *id);
  EXPECT_EQ(last_change().change, "removed");
}

TEST_P(ReceptionistTest, EachReceptionistErrorNamesItsField) {
  const std::string open = create_menu(menu());
  Receptionist r = receptionist(open);
  r.company_id = "nope";
  expect_error(receptionists_->create(r, "cli:test"), ErrorCode::invalid_argument, "company");
  expect_error(receptionists_->create(receptionist(open, "5"), "cli:test"), ErrorCode::invalid_argument, "number");
  expect_error(receptionists_->create(receptionist(open, "101"), "cli:test"), ErrorCode::conflict, "number");
  expect_error(receptionists_->create(receptionist(open, "300"), "cli:test"), ErrorCode::conflict, "number");
  r = receptionist(open);
  r.name = " Front";
  expect_error(receptionists_->create(r, "cli:test"), ErrorCode::invalid_argument, "name");
  r = receptionist(open);
  r.did = "12";
  expect_error(receptionists_->create(r, "cli:test"), ErrorCode::invalid_argument, "did");
  r.did = "+442079460101";  // line 101's
  expect_error(receptionists_->create(r, "cli:test"), ErrorCode::conflict, "did");
  expect_error(receptionists_->create(receptionist(""), "cli:test"), ErrorCode::invalid_argument, "open_menu");
  expect_error(receptionists_->create(receptionist(other_menu_), "cli:test"), ErrorCode::not_found, "open_menu");
  r = receptionist(open);
  r.closed_menu_id = other_menu_;
  expect_error(receptionists_->create(r, "cli:test"), ErrorCode::not_found, "closed_menu");
  EXPECT_EQ(count("SELECT COUNT(*) FROM receptionists"), 0) << "nothing refused was written";

  // A second receptionist may not take the first's number or DID; a group not its number either.
  r = receptionist(open);
  r.did = "020 7946 0500";
  ASSERT_TRUE(receptionists_->create(r, "cli:test").ok());
  expect_error(receptionists_->create(receptionist(open), "cli:test"), ErrorCode::conflict, "number");
  Receptionist again = receptionist(open, "501");
  again.did = "+442079460500";
  expect_error(receptionists_->create(again, "cli:test"), ErrorCode::conflict, "did");
  RingGroup g;
  g.company_id = company_;
  g.number = "500";
  g.name = "Support";
  g.member_line_ids = {line_a_};
  expect_error(RingGroups(*store_, keys_, clock_).create(g, "cli:test"), ErrorCode::conflict, "number");
}

TEST_P(ReceptionistTest, AMenuInUseIsNotRemoved) {
  const std::string target = create_menu(menu());
  auto rid = receptionists_->create(receptionist(target), "cli:test");
  ASSERT_TRUE(rid.ok());
  expect_error(receptionists_->remove_menu(target, "cli:test"), ErrorCode::conflict, "menu");
  Receptionist r = *receptionists_->find(*rid);
  r.open_menu_id = create_menu(menu());
  ASSERT_TRUE(ok(receptionists_->update(r, "cli:test")));

  const std::string parent = create_menu(menu({{'1', {MenuActionKind::menu, target}}}));
  expect_error(receptionists_->remove_menu(target, "cli:test"), ErrorCode::conflict, "menu");
  ASSERT_TRUE(ok(receptionists_->remove_menu(parent, "cli:test")));
  Menu waiting = menu();
  waiting.timeout = MenuAction{MenuActionKind::menu, target};
  const std::string waits = create_menu(waiting);
  expect_error(receptionists_->remove_menu(target, "cli:test"), ErrorCode::conflict, "menu");
  ASSERT_TRUE(ok(receptionists_->remove_menu(waits, "cli:test")));
  EXPECT_TRUE(ok(receptionists_->remove_menu(target, "cli:test")));
}

TEST_P(ReceptionistTest, AGreetingIsSealedUnderTheMenusKeyAndGoesWithIt) {
  const std::vector<uint8_t> wav = read_reception_wav(kReceptionIntroWav);
  ASSERT_FALSE(wav.empty()) << kReceptionIntroWav << " (Debian's asterisk-core-sounds-en-wav) is missing";
  const std::string id = create_menu(menu());
  auto ms = receptionists_->set_greeting(id, wav, "cli:test");
  ASSERT_TRUE(ms.ok()) << ms.error().describe();
  EXPECT_GT(*ms, 1000);
  EXPECT_EQ(last_change().item_id, id);
  auto found = receptionists_->find_menu(id);
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->has_greeting);
  EXPECT_EQ(found->greeting_ms, *ms);

  // Stored sealed: neither Ogg's magic nor the WAV's appears in what the store holds.
  const std::string everything = test_store_->everything_stored(*store_, "receptionist_menus");
  EXPECT_FALSE(test_store_->holds_bytes(everything, Bytes{'O', 'g', 'g', 'S'}));
  EXPECT_FALSE(test_store_->holds_bytes(everything, Bytes{'R', 'I', 'F', 'F'}));

  std::string heard;
  {
    auto tx = store_->begin(store::TxMode::read);
    auto played = greeting_for_caller(**tx, keys_, id);
    ASSERT_TRUE(played.ok()) << played.error().describe();
    ASSERT_TRUE(played->has_value());
    heard = **played;
    EXPECT_EQ(heard.rfind("OggS", 0), 0u) << "Ogg Opus in clear for the caller";
  }
  auto listened = receptionists_->greeting_audio(id, "cli:test");
  ASSERT_TRUE(listened.ok()) << listened.error().describe();
  EXPECT_EQ(*listened, heard);
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit_log WHERE action = 'receptionist.greeting_listen'"), 1);

  // What is not a usable WAV is refused on "audio"; another menu's greeting is not touched.
  const std::vector<uint8_t> junk = {'R', 'I', 'F', 'F', 0, 0};
  expect_error(receptionists_->set_greeting(id, junk, "cli:test"), ErrorCode::invalid_argument, "audio");
  expect_error(receptionists_->set_greeting(new_id(kReceptionStart), wav, "cli:test"), ErrorCode::not_found, "menu");

  ASSERT_TRUE(ok(receptionists_->delete_greeting(id, "cli:test")));
  EXPECT_FALSE(receptionists_->find_menu(id)->has_greeting);
  expect_error(receptionists_->delete_greeting(id, "cli:test"), ErrorCode::not_found, "menu");
  {
    auto tx = store_->begin(store::TxMode::read);
    auto none = greeting_for_caller(**tx, keys_, id);
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value()) << "the default prompt plays";
  }

  // The menu's key gone, its greeting reads as erased; the menu removed, nothing is left.
  ASSERT_TRUE(receptionists_->set_greeting(id, wav, "cli:test").ok());
  {
    auto tx = store_->begin(store::TxMode::write);
    ASSERT_TRUE(privacy::subject_keys::destroy(**tx, id).ok());
    ASSERT_TRUE((*tx)->commit().ok());
  }
  {
    auto tx = store_->begin(store::TxMode::read);
    expect_error(greeting_for_caller(**tx, keys_, id), ErrorCode::erased, "menu");
  }
  ASSERT_TRUE(ok(receptionists_->remove_menu(id, "cli:test")));
  EXPECT_EQ(count("SELECT COUNT(*) FROM receptionist_menus WHERE id = ?", {id}), 0);
}

TEST_P(ReceptionistTest, RemovingAMenuDestroysTheKeyOfItsGreeting) {
  const std::string id = create_menu(menu());
  ASSERT_TRUE(receptionists_->set_greeting(id, read_reception_wav(kReceptionIntroWav), "cli:test").ok());
  EXPECT_EQ(count("SELECT COUNT(*) FROM subject_keys WHERE subject_id = ?", {id}), 1);
  ASSERT_TRUE(ok(receptionists_->remove_menu(id, "cli:test")));
  EXPECT_EQ(count("SELECT COUNT(*) FROM subject_keys WHERE subject_id = ?", {id}), 0);
  auto tx = store_->begin(store::TxMode::read);
  auto gone = greeting_for_caller(**tx, keys_, id);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST_P(ReceptionistTest, ARecordedGreetingOutsideItsLimitsIsRefusedAndWiped) {
  const std::string id = create_menu(menu());
  std::string ogg = "OggS not really";
  expect_error(receptionists_->set_recorded_greeting(id, ogg, 500, "cli:test"),
               ErrorCode::invalid_argument, "audio");
  EXPECT_TRUE(ogg.empty()) << "the clear audio is taken and wiped";
}

// A line removed leaves the keys that point at it: the proxy falls back, as for a forward.
TEST_P(ReceptionistTest, ARemovedLineStaysOnTheKeysThatNameIt) {
  Menu m = menu({{'1', {MenuActionKind::line, line_b_}}});
  m.timeout = MenuAction{MenuActionKind::voicemail, line_b_};
  const std::string id = create_menu(m);
  ASSERT_TRUE(ok(extensions_->remove(line_b_, "cli:test")));
  auto found = receptionists_->find_menu(id);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->keys.at('1').ref, line_b_);
  EXPECT_EQ(found->timeout->ref, line_b_);
}

// A greeting recorded by phone is kept like an uploaded one, and the caller's buffer is emptied.
TEST_P(ReceptionistTest, AGreetingRecordedByPhoneIsKept) {
  const std::string id = create_menu(menu());
  ASSERT_TRUE(receptionists_->set_greeting(other_menu_, read_reception_wav(kReceptionIntroWav), "cli:test").ok());
  auto recorded = receptionists_->greeting_audio(other_menu_, "cli:test");
  ASSERT_TRUE(recorded.ok()) << recorded.error().describe();
  const std::string copy = *recorded;
  ASSERT_TRUE(ok(receptionists_->set_recorded_greeting(id, *recorded, 2'500, "cli:test")));
  EXPECT_TRUE(recorded->empty());
  EXPECT_EQ(receptionists_->find_menu(id)->greeting_ms, 2'500);
  auto tx = store_->begin(store::TxMode::read);
  auto played = greeting_for_caller(**tx, keys_, id);
  ASSERT_TRUE(played.ok() && played->has_value());
  EXPECT_EQ(**played, copy);
}

// When a closing company's service ends, its receptionists and menus go with its lines: the DID is
// free for another company, and no greeting outlives the contract.
TEST_P(ReceptionistTest, AClosedCompanysReceptionistsGoWithItsLines) {
  const std::string open = create_menu(menu());
  ASSERT_TRUE(receptionists_->set_greeting(open, read_reception_wav(kReceptionIntroWav), "cli:test").ok());
  Receptionist r = receptionist(open);
  r.did = "+442079460500";
  ASSERT_TRUE(receptionists_->create(r, "cli:test").ok());
  auto scheduled = retention::CompanyClosures(*store_, keys_, clock_).schedule(company_, "cli:test", 0);
  ASSERT_TRUE(scheduled.ok()) << scheduled.error().describe();
  retention::RunOptions options;
  options.as_of_us = kReceptionStart + 1;
  auto report = retention::RetentionJobs(*store_, keys_, clock_).run(retention::Job::company_closures, options, "job:test");
  ASSERT_TRUE(report.ok()) << report.error().describe();
  EXPECT_EQ(report->changed, 1);

  EXPECT_EQ(count("SELECT COUNT(*) FROM receptionists WHERE company_id = ?", {company_}), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM receptionist_menus WHERE company_id = ?", {company_}), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM subject_keys WHERE subject_id = ?", {open}), 0) << "the greeting's key is gone";
  EXPECT_EQ(count("SELECT COUNT(*) FROM receptionist_menus WHERE company_id = ?", {other_company_}), 1)
      << "another company's menu stays";
  EXPECT_EQ(last_change().kind, accounts::DirectoryItem::receptionist);
  EXPECT_EQ(last_change().item_id, open);
  auto line = extensions_->add_extension({other_company_, "202", "correct-horse-4", std::nullopt, "+442079460500"},
                                         "cli:test");
  EXPECT_TRUE(line.ok()) << "the DID is free again: " << line.error().describe();
}

// Recording a greeting by phone: the portal's code, claimed by the proxy's desk once.
class PhoneRecordingCodeTest : public ReceptionistTest {
 protected:
  std::string code_for(const std::string& menu_id) {
    auto code = receptionists_->phone_recording_code(menu_id, "cli:test");
    EXPECT_TRUE(code.ok()) << code.error().describe();
    return code.ok() ? *code : "";
  }

  std::optional<std::string> claim(const std::string& company, std::string_view code) {
    auto tx = store_->begin(store::TxMode::write);
    EXPECT_TRUE(tx.ok());
    auto claimed = claim_phone_recording_code(**tx, keys_, company, code, clock_.now_us());
    EXPECT_TRUE(claimed.ok()) << claimed.error().describe();
    EXPECT_TRUE((*tx)->commit().ok());
    return claimed.ok() ? *claimed : std::nullopt;
  }

  // Another code of the same length that is surely not `code`.
  static std::string other_than(const std::string& code) {
    std::string other = code;
    other[0] = other[0] == '9' ? '0' : static_cast<char>(other[0] + 1);
    return other;
  }
};

TEST_P(PhoneRecordingCodeTest, ACodeIsSixDigitsAndClaimsItsMenuOnce) {
  const std::string id = create_menu(menu());
  const std::string code = code_for(id);
  ASSERT_EQ(code.size(), kPhoneRecordingCodeDigits);
  EXPECT_TRUE(std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) << code;
  EXPECT_EQ(count("SELECT COUNT(*) FROM menu_recording_codes WHERE menu_id = ? AND expires_at_us = ?",
                  {id, kReceptionStart + kPhoneRecordingCodeTtlUs}),
            1);

  EXPECT_EQ(claim(company_, other_than(code)), std::nullopt) << "a wrong code";
  EXPECT_EQ(claim(other_company_, code), std::nullopt) << "another company's line";
  EXPECT_EQ(claim(company_, code.substr(0, 5)), std::nullopt) << "too short";
  EXPECT_EQ(claim(company_, code + "#"), std::nullopt) << "not digits only";
  EXPECT_EQ(claim(company_, code), std::optional<std::string>(id));
  EXPECT_EQ(claim(company_, code), std::nullopt) << "one use";
  EXPECT_EQ(count("SELECT COUNT(*) FROM menu_recording_codes"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit_log WHERE action = 'receptionist.phone_recording_claim' AND "
                  "actor = 'sip:phone-recording'"),
            1)
      << "only the claim that matched is audited";

  expect_error(receptionists_->phone_recording_code(new_id(kReceptionStart), "cli:test"), ErrorCode::not_found, "menu");
}

TEST_P(PhoneRecordingCodeTest, AnExpiredCodeClaimsNothingAndGoes) {
  const std::string id = create_menu(menu());
  const std::string code = code_for(id);
  clock_.advance_us(kPhoneRecordingCodeTtlUs - 1);
  const std::string other = code_for(other_menu_);
  clock_.advance_us(1);
  EXPECT_EQ(claim(company_, code), std::nullopt) << "expired at its time";
  EXPECT_EQ(count("SELECT COUNT(*) FROM menu_recording_codes WHERE menu_id = ?", {id}), 0) << "deleted on the way";
  EXPECT_EQ(count("SELECT COUNT(*) FROM menu_recording_codes WHERE menu_id = ?", {other_menu_}), 1)
      << "another company's code is not touched";
  EXPECT_EQ(claim(other_company_, other), std::optional<std::string>(other_menu_)) << "still within its ten minutes";
}

TEST_P(PhoneRecordingCodeTest, ANewCodeReplacesTheOld) {
  const std::string id = create_menu(menu());
  const std::string first = code_for(id);
  std::string second = code_for(id);
  while (second == first) second = code_for(id);  // one chance in a million
  EXPECT_EQ(count("SELECT COUNT(*) FROM menu_recording_codes WHERE menu_id = ?", {id}), 1);
  EXPECT_EQ(claim(company_, first), std::nullopt) << "the old code no longer works";
  EXPECT_EQ(claim(company_, second), std::optional<std::string>(id));
}

TEST_P(PhoneRecordingCodeTest, TheCodeIsNeitherStoredNorAudited) {
  const std::string id = create_menu(menu());
  const std::string code = code_for(id);
  {
    auto tx = store_->begin(store::TxMode::read);
    auto rows = (*tx)->query("SELECT menu_id, company_id, code_hash, expires_at_us FROM menu_recording_codes", {});
    ASSERT_TRUE(rows.ok() && rows->size() == 1);
    const store::Row& row = rows->at(0);
    EXPECT_EQ(row.text(0), id);
    EXPECT_EQ(row.text(1), company_);
    const Bytes& hash = row.blob(2);
    EXPECT_EQ(hash.size(), 32u) << "a keyed BLAKE2b-256";
    EXPECT_EQ(std::search(hash.begin(), hash.end(), code.begin(), code.end()), hash.end());
    EXPECT_NE(hash, keys_.blind_index("menu_recording_code", code)) << "bound to the menu";
    const privacy::Keyring other_keys = privacy::Keyring::from_master_for_test(privacy::SecretKey::random());
    EXPECT_NE(hash, other_keys.blind_index("menu_recording_code", id + ":" + code))
        << "keyed: another master key gives another hash";
  }
  ASSERT_EQ(claim(company_, code), std::optional<std::string>(id));
  auto tx = store_->begin(store::TxMode::read);
  auto audits = (*tx)->query("SELECT action, detail FROM audit_log WHERE action LIKE 'receptionist.phone_recording%' "
                             "ORDER BY seq",
                             {});
  ASSERT_TRUE(audits.ok());
  ASSERT_EQ(audits->size(), 2u);
  EXPECT_EQ(audits->at(0).text(0), "receptionist.phone_recording_code");
  EXPECT_EQ(audits->at(1).text(0), "receptionist.phone_recording_claim");
  for (const store::Row& a : *audits) {
    const nlohmann::json detail = nlohmann::json::parse(a.text(1));
    EXPECT_EQ(detail.at("menu_id"), id);
    EXPECT_EQ(detail.at("company_id"), company_);
    for (const auto& [name, value] : detail.items()) {
      EXPECT_EQ(name.find("code"), std::string::npos) << name;
      if (value.is_string()) {
        EXPECT_EQ(value.get<std::string>().find(code), std::string::npos) << name;
      }
    }
  }
}

// The code goes with its menu, removed on its own or with the company's service.
TEST_P(PhoneRecordingCodeTest, ACodeGoesWithItsMenu) {
  const std::string id = create_menu(menu());
  const std::string code = code_for(id);
  ASSERT_TRUE(ok(receptionists_->remove_menu(id, "cli:test")));
  EXPECT_EQ(count("SELECT COUNT(*) FROM menu_recording_codes WHERE menu_id = ?", {id}), 0);
  EXPECT_EQ(claim(company_, code), std::nullopt);

  const std::string open = create_menu(menu());
  code_for(open);
  ASSERT_TRUE(receptionists_->create(receptionist(open), "cli:test").ok());
  code_for(other_menu_);
  {
    auto tx = store_->begin(store::TxMode::write);
    auto removed = remove_company_receptionists(**tx, company_, clock_.now_us());
    ASSERT_TRUE(removed.ok()) << removed.error().describe();
    EXPECT_EQ(*removed, 2);
    ASSERT_TRUE((*tx)->commit().ok());
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM menu_recording_codes WHERE company_id = ?", {company_}), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM menu_recording_codes WHERE company_id = ?", {other_company_}), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, PhoneRecordingCodeTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

INSTANTIATE_TEST_SUITE_P(Backends, ReceptionistTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::callflow
