#pragma once
// Per-subject encryption (P15). The master key lives in a file of its own (mode 0600) beside the
// store, never in it. From it, libsodium's KDF derives four keys: one wraps each subject's random
// data key, one keys the BLAKE2b blind indexes used for equality look-ups (email, phone), one
// keys the audit chain's hashes, and one seals credentials that belong to no person (a phone
// line's digest HA1s). Personal fields are sealed with XChaCha20-Poly1305 under the
// subject's data key, bound to the subject and field by the associated data, so a ciphertext
// cannot be moved to another row or column. Destroying a subject's wrapped key (crypto-shredding)
// leaves every copy of their fields, in backups too, undecryptable.
//
// Thread-safety: a Keyring is immutable after load and may be shared between threads.

#include <sodium.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>

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

  // Keyed BLAKE2b-256 for the audit chain.
  std::string audit_hash(std::string_view message) const;

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
}  // namespace subject_keys

}  // namespace privox::privacy
