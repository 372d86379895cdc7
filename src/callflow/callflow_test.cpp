#include <gtest/gtest.h>

#include "accounts/accounts.h"
#include "accounts/directory_log.h"
#include "accounts/extensions.h"
#include "callflow/forwarding.h"
#include "callflow/groups.h"
#include "callflow/targets.h"
#include "common/ids.h"
#include "erasure/erasure.h"
#include "privacy/export_part.h"
#include "store/test_stores.h"

namespace privox::callflow {
namespace {

constexpr int64_t kStart = 1'795'000'000'000'000;
// A UK mobile number (libphonenumber's example for GB mobiles).
constexpr std::string_view kMobile = "+447911123456";
constexpr std::string_view kPremium = "+449098790000";

// Forwarding and ring groups on a company (GB) with three lines, one of them a member's, and a
// second company with a line of its own, on both backends.
class CallflowTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    extensions = std::make_unique<accounts::Extensions>(*store_, keys_, clock_);
    forwardings = std::make_unique<Forwardings>(*store_, keys_, clock_);
    groups = std::make_unique<RingGroups>(*store_, keys_, clock_);
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
    line_a_ = add_line(company_, "101", member_);
    line_b_ = add_line(company_, "102");
    line_c_ = add_line(company_, "103");
    other_line_ = add_line(other_company_, "201");
  }

  std::string add_line(const std::string& company, const std::string& number,
                       std::optional<std::string> member = std::nullopt) {
    auto id =
        extensions->add_extension({company, number, "correct-horse-7", std::move(member), std::nullopt}, "cli:test");
    EXPECT_TRUE(id.ok()) << id.error().describe();
    return id.ok() ? *id : "";
  }

  RingGroup group(std::vector<std::string> members, std::string number = "500") {
    RingGroup g;
    g.company_id = company_;
    g.number = std::move(number);
    g.name = "Sales";
    g.strategy = Strategy::sequential;
    g.ring_seconds = 15;
    g.member_line_ids = std::move(members);
    return g;
  }

  std::string create(const RingGroup& g) {
    auto id = groups->create(g, "cli:test");
    EXPECT_TRUE(id.ok()) << id.error().describe();
    return id.ok() ? *id : "";
  }

  static Forwarding always(TargetKind kind, std::string ref) {
    Forwarding f;
    f.always = Target{kind, std::move(ref)};
    return f;
  }

  int64_t count(const std::string& sql, const store::Params& params = {}) {
    auto tx = store_->begin(store::TxMode::read);
    auto rows = (*tx)->query(sql, params);
    EXPECT_TRUE(rows.ok()) << rows.error().describe();
    return rows.ok() ? rows->at(0).i64(0) : -1;
  }

  // The latest directory change.
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
  FakeClock clock_{kStart};
  // Made in SetUp, once the store is.
  std::unique_ptr<accounts::Extensions> extensions;
  std::unique_ptr<Forwardings> forwardings;
  std::unique_ptr<RingGroups> groups;
  std::string company_, other_company_, member_, line_a_, line_b_, line_c_, other_line_;
};

TEST_P(CallflowTest, EachForwardingErrorNamesItsField) {
  expect_error(forwardings->set("not-an-id", {}, "cli:test"), ErrorCode::invalid_argument, "line");
  expect_error(forwardings->get(new_id(kStart)), ErrorCode::not_found, "line");
  Forwarding slow;
  slow.no_answer_seconds = kMinNoAnswerSeconds - 1;
  expect_error(forwardings->set(line_a_, slow, "cli:test"), ErrorCode::invalid_argument, "no_answer_seconds");
  Forwarding elsewhere;
  elsewhere.busy = Target{TargetKind::line, other_line_};
  expect_error(forwardings->set(line_a_, elsewhere, "cli:test"), ErrorCode::not_found, "busy");
  Forwarding box;
  box.no_answer = Target{TargetKind::voicemail, other_line_};
  expect_error(forwardings->set(line_a_, box, "cli:test"), ErrorCode::not_found, "no_answer");
  Forwarding premium;
  premium.unregistered = Target{TargetKind::external, std::string(kPremium)};
  expect_error(forwardings->set(line_a_, premium, "cli:test"), ErrorCode::invalid_argument, "unregistered");
  Forwarding nonsense;
  nonsense.always = Target{TargetKind::external, "12"};
  expect_error(forwardings->set(line_a_, nonsense, "cli:test"), ErrorCode::invalid_argument, "always");
  Forwarding no_group;
  no_group.busy = Target{TargetKind::group, line_b_};
  expect_error(forwardings->set(line_a_, no_group, "cli:test"), ErrorCode::not_found, "busy");
  EXPECT_EQ(count("SELECT COUNT(*) FROM line_forwarding"), 0) << "nothing refused was written";
}

TEST_P(CallflowTest, ResolvingATargetNamesTheField) {
  auto tx = store_->begin(store::TxMode::read);
  ASSERT_TRUE(tx.ok());
  auto line = resolve_target(**tx, company_, TargetKind::line, "102", "busy.number");
  ASSERT_TRUE(line.ok()) << line.error().describe();
  EXPECT_EQ(*line, (Target{TargetKind::line, line_b_}));
  auto national = resolve_target(**tx, company_, TargetKind::external, "07911 123456", "busy.number");
  ASSERT_TRUE(national.ok()) << national.error().describe();
  EXPECT_EQ(national->ref, kMobile) << "a national number is read in the company's country";
  expect_error(resolve_target(**tx, company_, TargetKind::line, "201", "busy.number"), ErrorCode::not_found,
               "busy.number");
  expect_error(resolve_target(**tx, company_, TargetKind::group, "5x", "overflow.number"), ErrorCode::invalid_argument,
               "overflow.number");
  expect_error(resolve_target(**tx, company_, TargetKind::external, "0909 879 0000", "always.number"),
               ErrorCode::invalid_argument, "always.number");
  auto shown = target_number(**tx, *line);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(*shown, "102");
}

TEST_P(CallflowTest, AForwardingIsKeptAndShownAndDndSwitches) {
  Forwarding f;
  f.busy = Target{TargetKind::voicemail, line_a_};
  f.no_answer = Target{TargetKind::line, line_b_};
  f.no_answer_seconds = 30;
  ASSERT_TRUE(ok(forwardings->set(line_a_, f, "cli:test")));
  auto got = forwardings->get(line_a_);
  ASSERT_TRUE(got.ok()) << got.error().describe();
  EXPECT_EQ(*got, f);
  EXPECT_EQ(last_change().kind, accounts::DirectoryItem::extension);
  EXPECT_EQ(last_change().item_id, line_a_);
  EXPECT_EQ(last_change().change, "forwarding");

  ASSERT_TRUE(ok(forwardings->set_dnd(line_b_, true, "cli:test")));
  EXPECT_TRUE(forwardings->get(line_b_)->dnd);
  EXPECT_EQ(last_change().item_id, line_b_);
  EXPECT_EQ(last_change().change, "dnd");
  ASSERT_TRUE(ok(forwardings->set_dnd(line_b_, false, "cli:test")));
  EXPECT_FALSE(forwardings->get(line_b_)->dnd);
  EXPECT_EQ(count("SELECT COUNT(*) FROM line_forwarding WHERE line_id = ?", {line_b_}), 0)
      << "a line with nothing on has no row";

  auto tx = store_->begin(store::TxMode::read);
  auto all = all_forwarding(**tx, keys_);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].line_id, line_a_);
}

TEST_P(CallflowTest, AnExternalNumberIsSealedUnderTheLinesKey) {
  Forwarding f;
  f.always = Target{TargetKind::external, "07911 123456"};
  ASSERT_TRUE(ok(forwardings->set(line_a_, f, "cli:test")));
  auto got = forwardings->get(line_a_);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->always);
  EXPECT_EQ(got->always->ref, kMobile) << "stored in E.164 and opened again";
  // Neither the table, the audit entry nor the directory change holds it in clear.
  const std::string everything = test_store_->everything_stored(*store_, "line_forwarding");
  EXPECT_FALSE(test_store_->holds_bytes(everything, Bytes(kMobile.begin(), kMobile.end())));
  const std::string national = "7911123456";
  EXPECT_FALSE(test_store_->holds_bytes(everything, Bytes(national.begin(), national.end())));

  // The line's key gone, the external target is dropped, the rest kept.
  {
    auto tx = store_->begin(store::TxMode::write);
    ASSERT_TRUE(privacy::subject_keys::destroy(**tx, line_a_).ok());
    ASSERT_TRUE((*tx)->commit().ok());
  }
  auto tx = store_->begin(store::TxMode::read);
  auto after = forwarding_of(**tx, keys_, line_a_);
  ASSERT_TRUE(after.ok());
  ASSERT_TRUE(after->has_value());
  EXPECT_FALSE((*after)->always);
}

TEST_P(CallflowTest, AlwaysForwardsThatLoopAreRefused) {
  ASSERT_TRUE(ok(forwardings->set(line_a_, always(TargetKind::line, line_b_), "cli:test")));
  expect_error(forwardings->set(line_b_, always(TargetKind::line, line_a_), "cli:test"), ErrorCode::conflict, "always");
  expect_error(forwardings->set(line_c_, always(TargetKind::line, line_c_), "cli:test"), ErrorCode::conflict, "always");
  // A chain that ends is fine; a loop through busy is the proxy's hop limit's to cut.
  ASSERT_TRUE(ok(forwardings->set(line_c_, always(TargetKind::line, line_a_), "cli:test")));
  Forwarding busy;
  busy.busy = Target{TargetKind::line, line_a_};
  EXPECT_TRUE(ok(forwardings->set(line_b_, busy, "cli:test")));

  // c -> a already; a -> group whose overflow is c closes a circle of three.
  RingGroup g = group({line_b_});
  g.overflow = Target{TargetKind::line, line_c_};
  const std::string gid = create(g);
  expect_error(forwardings->set(line_a_, always(TargetKind::group, gid), "cli:test"), ErrorCode::conflict, "always");
  EXPECT_EQ(forwardings->get(line_a_)->always, (Target{TargetKind::line, line_b_}))
      << "the refused change left nothing";
}

TEST_P(CallflowTest, ALineForwardingToAGroupThatOverflowsBackIsRefused) {
  RingGroup g = group({line_b_});
  g.overflow = Target{TargetKind::line, line_a_};
  const std::string gid = create(g);
  expect_error(forwardings->set(line_a_, always(TargetKind::group, gid), "cli:test"), ErrorCode::conflict, "always");
  // The other way round: A -> group first, then the group's overflow -> A.
  RingGroup h = group({line_c_}, "501");
  const std::string hid = create(h);
  ASSERT_TRUE(ok(forwardings->set(line_b_, always(TargetKind::group, hid), "cli:test")));
  h.id = hid;
  h.overflow = Target{TargetKind::line, line_b_};
  expect_error(groups->update(h, "cli:test"), ErrorCode::conflict, "overflow");
  h.overflow = Target{TargetKind::group, hid};
  expect_error(groups->update(h, "cli:test"), ErrorCode::conflict, "overflow");
}

TEST_P(CallflowTest, EachGroupErrorNamesItsField) {
  RingGroup g = group({line_a_});
  g.company_id = "nope";
  expect_error(groups->create(g, "cli:test"), ErrorCode::invalid_argument, "company");
  g = group({line_a_}, "5");
  expect_error(groups->create(g, "cli:test"), ErrorCode::invalid_argument, "number");
  g = group({line_a_}, "101");
  expect_error(groups->create(g, "cli:test"), ErrorCode::conflict, "number");
  g = group({line_a_});
  g.name = "";
  expect_error(groups->create(g, "cli:test"), ErrorCode::invalid_argument, "name");
  g.name = std::string(kMaxGroupName + 1, 'x');
  expect_error(groups->create(g, "cli:test"), ErrorCode::invalid_argument, "name");
  g = group({line_a_});
  g.ring_seconds = kMaxRingSeconds + 1;
  expect_error(groups->create(g, "cli:test"), ErrorCode::invalid_argument, "ring_seconds");
  expect_error(groups->create(group({}), "cli:test"), ErrorCode::invalid_argument, "members");
  expect_error(groups->create(group({line_a_, line_a_}), "cli:test"), ErrorCode::invalid_argument, "members");
  expect_error(groups->create(group({line_a_, other_line_}), "cli:test"), ErrorCode::not_found, "members");
  g = group({line_a_});
  g.overflow = Target{TargetKind::external, std::string(kPremium)};
  expect_error(groups->create(g, "cli:test"), ErrorCode::invalid_argument, "overflow");
  g.overflow = Target{TargetKind::line, other_line_};
  expect_error(groups->create(g, "cli:test"), ErrorCode::not_found, "overflow");
  create(group({line_a_}));
  expect_error(groups->create(group({line_b_}), "cli:test"), ErrorCode::conflict, "number");
  EXPECT_EQ(count("SELECT COUNT(*) FROM ring_groups"), 1);
}

TEST_P(CallflowTest, AGroupKeepsItsMembersInOrderThroughItsLife) {
  RingGroup g = group({line_c_, line_a_, line_b_});
  g.overflow = Target{TargetKind::external, "+442079460000"};
  const std::string id = create(g);
  EXPECT_EQ(last_change().kind, accounts::DirectoryItem::ring_group);
  EXPECT_EQ(last_change().item_id, id);
  EXPECT_EQ(last_change().change, "added");

  auto found = groups->find(id);
  ASSERT_TRUE(found.ok()) << found.error().describe();
  g.id = id;
  EXPECT_EQ(*found, g);

  g.member_line_ids = {line_b_, line_c_};
  g.name = "Support";
  g.strategy = Strategy::round_robin;
  g.overflow = Target{TargetKind::voicemail, line_a_};
  ASSERT_TRUE(ok(groups->update(g, "cli:test")));
  EXPECT_EQ(*groups->find(id), g);
  EXPECT_EQ(last_change().change, "updated");

  auto listed = groups->list(company_);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0], g);
  EXPECT_TRUE(groups->list(other_company_)->empty());

  ASSERT_TRUE(ok(groups->remove(id, "cli:test")));
  expect_error(groups->find(id), ErrorCode::not_found, "group");
  EXPECT_EQ(last_change().kind, accounts::DirectoryItem::ring_group);
  EXPECT_EQ(last_change().change, "removed");
  EXPECT_EQ(count("SELECT COUNT(*) FROM ring_group_members"), 0);
}

TEST_P(CallflowTest, AGroupIsNotRemovedWhileSomethingSendsCallsToIt) {
  const std::string target = create(group({line_a_}));
  Forwarding f;
  f.no_answer = Target{TargetKind::group, target};
  ASSERT_TRUE(ok(forwardings->set(line_b_, f, "cli:test")));
  expect_error(groups->remove(target, "cli:test"), ErrorCode::conflict, "group");
  ASSERT_TRUE(ok(forwardings->set(line_b_, {}, "cli:test")));
  RingGroup other = group({line_c_}, "600");
  other.overflow = Target{TargetKind::group, target};
  const std::string other_id = create(other);
  expect_error(groups->remove(target, "cli:test"), ErrorCode::conflict, "group");
  ASSERT_TRUE(ok(groups->remove(other_id, "cli:test")));
  EXPECT_TRUE(ok(groups->remove(target, "cli:test")));
}

TEST_P(CallflowTest, ARemovedLineTakesItsForwardingAndGroupPlacesWithIt) {
  Forwarding own;
  own.busy = Target{TargetKind::external, std::string(kMobile)};
  own.dnd = true;
  ASSERT_TRUE(ok(forwardings->set(line_b_, own, "cli:test")));
  ASSERT_TRUE(ok(forwardings->set(line_a_, always(TargetKind::line, line_b_), "cli:test")));
  const std::string gid = create(group({line_a_, line_b_, line_c_}));

  ASSERT_TRUE(ok(extensions->remove(line_b_, "cli:test")));
  EXPECT_EQ(count("SELECT COUNT(*) FROM line_forwarding WHERE line_id = ?", {line_b_}), 0);
  EXPECT_EQ(groups->find(gid)->member_line_ids, (std::vector<std::string>{line_a_, line_c_}));
  // A's forward still names B: the proxy falls back, and B's id is what there is to show.
  auto a = forwardings->get(line_a_);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->always);
  {
    auto tx = store_->begin(store::TxMode::read);
    auto shown = target_number(**tx, *a->always);
    ASSERT_TRUE(shown.ok());
    EXPECT_EQ(*shown, line_b_);
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM directory_changes WHERE kind = 'ring_group' AND item_id = ? AND "
                  "change = 'member_removed'",
                  {gid}),
            1);
}

TEST_P(CallflowTest, ErasingTheMemberDeletesTheirLinesForwarding) {
  Forwarding f;
  f.unregistered = Target{TargetKind::external, std::string(kMobile)};
  ASSERT_TRUE(ok(forwardings->set(line_a_, f, "cli:test")));
  ASSERT_TRUE(ok(forwardings->set_dnd(line_c_, true, "cli:test")));
  auto erased = erasure::erase_member(*store_, keys_, clock_, member_, "cli:test", "test");
  ASSERT_TRUE(erased.ok()) << erased.error().describe();
  EXPECT_EQ(count("SELECT COUNT(*) FROM line_forwarding WHERE line_id = ?", {line_a_}), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM line_forwarding WHERE line_id = ?", {line_c_}), 1) << "not the member's line";
}

TEST_P(CallflowTest, TheMembersAccessExportHoldsTheirLinesForwarding) {
  Forwarding f;
  f.busy = Target{TargetKind::external, std::string(kMobile)};
  f.no_answer = Target{TargetKind::line, line_b_};
  ASSERT_TRUE(ok(forwardings->set(line_a_, f, "cli:test")));
  ASSERT_TRUE(ok(forwardings->set_dnd(line_c_, true, "cli:test")));
  const auto& parts = privacy::export_participants();
  const auto part = std::find_if(parts.begin(), parts.end(), [](const auto& p) { return p.name == "callflow"; });
  ASSERT_NE(part, parts.end()) << "the composition root installs callflow's export part";
  auto tx = store_->begin(store::TxMode::read);
  ASSERT_TRUE(tx.ok());
  auto files = part->add({member_, company_}, {**tx, keys_, kStart});
  ASSERT_TRUE(files.ok()) << files.error().describe();
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].name, "forwarding.json");
  const std::string& json = (*files)[0].content;
  EXPECT_NE(json.find(kMobile), std::string::npos) << "the member's own number, opened";
  EXPECT_NE(json.find("\"102\""), std::string::npos) << "an internal target by its number";
  EXPECT_EQ(json.find(line_c_), std::string::npos) << "another line's forwarding is not the member's";
}

INSTANTIATE_TEST_SUITE_P(Backends, CallflowTest, ::testing::Values(store::Backend::sqlite, store::Backend::postgresql),
                         store::backend_name);

}  // namespace
}  // namespace privox::callflow
