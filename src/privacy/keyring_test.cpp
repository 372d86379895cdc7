#include "privacy/keyring.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <thread>
#include <vector>

#include <fmt/format.h>

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

TEST(KeyringTest, ACachedUnwrapIsServedOnlyForTheSameSubjectAndWrappedBytes) {
  const Keyring keys = Keyring::from_master_for_test(SecretKey::random());
  const SecretKey data = SecretKey::random();
  const Bytes wrapped = keys.wrap(data, "s1");
  auto first = keys.unwrap_cached(wrapped, "s1");
  ASSERT_TRUE(first.ok()) << first.error().describe();
  EXPECT_EQ(0, sodium_memcmp((*first)->data(), data.data(), SecretKey::kSize));
  EXPECT_EQ(first->get(), keys.unwrap_cached(wrapped, "s1")->get()) << "the second unwrap is the cached key";
  // Another wrapping (a replaced key) is unwrapped afresh and replaces the cached one.
  const SecretKey other = SecretKey::random();
  auto replaced = keys.unwrap_cached(keys.wrap(other, "s1"), "s1");
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(0, sodium_memcmp((*replaced)->data(), other.data(), SecretKey::kSize));
  EXPECT_NE(first->get(), replaced->get());
  // Bytes wrapped for another subject are refused even though s1's key is cached.
  EXPECT_EQ(keys.unwrap_cached(wrapped, "s2").error().code, ErrorCode::corrupt);
  Bytes tampered = wrapped;
  tampered.back() ^= 1;
  EXPECT_FALSE(keys.unwrap_cached(tampered, "s1").ok());
  EXPECT_EQ(keys.unwrapped_cached(), 1u);
  keys.forget_unwrapped("s1");
  EXPECT_EQ(keys.unwrapped_cached(), 0u);
  EXPECT_EQ(0, sodium_memcmp((*first)->data(), data.data(), SecretKey::kSize)) << "a holder keeps its key alive";
}

TEST(KeyringTest, TheUnwrapCacheIsBoundedAndDropsTheLeastRecentlyUsed) {
  const Keyring keys = Keyring::from_master_for_test(SecretKey::random());
  const SecretKey data = SecretKey::random();
  std::vector<Bytes> wrapped;
  for (size_t i = 0; i <= Keyring::kUnwrappedCacheSize; ++i) wrapped.push_back(keys.wrap(data, fmt::format("s{}", i)));
  auto oldest = keys.unwrap_cached(wrapped[0], "s0");
  auto kept = keys.unwrap_cached(wrapped[1], "s1");
  for (size_t i = 2; i < Keyring::kUnwrappedCacheSize; ++i) ASSERT_TRUE(keys.unwrap_cached(wrapped[i], fmt::format("s{}", i)).ok());
  ASSERT_EQ(kept->get(), keys.unwrap_cached(wrapped[1], "s1")->get());  // s1 is now the most recent, s0 the least
  ASSERT_EQ(keys.unwrapped_cached(), Keyring::kUnwrappedCacheSize);
  const std::string last = fmt::format("s{}", Keyring::kUnwrappedCacheSize);
  ASSERT_TRUE(keys.unwrap_cached(wrapped.back(), last).ok());
  EXPECT_EQ(keys.unwrapped_cached(), Keyring::kUnwrappedCacheSize);
  EXPECT_EQ(kept->get(), keys.unwrap_cached(wrapped[1], "s1")->get());
  EXPECT_NE(oldest->get(), keys.unwrap_cached(wrapped[0], "s0")->get()) << "s0 was dropped and unwrapped again";
}

TEST(KeyringTest, TheUnwrapCacheIsSafeFromManyThreads) {
  const Keyring keys = Keyring::from_master_for_test(SecretKey::random());
  std::vector<SecretKey> data;
  std::vector<Bytes> wrapped;
  for (int i = 0; i < 40; ++i) {
    data.push_back(SecretKey::random());
    wrapped.push_back(keys.wrap(data.back(), fmt::format("s{}", i)));
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int n = 0; n < 2000; ++n) {
        const size_t i = static_cast<size_t>((n * 7 + t) % 40);
        if (n % 97 == 0) keys.forget_unwrapped(fmt::format("s{}", i));
        auto key = keys.unwrap_cached(wrapped[i], fmt::format("s{}", i));
        if (!key.ok() || sodium_memcmp((*key)->data(), data[i].data(), SecretKey::kSize) != 0) ++wrong;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(keys.unwrapped_cached(), 40u);
}

class SubjectKeysTest : public ::testing::TestWithParam<store::Backend> {};

TEST_P(SubjectKeysTest, ReadWrappedReturnsTheStoredKeysOfLiveSubjectsOnly) {
  auto test_store = store::TestStore::create(GetParam());
  ASSERT_TRUE(test_store.ok()) << test_store.error().describe();
  auto store = (*test_store)->open();
  ASSERT_TRUE((*store)->migrate().ok());
  const Keyring keys = Keyring::from_master_for_test(SecretKey::random());
  std::vector<std::string> many;
  many.reserve(1200);
  for (int i = 0; i < 1200; ++i) many.push_back(fmt::format("absent-{}", i));  // more than one chunk
  ASSERT_TRUE(store::with_transaction(**store, store::TxMode::write, [&](store::Session& s) -> Status {
                PRIVOX_ASSIGN(SecretKey k1, subject_keys::create(s, keys, "s1", 1));
                PRIVOX_TRY(subject_keys::create(s, keys, "s2", 1));
                PRIVOX_TRY(subject_keys::create(s, keys, "s3", 1));
                PRIVOX_TRY(subject_keys::destroy(s, "s3"));
                many.insert(many.end(), {"s1", "s2", "s1", "s3"});
                PRIVOX_ASSIGN(subject_keys::WrappedKeys wrapped, subject_keys::read_wrapped(s, many));
                EXPECT_EQ(wrapped.size(), 2u);
                EXPECT_EQ(wrapped.count("s3"), 0u) << "a destroyed key is absent";
                auto opened = keys.unwrap_cached(wrapped.at("s1"), "s1");
                EXPECT_TRUE(opened.ok());
                if (opened.ok()) {
                  EXPECT_EQ(0, sodium_memcmp((*opened)->data(), k1.data(), SecretKey::kSize));
                }
                PRIVOX_ASSIGN(subject_keys::WrappedKeys none, subject_keys::read_wrapped(s, {}));
                EXPECT_TRUE(none.empty());
                return {};
              }).ok());
}

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
