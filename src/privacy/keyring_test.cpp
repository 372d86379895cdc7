#include "privacy/keyring.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "common/testing.h"
#include "store/test_stores.h"

namespace privox::privacy {
namespace {

TEST(KeyringTest, MasterKeyFileIsPrivateAndStable) {
  testing::TempDir dir;
  bool created = false;
  auto first = Keyring::create_or_load(dir.file("master.key"), &created);
  ASSERT_TRUE(first.ok()) << first.error().describe();
  EXPECT_TRUE(created);
  struct stat st {};
  ASSERT_EQ(::stat(dir.file("master.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto second = Keyring::create_or_load(dir.file("master.key"), &created);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(created);
  EXPECT_EQ(first->blind_index("email", "a@b.example"), second->blind_index("email", "a@b.example"));
  EXPECT_EQ(first->audit_hash("x"), second->audit_hash("x"));
}

TEST(KeyringTest, RefusesAKeyFileOthersCanRead) {
  testing::TempDir dir;
  bool created = false;
  ASSERT_TRUE(Keyring::create_or_load(dir.file("master.key"), &created).ok());
  ::chmod(dir.file("master.key").c_str(), 0644);
  auto loaded = Keyring::load(dir.file("master.key"));
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("chmod 600"), std::string::npos);
}

TEST(KeyringTest, RefusesAFileThatIsNotAKey) {
  testing::TempDir dir;
  {
    std::ofstream out(dir.file("master.key"));
    out << "not a key\n";
  }
  ::chmod(dir.file("master.key").c_str(), 0600);
  auto loaded = Keyring::load(dir.file("master.key"));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, ErrorCode::corrupt);
}

TEST(KeyringTest, FieldsOpenOnlyForTheirSubjectAndField) {
  const SecretKey key = SecretKey::random();
  const Bytes sealed = seal_field(key, "subject-1", "email", "someone@example.org");
  EXPECT_EQ(*open_field(key, "subject-1", "email", sealed), "someone@example.org");
  EXPECT_FALSE(open_field(key, "subject-2", "email", sealed).ok());
  EXPECT_FALSE(open_field(key, "subject-1", "name", sealed).ok());
  EXPECT_FALSE(open_field(SecretKey::random(), "subject-1", "email", sealed).ok());
  Bytes tampered = sealed;
  tampered.back() ^= 1;
  EXPECT_FALSE(open_field(key, "subject-1", "email", tampered).ok());
  EXPECT_FALSE(open_field(key, "subject-1", "email", Bytes{1, 2, 3}).ok());
  // Two seals of one value differ (random nonces), so equal ciphertexts reveal nothing.
  EXPECT_NE(sealed, seal_field(key, "subject-1", "email", "someone@example.org"));
}

TEST(KeyringTest, WrappedKeysOpenOnlyWithTheirMasterAndSubject) {
  const SecretKey master = SecretKey::random();
  const Keyring keys = Keyring::from_master_for_test(master);
  const SecretKey data = SecretKey::random();
  const Bytes wrapped = keys.wrap(data, "s1");
  auto unwrapped = keys.unwrap(wrapped, "s1");
  ASSERT_TRUE(unwrapped.ok());
  EXPECT_EQ(0, sodium_memcmp(unwrapped->data(), data.data(), SecretKey::kSize));
  EXPECT_FALSE(keys.unwrap(wrapped, "s2").ok());
  EXPECT_FALSE(Keyring::from_master_for_test(SecretKey::random()).unwrap(wrapped, "s1").ok());
}

TEST(KeyringTest, BlindIndexIsKeyedAndSeparatedByField) {
  const Keyring a = Keyring::from_master_for_test(SecretKey::random());
  const Keyring b = Keyring::from_master_for_test(SecretKey::random());
  EXPECT_EQ(a.blind_index("email", "x@y.example"), a.blind_index("email", "x@y.example"));
  EXPECT_NE(a.blind_index("email", "x@y.example"), a.blind_index("phone", "x@y.example"));
  EXPECT_NE(a.blind_index("email", "x@y.example"), b.blind_index("email", "x@y.example"));
  EXPECT_EQ(a.blind_index("email", "x@y.example").size(), 32u);
}

TEST(KeyringTest, SecretsOpenOnlyForTheirPurposeAndMaster) {
  const SecretKey master = SecretKey::random();
  const Keyring keys = Keyring::from_master_for_test(master);
  const Bytes sealed = keys.seal_secret("sip-ha1-md5:line-1", "bfd88a5fecb5e08ea2fdc90012bdcd28");
  auto opened = keys.open_secret("sip-ha1-md5:line-1", sealed);
  ASSERT_TRUE(opened.ok()) << opened.error().describe();
  EXPECT_EQ(*opened, "bfd88a5fecb5e08ea2fdc90012bdcd28");
  // The purpose is bound: a value cannot be moved to another row or kind of secret.
  EXPECT_EQ(keys.open_secret("sip-ha1-md5:line-2", sealed).error().code, ErrorCode::corrupt);
  EXPECT_FALSE(keys.open_secret("sip-ha1-sha256:line-1", sealed).ok());
  EXPECT_FALSE(Keyring::from_master_for_test(SecretKey::random()).open_secret("sip-ha1-md5:line-1", sealed).ok());
  Bytes tampered = sealed;
  tampered[tampered.size() / 2] ^= 1;
  EXPECT_FALSE(keys.open_secret("sip-ha1-md5:line-1", tampered).ok());
  EXPECT_FALSE(keys.open_secret("sip-ha1-md5:line-1", Bytes(10, 0)).ok());
  EXPECT_NE(sealed, keys.seal_secret("sip-ha1-md5:line-1", "bfd88a5fecb5e08ea2fdc90012bdcd28"));
  EXPECT_TRUE(keys.open_secret("empty", keys.seal_secret("empty", "")).ok());
  // The credential key is a key of its own: neither a subject's data key nor the wrapping key opens it.
  const SecretKey data = SecretKey::random();
  EXPECT_FALSE(open_field(data, "line-1", "ha1", sealed).ok());
  EXPECT_FALSE(keys.unwrap(sealed, "line-1").ok());
}

TEST(KeyringTest, SecretsSurviveReloadingTheMasterKeyFile) {
  testing::TempDir dir;
  bool created = false;
  auto first = Keyring::create_or_load(dir.file("master.key"), &created);
  ASSERT_TRUE(first.ok());
  const Bytes sealed = first->seal_secret("p", "secret value");
  auto again = Keyring::load(dir.file("master.key"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again->open_secret("p", sealed), "secret value");
}

class SubjectKeysTest : public ::testing::TestWithParam<store::Backend> {};

TEST_P(SubjectKeysTest, DestroyedSubjectKeysReadAsErased) {
  auto test_store = store::TestStore::create(GetParam());
  ASSERT_TRUE(test_store.ok()) << test_store.error().describe();
  auto store = (*test_store)->open();
  ASSERT_TRUE((*store)->migrate().ok());
  const Keyring keys = Keyring::from_master_for_test(SecretKey::random());
  ASSERT_TRUE(store::with_transaction(**store, store::TxMode::write, [&](store::Session& s) -> Status {
                PRIVOX_TRY(subject_keys::create(s, keys, "s1", 1));
                PRIVOX_TRY(subject_keys::load(s, keys, "s1"));
                PRIVOX_ASSIGN(bool destroyed, subject_keys::destroy(s, "s1"));
                EXPECT_TRUE(destroyed);
                auto gone = subject_keys::load(s, keys, "s1");
                EXPECT_FALSE(gone.ok());
                EXPECT_EQ(gone.error().code, ErrorCode::erased);
                PRIVOX_ASSIGN(bool again, subject_keys::destroy(s, "s1"));
                EXPECT_FALSE(again);
                return {};
              }).ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, SubjectKeysTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::privacy
