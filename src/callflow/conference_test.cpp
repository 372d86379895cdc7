#include <gtest/gtest.h>

#include "accounts/accounts.h"
#include "accounts/directory_log.h"
#include "accounts/extensions.h"
#include "callflow/conference.h"
#include "callflow/groups.h"
#include "callflow/receptionist.h"
#include "common/ids.h"
#include "erasure/erasure.h"
#include "retention/closures.h"
#include "retention/retention.h"
#include "store/test_stores.h"

namespace privox::callflow {
namespace {

constexpr int64_t kRoomStart = 1'795'000'000'000'000;
// A PIN no other value of these tests holds, so finding its digits anywhere means it leaked.
constexpr std::string_view kRoomPin = "80417723";

// Conference rooms on a company (GB) with a member's line (with a DID), a second line, a ring group
// and a receptionist (with a DID), and a second company with a line of its own, on both backends.
class ConferenceTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    extensions_ = std::make_unique<accounts::Extensions>(*store_, keys_, clock_);
    rooms_ = std::make_unique<Conferences>(*store_, keys_, clock_);
    accounts::Accounts accounts(*store_, keys_, clock_);
    company_ = *accounts.add_company({"Acme Ltd", "eea", ""}, "cli:test");
    other_company_ = *accounts.add_company({"Beta LLC", "us", ""}, "cli:test");
    auto member = accounts.add_member(company_,
                                      {{"name", "Ada Lovelace"},
                                       {"email", "ada@example.org"},
                                       {"phone", "020 7946 0958"},
                                       {"address", "1 High St"},
                                       {"birth_date", "1990-01-31"},
                                       {"payment_token", "tok_abcdef"}},
                                      "cli:test");
    ASSERT_TRUE(member.ok()) << member.error().describe();
    member_ = *member;
    line_a_ = add_line(company_, "101", member_, "020 7946 0101");
    line_b_ = add_line(company_, "102");
    other_line_ = add_line(other_company_, "201");
    RingGroup g;
    g.company_id = company_;
    g.number = "300";
    g.name = "Sales";
    g.member_line_ids = {line_a_, line_b_};
    auto gid = RingGroups(*store_, keys_, clock_).create(g, "cli:test");
    ASSERT_TRUE(gid.ok()) << gid.error().describe();
    Receptionists receptionists(*store_, keys_, clock_);
    Menu menu;
    menu.company_id = company_;
    menu.name = "Main menu";
    auto mid = receptionists.create_menu(menu, "cli:test");
    ASSERT_TRUE(mid.ok()) << mid.error().describe();
    menu_ = *mid;
    auto rid = receptionists.create(receptionist("500", "020 7946 0500"), "cli:test");
    ASSERT_TRUE(rid.ok()) << rid.error().describe();
  }

  std::string add_line(const std::string& company, const std::string& number,
                       std::optional<std::string> member = std::nullopt, std::optional<std::string> did = std::nullopt) {
    auto id = extensions_->add_extension({company, number, "correct-horse-7", std::move(member), std::move(did)},
                                         "cli:test");
    EXPECT_TRUE(id.ok()) << id.error().describe();
    return id.ok() ? *id : "";
  }

  Receptionist receptionist(std::string number, std::optional<std::string> did = std::nullopt) const {
    Receptionist r;
    r.company_id = company_;
    r.number = std::move(number);
    r.name = "Front desk";
    r.did = std::move(did);
    r.open_menu_id = menu_;
    return r;
  }

  ConferenceRoom room(std::string number = "700", std::optional<std::string> did = std::nullopt) const {
    ConferenceRoom r;
    r.company_id = company_;
    r.number = std::move(number);
    r.name = "Weekly call";
    r.did = std::move(did);
    return r;
  }

  ConferenceRoom line_room(const std::string& line) const {
    ConferenceRoom r;
    r.company_id = company_;
    r.line_id = line;
    r.name = "Ada's room";
    return r;
  }

  std::string create(const ConferenceRoom& r, const std::string& pin = "1234") {
    auto id = rooms_->create(r, pin, "cli:test");
    EXPECT_TRUE(id.ok()) << id.error().describe();
    return id.ok() ? *id : "";
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

  int64_t room_changes(const std::string& id, const std::string& change) {
    return count("SELECT COUNT(*) FROM directory_changes WHERE kind = 'conference' AND item_id = ? AND change = ?",
                 {id, change});
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
  FakeClock clock_{kRoomStart};
  std::unique_ptr<accounts::Extensions> extensions_;
  std::unique_ptr<Conferences> rooms_;
  std::string company_, other_company_, member_, line_a_, line_b_, other_line_, menu_;
};

TEST_P(ConferenceTest, ARoomKeepsItsNumberNameAndDid) {
  ConferenceRoom r = room("700", "020 7946 0700");
  const std::string id = create(r, "123456");
  EXPECT_EQ(last_change().kind, accounts::DirectoryItem::conference);
  EXPECT_EQ(last_change().item_id, id);
  EXPECT_EQ(last_change().change, "added");
  r.id = id;
  r.did = "+442079460700";  // stored in E.164, read in the company's country
  EXPECT_EQ(*rooms_->find(id), r);

  // Without a PIN the PIN stays; with one it is replaced.
  r.number = "701";
  r.name = "Board";
  r.did = std::nullopt;
  ASSERT_TRUE(ok(rooms_->update(r, std::nullopt, "cli:test")));
  EXPECT_EQ(*rooms_->find(id), r);
  EXPECT_EQ(last_change().item_id, id);
  EXPECT_EQ(last_change().change, "updated");
  EXPECT_EQ(*rooms_->pin(id, "cli:test"), "123456");
  ASSERT_TRUE(ok(rooms_->update(r, std::string("9876"), "cli:test")));
  EXPECT_EQ(*rooms_->pin(id, "cli:test"), "9876");
  {
    auto tx = store_->begin(store::TxMode::read);
    auto all = all_rooms(**tx);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ((*all)[0], r);
    auto one = room_by_id(**tx, id);
    ASSERT_TRUE(one.ok() && one->has_value());
    EXPECT_EQ(**one, r);
  }
  EXPECT_EQ(rooms_->list(company_)->size(), 1u);
  EXPECT_TRUE(rooms_->list(other_company_)->empty());
  expect_error(rooms_->list(new_id(kRoomStart)), ErrorCode::not_found, "company");

  ASSERT_TRUE(ok(rooms_->remove(id, "cli:test")));
  expect_error(rooms_->find(id), ErrorCode::not_found, "conference");
  expect_error(rooms_->pin(id, "cli:test"), ErrorCode::not_found, "conference");
  EXPECT_EQ(last_change().item_id, id);
  EXPECT_EQ(last_change().change, "removed");
  EXPECT_EQ(count("SELECT COUNT(*) FROM subject_keys WHERE subject_id = ?", {id}), 1)
      << "the room's key outlives it: its calls' records are sealed under it";
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit_log WHERE action IN ('conference.create', 'conference.update', "
                  "'conference.remove')"),
            4);
}

TEST_P(ConferenceTest, ALineHasOneRoomOfItsOwn) {
  const std::string id = create(line_room(line_a_));
  auto found = rooms_->for_line(line_a_);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id, id);
  EXPECT_EQ((*found)->number, "") << "dialled as *88 and the line's number";
  EXPECT_FALSE(rooms_->for_line(line_b_)->has_value());

  expect_error(rooms_->create(line_room(line_a_), "1234", "cli:test"), ErrorCode::conflict, "line");
  ConferenceRoom numbered = line_room(line_b_);
  numbered.number = "702";
  expect_error(rooms_->create(numbered, "1234", "cli:test"), ErrorCode::invalid_argument, "number");
  expect_error(rooms_->create(line_room(other_line_), "1234", "cli:test"), ErrorCode::not_found, "line");
  expect_error(rooms_->create(line_room(new_id(kRoomStart)), "1234", "cli:test"), ErrorCode::not_found, "line");
  expect_error(rooms_->create(line_room("nope"), "1234", "cli:test"), ErrorCode::invalid_argument, "line");

  // An update keeps the room on its line; giving it a number is refused.
  ConferenceRoom r = **found;
  r.line_id = line_b_;
  r.name = "Renamed";
  ASSERT_TRUE(ok(rooms_->update(r, std::nullopt, "cli:test")));
  EXPECT_EQ(rooms_->find(id)->line_id, line_a_);
  EXPECT_EQ(rooms_->find(id)->name, "Renamed");
  r.number = "703";
  expect_error(rooms_->update(r, std::nullopt, "cli:test"), ErrorCode::invalid_argument,
               "number");
}

TEST_P(ConferenceTest, EachRefusalNamesItsField) {
  ConferenceRoom r = room();
  r.company_id = "nope";
  expect_error(rooms_->create(r, "1234", "cli:test"), ErrorCode::invalid_argument, "company");
  r.company_id = new_id(kRoomStart);
  expect_error(rooms_->create(r, "1234", "cli:test"), ErrorCode::not_found, "company");
  expect_error(rooms_->create(room("7"), "1234", "cli:test"), ErrorCode::invalid_argument, "number");
  expect_error(rooms_->create(room(""), "1234", "cli:test"), ErrorCode::invalid_argument, "number");
  r = room();
  r.name = "";
  expect_error(rooms_->create(r, "1234", "cli:test"), ErrorCode::invalid_argument, "name");
  r.name = std::string(kMaxConferenceName + 1, 'x');
  expect_error(rooms_->create(r, "1234", "cli:test"), ErrorCode::invalid_argument, "name");

  // A PIN is 4 to 12 digits, and no refusal quotes it back.
  for (const std::string pin : {"123", "12a4", "1234567890123", "", "12 34"}) {
    auto refused = rooms_->create(room(), pin, "cli:test");
    expect_error(refused, ErrorCode::invalid_argument, "pin");
    if (!refused.ok() && !pin.empty()) {
      EXPECT_EQ(refused.error().message.find(pin), std::string::npos) << "the refusal quotes the PIN";
    }
  }
  ASSERT_TRUE(rooms_->create(room("799"), "123456789012", "cli:test").ok()) << "12 digits is the most";

  // The number is the company's plan's: a line, a group or a receptionist may have it.
  expect_error(rooms_->create(room("101"), "1234", "cli:test"), ErrorCode::conflict, "number");
  expect_error(rooms_->create(room("300"), "1234", "cli:test"), ErrorCode::conflict, "number");
  auto receptionists = rooms_->create(room("500"), "1234", "cli:test");
  expect_error(receptionists, ErrorCode::conflict, "number");
  EXPECT_NE(receptionists.error().message.find("receptionist"), std::string::npos) << receptionists.error().describe();

  // The DID is a public number: a line's or a receptionist's is taken.
  expect_error(rooms_->create(room("700", "12"), "1234", "cli:test"), ErrorCode::invalid_argument, "did");
  expect_error(rooms_->create(room("700", "+442079460101"), "1234", "cli:test"), ErrorCode::conflict, "did");
  expect_error(rooms_->create(room("700", "020 7946 0500"), "1234", "cli:test"), ErrorCode::conflict, "did");

  ConferenceRoom gone = room();
  gone.id = new_id(kRoomStart);
  expect_error(rooms_->update(gone, std::nullopt, "cli:test"), ErrorCode::not_found,
               "conference");
  EXPECT_EQ(count("SELECT COUNT(*) FROM conference_rooms"), 1) << "nothing refused was written";
}

// A room's number and DID are refused to groups, receptionists and other rooms, as theirs are to it.
TEST_P(ConferenceTest, OthersSeeARoomsNumberAndDid) {
  const std::string id = create(room("700", "020 7946 0700"));
  RingGroup g;
  g.company_id = company_;
  g.number = "700";
  g.name = "Support";
  g.member_line_ids = {line_b_};
  auto group = RingGroups(*store_, keys_, clock_).create(g, "cli:test");
  expect_error(group, ErrorCode::conflict, "number");
  EXPECT_NE(group.error().message.find("conference room"), std::string::npos) << group.error().describe();
  Receptionists receptionists(*store_, keys_, clock_);
  expect_error(receptionists.create(receptionist("700"), "cli:test"), ErrorCode::conflict, "number");
  expect_error(receptionists.create(receptionist("501", "+442079460700"), "cli:test"), ErrorCode::conflict, "did");
  expect_error(rooms_->create(room("700"), "1234", "cli:test"), ErrorCode::conflict, "number");
  expect_error(rooms_->create(room("701", "+442079460700"), "1234", "cli:test"), ErrorCode::conflict, "did");
  // A line's room may have a DID too, not another's.
  ConferenceRoom mine = line_room(line_b_);
  mine.did = "+442079460700";
  expect_error(rooms_->create(mine, "1234", "cli:test"), ErrorCode::conflict, "did");

  // The room keeps its own number and DID through an update.
  ConferenceRoom r = *rooms_->find(id);
  r.name = "Renamed";
  EXPECT_TRUE(ok(rooms_->update(r, std::nullopt, "cli:test")));
  r.number = "101";
  expect_error(rooms_->update(r, std::nullopt, "cli:test"), ErrorCode::conflict, "number");
}

TEST_P(ConferenceTest, ThePinIsSealedAndReadingItIsAudited) {
  const std::string id = create(room("700"), std::string(kRoomPin));
  const std::string everything = test_store_->everything_stored(*store_, "conference_rooms");
  EXPECT_FALSE(test_store_->holds_bytes(everything, Bytes(kRoomPin.begin(), kRoomPin.end())))
      << "the PIN's digits are nowhere in the store";
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit_log WHERE action = 'conference.pin_read'"), 0);

  auto read = rooms_->pin(id, "cli:test");
  ASSERT_TRUE(read.ok()) << read.error().describe();
  EXPECT_EQ(*read, kRoomPin);
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit_log WHERE action = 'conference.pin_read'"), 1);
  {
    auto tx = store_->begin(store::TxMode::read);
    auto for_caller = pin_for_caller(**tx, keys_, id);
    ASSERT_TRUE(for_caller.ok()) << for_caller.error().describe();
    ASSERT_TRUE(for_caller->has_value());
    EXPECT_EQ(**for_caller, kRoomPin);
    auto none = pin_for_caller(**tx, keys_, new_id(kRoomStart));
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value()) << "a room that is gone has no PIN";
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit_log WHERE action = 'conference.pin_read'"), 1)
      << "the proxy's comparison is the service's own, not audited";

  // The key gone (not something privox does to a room, but a backup may outlive it), the PIN is erased.
  {
    auto tx = store_->begin(store::TxMode::write);
    ASSERT_TRUE(privacy::subject_keys::destroy(**tx, id).ok());
    ASSERT_TRUE((*tx)->commit().ok());
  }
  expect_error(rooms_->pin(id, "cli:test"), ErrorCode::erased, "conference");
}

// When a closing company's service ends, its rooms go with its lines: the DIDs are free again.
TEST_P(ConferenceTest, AClosedCompanysRoomsGoWithItsLines) {
  const std::string company_room = create(room("700", "+442079460700"));
  const std::string line_room_id = create(line_room(line_b_));
  ConferenceRoom theirs;
  theirs.company_id = other_company_;
  theirs.number = "700";
  theirs.name = "Theirs";
  const std::string other_room = create(theirs);
  auto scheduled = retention::CompanyClosures(*store_, keys_, clock_).schedule(company_, "cli:test", 0);
  ASSERT_TRUE(scheduled.ok()) << scheduled.error().describe();
  retention::RunOptions options;
  options.as_of_us = kRoomStart + 1;
  auto report = retention::RetentionJobs(*store_, keys_, clock_).run(retention::Job::company_closures, options, "job:test");
  ASSERT_TRUE(report.ok()) << report.error().describe();
  EXPECT_EQ(report->changed, 1);

  EXPECT_EQ(count("SELECT COUNT(*) FROM conference_rooms WHERE company_id = ?", {company_}), 0);
  EXPECT_EQ(room_changes(company_room, "removed"), 1);
  EXPECT_EQ(room_changes(line_room_id, "removed"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM conference_rooms WHERE id = ?", {other_room}), 1)
      << "another company's room stays";
  auto line = extensions_->add_extension({other_company_, "202", "correct-horse-4", std::nullopt, "+442079460700"},
                                         "cli:test");
  EXPECT_TRUE(line.ok()) << "the DID is free again: " << line.error().describe();
}

// The member's line's own room goes when they are erased; another line's stays.
TEST_P(ConferenceTest, ErasingAMemberRemovesTheirLinesRoom) {
  const std::string theirs = create(line_room(line_a_));
  const std::string other = create(line_room(line_b_));
  const std::string company_room = create(room("700"));
  auto erased = erasure::erase_member(*store_, keys_, clock_, member_, "cli:test", "test");
  ASSERT_TRUE(erased.ok()) << erased.error().describe();
  EXPECT_EQ(count("SELECT COUNT(*) FROM conference_rooms WHERE id = ?", {theirs}), 0);
  EXPECT_EQ(room_changes(theirs, "removed"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM conference_rooms WHERE id IN (?, ?)", {other, company_room}), 2);
}

// A line removed takes its room with it, so no room is left on a line that is gone.
TEST_P(ConferenceTest, RemovingALineRemovesItsRoom) {
  const std::string id = create(line_room(line_b_));
  ASSERT_TRUE(ok(extensions_->remove(line_b_, "cli:test")));
  expect_error(rooms_->find(id), ErrorCode::not_found, "conference");
  EXPECT_EQ(room_changes(id, "removed"), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, ConferenceTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::callflow
