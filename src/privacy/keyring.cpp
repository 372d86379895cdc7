#include "privacy/keyring.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <stdexcept>

namespace privox::privacy {
namespace {

constexpr char kFileMagic[] = "privox-master-key-v1";
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "privoxMK";
enum SubkeyId : uint64_t { kWrapKey = 1, kIndexKey = 2, kAuditKey = 3, kSecretKey = 4 };

std::shared_ptr<SecretKey> derive(const SecretKey& master, SubkeyId id) {
  auto key = std::make_shared<SecretKey>();
  crypto_kdf_derive_from_key(key->data(), SecretKey::kSize, id, kKdfContext, master.data());
  return key;
}

std::string key_ad(std::string_view subject_id) { return fmt::format("privox-subject-key:{}", subject_id); }
std::string field_ad(std::string_view subject_id, std::string_view field) {
  return fmt::format("privox-field:{}:{}", subject_id, field);
}
std::string secret_ad(std::string_view purpose) { return fmt::format("privox-secret:{}", purpose); }

Bytes aead_seal(const uint8_t* key, std::string_view ad, const uint8_t* msg, size_t len) {
  Bytes out(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + len + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  uint8_t* nonce = out.data();
  randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen, msg,
                                             len, reinterpret_cast<const uint8_t*>(ad.data()), ad.size(), nullptr,
                                             nonce, key);
  return out;
}

// Decrypts into `out` (which must hold sealed.size() - overhead bytes); false if forged or truncated.
bool aead_open(const uint8_t* key, std::string_view ad, const Bytes& sealed, uint8_t* out) {
  constexpr size_t overhead = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (sealed.size() < overhead) return false;
  unsigned long long mlen = 0;
  return crypto_aead_xchacha20poly1305_ietf_decrypt(
             out, &mlen, nullptr, sealed.data() + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
             sealed.size() - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
             reinterpret_cast<const uint8_t*>(ad.data()), ad.size(), sealed.data(), key) == 0;
}

// Opens a sealed text value; `what()` names it in an error (called only on failure).
template <class What>
Result<std::string> open_text(const uint8_t* key, std::string_view ad, const Bytes& sealed, const What& what) {
  constexpr size_t overhead = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (sealed.size() < overhead) return make_error(ErrorCode::corrupt, fmt::format("{} is truncated", what()));
  std::string out(sealed.size() - overhead, '\0');
  if (!aead_open(key, ad, sealed, reinterpret_cast<uint8_t*>(out.data())))
    return make_error(ErrorCode::corrupt, fmt::format("{} fails authentication", what()));
  return out;
}

Result<std::string> read_key_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return make_error(ErrorCode::not_found, fmt::format("cannot open master key file {}: {}", path, std::strerror(errno)));
  struct stat st {};
  std::string text(256, '\0');
  ssize_t n = -1;
  if (::fstat(fd, &st) == 0 && (st.st_mode & 077) == 0) n = ::read(fd, text.data(), text.size());
  ::close(fd);
  if ((st.st_mode & 077) != 0)
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("master key file {} can be read by other users (mode {:o}); run chmod 600 on it",
                                  path, st.st_mode & 0777));
  if (n < 0) return make_error(ErrorCode::internal, fmt::format("cannot read master key file {}", path));
  text.resize(static_cast<size_t>(n));
  return text;
}

}  // namespace

SecretKey::SecretKey() : bytes_(static_cast<uint8_t*>(sodium_malloc(kSize))) {
  if (!bytes_) throw std::bad_alloc();
}
SecretKey::~SecretKey() {
  if (bytes_) sodium_free(bytes_);
}
SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    if (bytes_) sodium_free(bytes_);
    bytes_ = std::exchange(other.bytes_, nullptr);
  }
  return *this;
}
SecretKey SecretKey::random() {
  SecretKey k;
  randombytes_buf(k.data(), kSize);
  return k;
}

Keyring::Keyring(const SecretKey& master)
    : wrap_key_(derive(master, kWrapKey)),
      index_key_(derive(master, kIndexKey)),
      audit_key_(derive(master, kAuditKey)),
      secret_key_(derive(master, kSecretKey)) {}

Keyring Keyring::from_master_for_test(const SecretKey& master) { return Keyring(master); }

Result<Keyring> Keyring::load(const std::string& path) {
  PRIVOX_ASSIGN(std::string text, read_key_file(path));
  const std::string prefix = std::string(kFileMagic) + " ";
  SecretKey master;
  size_t bin_len = 0;
  const bool good = text.rfind(prefix, 0) == 0 && text.size() >= prefix.size() + 2 * SecretKey::kSize &&
                    sodium_hex2bin(master.data(), SecretKey::kSize, text.data() + prefix.size(),
                                   2 * SecretKey::kSize, nullptr, &bin_len, nullptr) == 0 &&
                    bin_len == SecretKey::kSize;
  sodium_memzero(text.data(), text.size());
  if (!good) return make_error(ErrorCode::corrupt, fmt::format("master key file {} is not a privox master key", path));
  return Keyring(master);
}

Result<Keyring> Keyring::create_or_load(const std::string& path, bool* created) {
  *created = false;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return load(path);
    return make_error(ErrorCode::internal, fmt::format("cannot create master key file {}: {}", path, std::strerror(errno)));
  }
  SecretKey master = SecretKey::random();
  std::string text(std::string(kFileMagic) + " " + std::string(2 * SecretKey::kSize, '0') + "\n");
  sodium_bin2hex(text.data() + sizeof kFileMagic, 2 * SecretKey::kSize + 1, master.data(), SecretKey::kSize);
  text.back() = '\n';
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  sodium_memzero(text.data(), text.size());
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    return make_error(ErrorCode::internal, fmt::format("cannot write master key file {}", path));
  }
  *created = true;
  return Keyring(master);
}

Bytes Keyring::blind_index(std::string_view field, std::string_view normalised) const {
  Bytes out(32);
  crypto_generichash_state st;
  crypto_generichash_init(&st, index_key_->data(), SecretKey::kSize, out.size());
  const std::string domain = fmt::format("privox-bidx:{}:", field);
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(domain.data()), domain.size());
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(normalised.data()), normalised.size());
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

Bytes Keyring::wrap(const SecretKey& data_key, std::string_view subject_id) const {
  return aead_seal(wrap_key_->data(), key_ad(subject_id), data_key.data(), SecretKey::kSize);
}

Result<SecretKey> Keyring::unwrap(const Bytes& wrapped, std::string_view subject_id) const {
  SecretKey key;
  constexpr size_t overhead = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (wrapped.size() != overhead + SecretKey::kSize || !aead_open(wrap_key_->data(), key_ad(subject_id), wrapped, key.data()))
    return make_error(ErrorCode::corrupt,
                      fmt::format("the data key of subject {} does not open with this master key", subject_id));
  return key;
}

std::string Keyring::audit_hash(std::string_view message) const {
  uint8_t out[32];
  crypto_generichash(out, sizeof out, reinterpret_cast<const uint8_t*>(message.data()), message.size(),
                     audit_key_->data(), SecretKey::kSize);
  return to_hex(out, sizeof out);
}

Bytes Keyring::seal_secret(std::string_view purpose, std::string_view plaintext) const {
  return aead_seal(secret_key_->data(), secret_ad(purpose), reinterpret_cast<const uint8_t*>(plaintext.data()),
                   plaintext.size());
}

Result<std::string> Keyring::open_secret(std::string_view purpose, const Bytes& sealed) const {
  return open_text(secret_key_->data(), secret_ad(purpose), sealed,
                   [&] { return fmt::format("the secret sealed for {}", purpose); });
}

Bytes seal_field(const SecretKey& data_key, std::string_view subject_id, std::string_view field,
                 std::string_view plaintext) {
  return aead_seal(data_key.data(), field_ad(subject_id, field), reinterpret_cast<const uint8_t*>(plaintext.data()),
                   plaintext.size());
}

Result<std::string> open_field(const SecretKey& data_key, std::string_view subject_id, std::string_view field,
                               const Bytes& sealed) {
  return open_text(data_key.data(), field_ad(subject_id, field), sealed,
                   [&] { return fmt::format("field {} of subject {}", field, subject_id); });
}

namespace subject_keys {

Result<SecretKey> create(store::Session& s, const Keyring& keys, std::string_view subject_id, int64_t now_us) {
  SecretKey key = SecretKey::random();
  PRIVOX_TRY(s.exec("INSERT INTO subject_keys (subject_id, wrapped_key, created_at_us) VALUES (?, ?, ?)",
                    {std::string(subject_id), keys.wrap(key, subject_id), now_us}));
  return key;
}

Result<SecretKey> load(store::Session& s, const Keyring& keys, std::string_view subject_id) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT wrapped_key FROM subject_keys WHERE subject_id = ?",
                                          {std::string(subject_id)}));
  if (rows.empty())
    return make_error(ErrorCode::erased, fmt::format("subject {} has no data key: their personal data was erased",
                                                     subject_id));
  return keys.unwrap(rows[0].blob(0), subject_id);
}

Result<bool> destroy(store::Session& s, std::string_view subject_id) {
  PRIVOX_ASSIGN(int64_t changed, s.exec("DELETE FROM subject_keys WHERE subject_id = ?", {std::string(subject_id)}));
  return changed > 0;
}

}  // namespace subject_keys
}  // namespace privox::privacy
