#pragma once
// Per-subject encryption (P15). The master key lives in a file of its own (mode 0600) beside the
// store, never in it. From it, libsodium's KDF derives five keys: one wraps each subject's random
// data key, one keys the BLAKE2b blind indexes used for equality look-ups (email, phone), one
// keys the audit chain's hashes, one seals credentials that belong to no person (a phone line's
// digest HA1s), and one keys the MACs of tokens privox hands out (unsubscribe links). Personal
// fields are sealed with XChaCha20-Poly1305 under the subject's data key, bound to the subject and
// field by the associated data, so a ciphertext cannot be moved to another row or column.
// Destroying a subject's wrapped key (crypto-shredding) leaves every copy of their fields
// undecryptable, in snapshots taken after it too; a snapshot taken before still holds the wrapped
// key, which is why snapshots never hold the master key and expire (README, Backups and keys).
//
// Thread-safety: a Keyring is immutable after load and may be shared between threads; its cache
// of unwrapped subject keys (unwrap_cached) locks internally.

#include <sodium.h>

#include <array>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "store/store.h"

namespace privox::privacy {

// 32 bytes in locked memory, wiped when freed.
class SecretKey {
 public:
  static constexpr size_t kSize = 32;
  SecretKey();
  ~SecretKey();
  SecretKey(SecretKey&& other) noexcept : bytes_(std::exchange(other.bytes_, nullptr)) {}
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;

  static SecretKey random();
  uint8_t* data() { return bytes_; }
  const uint8_t* data() const { return bytes_; }

 private:
  uint8_t* bytes_;
};

class SubjectKeyCache;  // keyring.cpp

class Keyring {
 public:
  // Creates the master key file if it does not exist (mode 0600, never overwritten), else loads it.
  // `created` tells which happened.
  static Result<Keyring> create_or_load(const std::string& path, bool* created);
  // Loads an existing master key file; refuses one that others can read.
  static Result<Keyring> load(const std::string& path);
  // A keyring from a given master key, for tests.
  static Keyring from_master_for_test(const SecretKey& master);

  // Keyed BLAKE2b-256 of a normalised value; `field` separates the index domains.
  Bytes blind_index(std::string_view field, std::string_view normalised) const;

  Bytes wrap(const SecretKey& data_key, std::string_view subject_id) const;
  Result<SecretKey> unwrap(const Bytes& wrapped, std::string_view subject_id) const;

  // unwrap(), remembered: the result is kept in a bounded cache (kUnwrappedCacheSize subjects,
  // least recently used dropped first) shared by copies of this keyring, and returned again only
  // for the same subject AND the same wrapped bytes. Pass the wrapped key exactly as read from
  // subject_keys in the caller's transaction (subject_keys::read_wrapped): a destroyed key has no
  // row, so the caller never asks, and a replaced key has other bytes, so crypto-shredding stays
  // exact; the cache only saves the unwrap and the guarded allocation. `corrupt` as unwrap().
  static constexpr size_t kUnwrappedCacheSize = 1024;
  Result<std::shared_ptr<const SecretKey>> unwrap_cached(const Bytes& wrapped, std::string_view subject_id) const;
  // Drops the subject's key from that cache, wiping it once no caller holds it (call when the
  // subject's key row is found gone). A no-op when it is not cached.
  void forget_unwrapped(std::string_view subject_id) const;
  // How many subjects' keys the cache holds now (tests, diagnostics).
  size_t unwrapped_cached() const;

  // Keyed BLAKE2b-256 for the audit chain.
  std::string audit_hash(std::string_view message) const;

  // Keyed BLAKE2b-256 under a master-derived key of its own, for tokens privox hands out and must
  // recognise later (the unsubscribe links in marketing email): `domain` separates the kinds of
  // token. Returns kTokenMacBytes raw bytes; compare with sodium_memcmp, never ==.
  static constexpr size_t kTokenMacBytes = 32;
  std::string token_mac(std::string_view domain, std::string_view message) const;

  // Seals a credential (nonce || ciphertext || tag, XChaCha20-Poly1305) under the master-derived
  // credential key. `purpose` is bound as associated data, so a sealed value opens only for the
  // purpose it was sealed for: name the kind of secret and the row it belongs to, e.g.
  // "sip-ha1-md5:<extension id>". Unlike seal_field, erasing a subject does not shred these.
  Bytes seal_secret(std::string_view purpose, std::string_view plaintext) const;
  // `corrupt` when the value was sealed for another purpose, by another master key, or altered.
  Result<std::string> open_secret(std::string_view purpose, const Bytes& sealed) const;

 private:
  explicit Keyring(const SecretKey& master);

  std::shared_ptr<SecretKey> wrap_key_;   // shared: copies of a Keyring share the immutable keys
  std::shared_ptr<SecretKey> index_key_;
  std::shared_ptr<SecretKey> audit_key_;
  std::shared_ptr<SecretKey> secret_key_;
  std::shared_ptr<SecretKey> token_key_;
  std::shared_ptr<SubjectKeyCache> unwrapped_;
};

// Seals one field value for a subject; the result is nonce || ciphertext || tag.
Bytes seal_field(const SecretKey& data_key, std::string_view subject_id, std::string_view field,
                 std::string_view plaintext);
Result<std::string> open_field(const SecretKey& data_key, std::string_view subject_id, std::string_view field,
                               const Bytes& sealed);

// The subject_keys table.
namespace subject_keys {
Result<SecretKey> create(store::Session& s, const Keyring& keys, std::string_view subject_id, int64_t now_us);
// `erased` when the key was destroyed (or never existed).
Result<SecretKey> load(store::Session& s, const Keyring& keys, std::string_view subject_id);
// Returns true when a key was destroyed, false when there was none.
Result<bool> destroy(store::Session& s, std::string_view subject_id);

// The wrapped data keys of these subjects as the store holds them now, read inside the caller's
// transaction (duplicates allowed, any number of ids); open them with Keyring::unwrap_cached once
// the transaction is over. A subject whose key was destroyed (or never existed) is absent from the
// map. Errors are store errors only.
using WrappedKeys = std::map<std::string, Bytes, std::less<>>;
Result<WrappedKeys> read_wrapped(store::Session& s, const std::vector<std::string>& subject_ids);

// The data keys of these subjects, as the store holds them now: read_wrapped() in the caller's
// transaction, opened through Keyring::unwrap_cached, so that a key is unwrapped once while it
// stays in that bounded cache and never served after it was destroyed or replaced. A subject
// whose key row is gone (erased) is absent, and the cache forgets it; so is one whose key does not
// unwrap (another master key). Errors are store errors only.
using OpenKeys = std::map<std::string, std::shared_ptr<const SecretKey>, std::less<>>;
Result<OpenKeys> load_cached(store::Session& s, const Keyring& keys, const std::vector<std::string>& subject_ids);
}  // namespace subject_keys

}  // namespace privox::privacy
