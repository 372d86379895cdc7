#include "privacy/keyring.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <list>
#include <stdexcept>
#include <unordered_map>

#include "common/mutex.h"
#include "common/random.h"
#include "common/thread_annotations.h"

namespace privox::privacy {

// Unwrapped subject keys, remembered across requests. A page of the portal's call log reads ~20
// lines' records; without this every request unwrapped each line's key into a fresh SecretKey,
// whose guarded sodium_malloc costs ~9 system calls (mmap, mlock, mprotect x4, munlock, munmap)
// and a TLB shoot-down, which was a fifth of the request's CPU. Cheaper secure memory (one arena
// per request) would still pay the unwrap and the arena; a cache pays neither on a hit.
// Exposure: the wrap key that opens every subject key is in this process's memory anyway, so a
// cached key reveals nothing a memory dump would not; the keys stay in sodium_malloc's locked,
// guarded pages, and the bound keeps the locked memory at kUnwrappedCacheSize pages (4 MiB, under
// the usual 8 MiB RLIMIT_MEMLOCK). An entry is served only for the exact wrapped bytes the caller
// just read from the store, so a destroyed or replaced key is never served from here.
class SubjectKeyCache {
 public:
  explicit SubjectKeyCache(size_t capacity) : capacity_(capacity) {}

  std::shared_ptr<const SecretKey> find(std::string_view subject_id, const Bytes& wrapped) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    const auto it = entries_.find(std::string(subject_id));
    if (it == entries_.end() || it->second.wrapped != wrapped) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second.key;
  }

  void put(std::string_view subject_id, const Bytes& wrapped, std::shared_ptr<const SecretKey> key) EXCLUDES(mu_) {
    std::shared_ptr<const SecretKey> dropped;  // released after the lock: sodium_free is slow
    MutexLock lock(mu_);
    auto [it, inserted] = entries_.try_emplace(std::string(subject_id));
    if (inserted) {
      lru_.push_front(it->first);
      it->second.lru = lru_.begin();
    } else {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      dropped = std::move(it->second.key);
    }
    it->second.wrapped = wrapped;
    it->second.key = std::move(key);
    if (entries_.size() > capacity_) {
      auto victim = entries_.find(lru_.back());
      dropped = std::move(victim->second.key);
      entries_.erase(victim);
      lru_.pop_back();
    }
  }

  void forget(std::string_view subject_id) EXCLUDES(mu_) {
    std::shared_ptr<const SecretKey> dropped;
    MutexLock lock(mu_);
    const auto it = entries_.find(std::string(subject_id));
    if (it == entries_.end()) return;
    dropped = std::move(it->second.key);
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }

  size_t size() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return entries_.size();
  }

 private:
  struct Entry {
    Bytes wrapped;
    std::shared_ptr<const SecretKey> key;
    std::list<std::string>::iterator lru;
  };
  const size_t capacity_;
  Mutex mu_;
  std::unordered_map<std::string, Entry> entries_ GUARDED_BY(mu_);
  std::list<std::string> lru_ GUARDED_BY(mu_);  // most recently used first
};

namespace {

constexpr char kFileMagic[] = "privox-master-key-v1";
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "privoxMK";
enum SubkeyId : uint64_t { kWrapKey = 1, kIndexKey = 2, kAuditKey = 3, kSecretKey = 4, kTokenKey = 5 };

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
  random_bytes(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
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
      secret_key_(derive(master, kSecretKey)),
      token_key_(derive(master, kTokenKey)),
      unwrapped_(std::make_shared<SubjectKeyCache>(kUnwrappedCacheSize)) {}

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

Result<std::shared_ptr<const SecretKey>> Keyring::unwrap_cached(const Bytes& wrapped,
                                                                std::string_view subject_id) const {
  if (auto hit = unwrapped_->find(subject_id, wrapped)) return hit;
  PRIVOX_ASSIGN(SecretKey key, unwrap(wrapped, subject_id));
  auto shared = std::make_shared<const SecretKey>(std::move(key));
  unwrapped_->put(subject_id, wrapped, shared);
  return shared;
}

void Keyring::forget_unwrapped(std::string_view subject_id) const { unwrapped_->forget(subject_id); }

size_t Keyring::unwrapped_cached() const { return unwrapped_->size(); }

std::string Keyring::audit_hash(std::string_view message) const {
  uint8_t out[32];
  crypto_generichash(out, sizeof out, reinterpret_cast<const uint8_t*>(message.data()), message.size(),
                     audit_key_->data(), SecretKey::kSize);
  return to_hex(out, sizeof out);
}

std::string Keyring::token_mac(std::string_view domain, std::string_view message) const {
  // The domain's length goes first, so ("ab", "c") and ("a", "bc") never share a MAC.
  crypto_generichash_state state;
  crypto_generichash_init(&state, token_key_->data(), SecretKey::kSize, kTokenMacBytes);
  const uint64_t domain_size = domain.size();
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(&domain_size), sizeof domain_size);
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(domain.data()), domain.size());
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(message.data()), message.size());
  std::string out(kTokenMacBytes, '\0');
  crypto_generichash_final(&state, reinterpret_cast<uint8_t*>(out.data()), out.size());
  return out;
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

Result<OpenKeys> load_cached(store::Session& s, const Keyring& keys, const std::vector<std::string>& subject_ids) {
  PRIVOX_ASSIGN(const WrappedKeys wrapped, read_wrapped(s, subject_ids));
  OpenKeys out;
  for (const std::string& id : subject_ids) {
    if (out.count(id)) continue;
    const auto found = wrapped.find(id);
    if (found == wrapped.end()) {
      keys.forget_unwrapped(id);
      continue;
    }
    if (auto key = keys.unwrap_cached(found->second, id); key.ok()) out.emplace(id, std::move(key).value());
  }
  return out;
}

Result<WrappedKeys> read_wrapped(store::Session& s, const std::vector<std::string>& subject_ids) {
  std::vector<std::string> ids = subject_ids;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  // In chunks: SQLite builds before 3.32 allow 999 parameters per statement.
  constexpr size_t kChunk = 500;
  WrappedKeys out;
  for (size_t from = 0; from < ids.size(); from += kChunk) {
    const size_t to = std::min(ids.size(), from + kChunk);
    std::string sql = "SELECT subject_id, wrapped_key FROM subject_keys WHERE subject_id IN (";
    store::Params params;
    for (size_t i = from; i < to; ++i) {
      sql += i == from ? "?" : ", ?";
      params.emplace_back(ids[i]);
    }
    PRIVOX_ASSIGN(store::Rows rows, s.query(sql + ")", params));
    for (const store::Row& r : rows) out.emplace(r.text(0), r.blob(1));
  }
  return out;
}

}  // namespace subject_keys
}  // namespace privox::privacy
