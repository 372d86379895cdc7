#include "ledgers/disclosures.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "accounts/trunks.h"
#include "common/ids.h"
#include "store/test_stores.h"
#include "erasure/erasure.h"

namespace privox::ledgers {
namespace {

class DisclosureRegisterTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    accounts_ = std::make_unique<accounts::Accounts>(*store_, keys_, clock_);
    register_ = std::make_unique<DisclosureRegister>(*store_, keys_, clock_);
    auto company = accounts_->add_company({"Acme Ltd", "eea", ""}, "cli:test");
    ASSERT_TRUE(company.ok()) << company.error().describe();
    company_ = *company;
    ada_ = add_member("Ada Lovelace", "ada@example.org");
    bob_ = add_member("Bob Babbage", "bob@example.org");
  }

  std::string add_member(const std::string& name, const std::string& email) {
    auto id = accounts_->add_member(company_,
                                    {{"name", name}, {"email", email}, {"phone", "020 7946 0958"},
                                     {"address", "1 High St"}, {"birth_date", "1990-01-31"},
                                     {"payment_token", "tok_abcdef"}},
                                    "cli:test");
    EXPECT_TRUE(id.ok()) << id.error().describe();
    return id.ok() ? *id : "";
  }

  int64_t count(const std::string& sql, const store::Params& params = {}) {
    auto tx = store_->begin(store::TxMode::read);
    return (*tx)->query(sql, params)->at(0).i64(0);
  }

  // A call of `extension_id`'s line that `trunk_id` carried, as traffic/ records it.
  void record_call(const std::string& extension_id, const std::string& trunk_id) {
    ASSERT_TRUE(store::with_transaction(*store_, store::TxMode::write, [&](store::Session& s) -> Status {
                  PRIVOX_TRY(s.exec("INSERT INTO traffic_records (id, company_id, subject_id, direction, kind, "
                                    "started_at_us, outcome, trunk_id, updated_at_us) VALUES "
                                    "(?, ?, ?, 'outbound', 'voice', ?, 'answered', ?, ?)",
                                    {new_id(clock_.now_us()), company_, extension_id, clock_.now_us(), trunk_id,
                                     clock_.now_us()}));
                  return {};
                }).ok());
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{1'795'000'000'000'000};
  std::unique_ptr<accounts::Accounts> accounts_;
  std::unique_ptr<DisclosureRegister> register_;
  std::string company_, ada_, bob_;
};

TEST_P(DisclosureRegisterTest, EntriesAreValidatedByKind) {
  NewDisclosure entry{"Metropolitan Police", DisclosureKind::authority, {privacy::Category::traffic},
                      privacy::LegalBasis::legal_obligation, "", "", {ada_}, ""};
  auto refused = register_->record(entry, "cli:test");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().field, "reference");
  entry.reference = "production order 2026/114";
  auto id = register_->record(entry, "cli:test");
  ASSERT_TRUE(id.ok()) << id.error().describe();

  NewDisclosure transfer{"US store", DisclosureKind::region_transfer, {privacy::Category::identity_contact},
                         privacy::LegalBasis::contract, "", "", {}, ""};
  EXPECT_EQ(register_->record(transfer, "t").error().field, "safeguard");
  NewDisclosure nameless{"", DisclosureKind::supplier, {privacy::Category::traffic}, privacy::LegalBasis::contract, "", "", {}, ""};
  EXPECT_EQ(register_->record(nameless, "t").error().field, "recipient");
  NewDisclosure uncategorised{"Mailer Inc", DisclosureKind::supplier, {}, privacy::LegalBasis::contract, "", "", {}, ""};
  EXPECT_EQ(register_->record(uncategorised, "t").error().field, "categories");
  NewDisclosure stranger{"Mailer Inc", DisclosureKind::supplier, {privacy::Category::identity_contact}, privacy::LegalBasis::contract,
                         "", "", {"0190e2a1-0000-7000-8000-000000000000"}, ""};
  EXPECT_EQ(register_->record(stranger, "t").error().code, ErrorCode::not_found);
  EXPECT_EQ(register_->record(stranger, "t").error().field, "member");
  EXPECT_EQ(count("SELECT COUNT(*) FROM disclosures"), 1);

  auto listed = register_->list();
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->at(0).id, *id);
  EXPECT_EQ(listed->at(0).reference, "production order 2026/114");
  EXPECT_EQ(listed->at(0).subject_ids, std::vector<std::string>{ada_});
  EXPECT_EQ(listed->at(0).categories, std::vector<privacy::Category>{privacy::Category::traffic});
  EXPECT_EQ(listed->at(0).recorded_by, "cli:test");
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit_log WHERE action = 'disclosure.record'"), 1);
}

TEST_P(DisclosureRegisterTest, ListFiltersByKindTimeAndSubject) {
  NewDisclosure supplier{"Mailer Inc", DisclosureKind::supplier, {privacy::Category::identity_contact}, privacy::LegalBasis::contract,
                         "", "", {ada_, bob_}, ""};
  ASSERT_TRUE(register_->record(supplier, "t").ok());
  clock_.advance_us(10'000'000);
  const int64_t later = clock_.now_us();
  NewDisclosure police{"Police", DisclosureKind::authority, {privacy::Category::traffic}, privacy::LegalBasis::legal_obligation,
                       "order 7", "", {bob_}, ""};
  ASSERT_TRUE(register_->record(police, "t").ok());

  EXPECT_EQ(register_->list({DisclosureKind::authority, {}, {}})->size(), 1u);
  EXPECT_EQ(register_->list({{}, later, {}})->at(0).recipient, "Police");
  EXPECT_EQ(register_->list({{}, {}, ada_})->size(), 1u);
  EXPECT_EQ(register_->list({{}, {}, bob_})->size(), 2u);
  EXPECT_EQ(register_->list({DisclosureKind::buyer, {}, {}})->size(), 0u);
}

TEST_P(DisclosureRegisterTest, AddingATrunkRegistersItsCarrierAndAboutFindsItThroughTraffic) {
  auto trunk = register_->add_carrier_trunk("carrier-one", "203.0.113.5:5060", true, "cli:test");
  ASSERT_TRUE(trunk.ok()) << trunk.error().describe();
  auto carriers = register_->list({DisclosureKind::carrier, {}, {}});
  ASSERT_TRUE(carriers.ok());
  ASSERT_EQ(carriers->size(), 1u);
  EXPECT_EQ(carriers->at(0).recipient, "carrier-one");
  EXPECT_EQ(carriers->at(0).trunk_id, *trunk);
  EXPECT_EQ(carriers->at(0).basis, privacy::LegalBasis::contract);
  EXPECT_EQ(carriers->at(0).categories, std::vector<privacy::Category>{privacy::Category::traffic});

  accounts::Extensions extensions(*store_, keys_, clock_);
  auto line = extensions.add_extension({company_, "201", "correct-horse-9", ada_, std::nullopt}, "cli:test");
  ASSERT_TRUE(line.ok()) << line.error().describe();
  EXPECT_TRUE(register_->about(ada_)->empty());  // no call went through the carrier yet

  clock_.advance_us(1000);  // entries of the same millisecond have no defined order
  NewDisclosure supplier{"Mailer Inc", DisclosureKind::supplier, {privacy::Category::identity_contact}, privacy::LegalBasis::contract,
                         "", "", {ada_, bob_}, ""};
  ASSERT_TRUE(register_->record(supplier, "t").ok());
  record_call(*line, *trunk);
  auto about = register_->about(ada_);
  ASSERT_TRUE(about.ok()) << about.error().describe();
  ASSERT_EQ(about->size(), 2u);
  EXPECT_EQ(about->at(0).kind, DisclosureKind::carrier);
  EXPECT_TRUE(about->at(0).subject_ids.empty());
  EXPECT_EQ(about->at(1).kind, DisclosureKind::supplier);
  // An access export must not list the other people an entry named.
  EXPECT_EQ(about->at(1).subject_ids, std::vector<std::string>{ada_});
  EXPECT_EQ(register_->about(bob_)->size(), 1u);
}

TEST_P(DisclosureRegisterTest, ARegionTransferNeedsASafeguardAndIsRegistered) {
  auto refused = register_->transfer_company_region(company_, "us", "", "cli:test");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().field, "safeguard");
  EXPECT_EQ(accounts_->company(company_)->region, "eea");
  EXPECT_EQ(register_->transfer_company_region(company_, "mars", "scc", "t").error().field, "to");
  EXPECT_EQ(register_->transfer_company_region(company_, "eea", "scc", "t").error().code, ErrorCode::conflict);
  EXPECT_EQ(register_->transfer_company_region("0190e2a1-0000-7000-8000-000000000000", "us", "scc", "t").error().field,
            "company");

  auto moved = register_->transfer_company_region(company_, "us", "standard contractual clauses, signed 2026-05-01",
                                                  "cli:test");
  ASSERT_TRUE(moved.ok()) << moved.error().describe();
  EXPECT_EQ(moved->from_region, "eea");
  EXPECT_EQ(moved->members, 2);
  EXPECT_EQ(accounts_->company(company_)->region, "us");
  auto entries = register_->list({DisclosureKind::region_transfer, {}, {}});
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ(entries->at(0).id, moved->disclosure_id);
  EXPECT_EQ(entries->at(0).safeguard, "standard contractual clauses, signed 2026-05-01");
  EXPECT_EQ(entries->at(0).subject_ids.size(), 2u);
}

TEST_P(DisclosureRegisterTest, ABusinessSaleExportsTheCustomerBaseAndRegistersTheBuyer) {
  const std::string erased = add_member("Eve Erased", "eve@example.org");
  ASSERT_TRUE(erasure::erase_member(*store_, keys_, clock_, erased, "cli:test", "test").ok());
  const testing::TempDir out;
  const std::string path = out.file("customers.json");

  EXPECT_EQ(register_->business_sale_export("", path, "t").error().field, "buyer");
  EXPECT_EQ(register_->business_sale_export("Buyer plc", "/nonexistent-dir/x.json", "t").error().field, "out");
  EXPECT_EQ(count("SELECT COUNT(*) FROM disclosures WHERE kind = 'buyer'"), 0);

  auto sale = register_->business_sale_export("Buyer plc", path, "cli:test");
  ASSERT_TRUE(sale.ok()) << sale.error().describe();
  EXPECT_EQ(sale->companies, 1);
  EXPECT_EQ(sale->members, 2);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(path);
  const auto file = nlohmann::json::parse(in);
  EXPECT_EQ(file["buyer"], "Buyer plc");
  EXPECT_EQ(file["disclosure_id"], sale->disclosure_id);
  ASSERT_EQ(file["companies"].size(), 1u);
  const auto& members = file["companies"][0]["members"];
  ASSERT_EQ(members.size(), 2u);
  std::set<std::string> names;
  for (const auto& m : members) names.insert(m["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"Ada Lovelace", "Bob Babbage"}));
  EXPECT_EQ(members[0].count("payment_token"), 0u);  // contact fields only

  auto entry = register_->list({DisclosureKind::buyer, {}, {}});
  ASSERT_EQ(entry->size(), 1u);
  EXPECT_EQ(entry->at(0).recipient, "Buyer plc");
  EXPECT_EQ(entry->at(0).subject_ids.size(), 2u);
  EXPECT_EQ(std::count(entry->at(0).subject_ids.begin(), entry->at(0).subject_ids.end(), erased), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit_log WHERE action = 'member.export' AND purpose = 'legal'"), 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, DisclosureRegisterTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::ledgers
