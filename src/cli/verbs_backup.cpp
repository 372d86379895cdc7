// `privox backup`, `privox restore` and `privox audit verify|anchor`: snapshots of the store that
// never hold the master key, checked (manifest, schema version, key, audit chain) before a restore
// touches the store; and the audit-head anchor, which a chain cut short no longer holds.
//
// A snapshot is a directory of two files:
//   privox.db | privox.pgdump   the store (store/snapshot.h: SQLite's online backup, or pg_dump -Fc)
//   manifest.json               what restore reads first; ids and hashes only, no personal data:
//     {"format": "privox-backup", "format_version": 1, "backend": "sqlite" | "postgresql",
//      "file": "privox.db", "schema_version": 15, "audit": {"length": 120, "head": "HEX"},
//      "created_at": "2026-12-05T05:30:00Z", "privox_version": "0.1.0", "key_fingerprint": "HEX",
//      "postgresql_schema": "public"}                      (the last for PostgreSQL only)
// The key fingerprint is a MAC of a fixed text under a key derived from the master key: it says
// whether two master keys are the same one and nothing about either.
//
// Schema versions: restore takes a snapshot of this binary's schema version or an older one (the
// migrations are append-only, so an older store is brought up to date as an upgrade would be);
// a newer one it refuses.

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include "cli/verbs.h"
#include "common/bytes.h"
#include "common/json.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"
#include "store/schema.h"
#include "store/snapshot.h"
#include "store/sqlite_store.h"

namespace privox::cli {
namespace {

namespace fs = std::filesystem;

constexpr int kSnapshotFormat = 1;
constexpr char kManifestName[] = "manifest.json";

std::string snapshot_file_name(store::Backend backend) {
  return backend == store::Backend::sqlite ? "privox.db" : "privox.pgdump";
}

std::string key_fingerprint(const privacy::Keyring& keys) {
  return to_hex(to_bytes(keys.token_mac("backup-key-fingerprint", "privox")));
}

// An absolute path without "." or "..", symbolic links resolved as far as the path exists.
fs::path resolved(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path), ec).lexically_normal();
  if (ec) p = fs::absolute(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // a trailing slash
  return p;
}

bool is_within(const fs::path& inner, const fs::path& outer) {
  const auto [o, i] = std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end());
  return o == outer.end();
}

// ---- what a snapshot holds, read from the snapshot itself ----

struct SnapshotFacts {
  int schema_version = 0;
  privacy::AuditVerifyReport chain;
  privacy::AuditAnchor head;  // as the head row claims it
};

Result<SnapshotFacts> facts_of_store(store::Store& s, const privacy::Keyring& keys,
                                     const std::optional<privacy::AuditAnchor>& anchor) {
  SnapshotFacts facts;
  PRIVOX_ASSIGN(facts.schema_version, s.schema_version());
  const ProcessClock clock;
  PRIVOX_ASSIGN(facts.chain, privacy::AuditChain(keys, clock).verify(s, anchor));
  PRIVOX_ASSIGN(auto tx, s.begin(store::TxMode::read));
  PRIVOX_ASSIGN(facts.head, privacy::AuditChain::head(*tx));
  return facts;
}

Result<int64_t> dump_integer(const std::optional<std::string>& text, std::string_view what) {
  int64_t value = 0;
  const std::string s = text.value_or("");
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size())
    return make_error(ErrorCode::corrupt, fmt::format("the snapshot's {} is not a number", what));
  return value;
}

// The same facts from a pg_dump file, without a database: its rows come out of pg_restore as COPY
// text. They come in the order the table stored them, not by seq, so the chain is sorted in memory.
Result<SnapshotFacts> facts_of_dump(const std::string& dump, const std::string& schema, const privacy::Keyring& keys,
                                    const std::optional<privacy::AuditAnchor>& anchor, const std::string& scratch) {
  SnapshotFacts facts;
  PRIVOX_TRY(store::read_dump_table(dump, schema, "schema_migrations", {"version"}, scratch,
                                    [&](const store::DumpRow& r) -> Status {
                                      PRIVOX_ASSIGN(const int64_t v, dump_integer(r[0], "schema version"));
                                      facts.schema_version = std::max(facts.schema_version, static_cast<int>(v));
                                      return {};
                                    }));
  bool head_seen = false;
  PRIVOX_TRY(store::read_dump_table(dump, schema, "audit_head", {"seq", "hash"}, scratch,
                                    [&](const store::DumpRow& r) -> Status {
                                      PRIVOX_ASSIGN(facts.head.length, dump_integer(r[0], "audit head"));
                                      facts.head.hash = r[1].value_or("");
                                      head_seen = true;
                                      return {};
                                    }));
  if (!head_seen) return make_error(ErrorCode::corrupt, "the snapshot has no audit chain head row");
  std::vector<privacy::AuditLogRow> rows;
  PRIVOX_TRY(store::read_dump_table(
      dump, schema, "audit_log",
      {"seq", "id", "at_us", "actor", "action", "subject_id", "purpose", "detail", "prev_hash", "hash"}, scratch,
      [&](const store::DumpRow& r) -> Status {
        PRIVOX_ASSIGN(const int64_t seq, dump_integer(r[0], "audit seq"));
        PRIVOX_ASSIGN(const int64_t at_us, dump_integer(r[2], "audit time"));
        rows.push_back({seq, r[1].value_or(""), at_us, r[3].value_or(""), r[4].value_or(""), r[5].value_or(""),
                        r[6].value_or(""), r[7].value_or(""), r[8].value_or(""), r[9].value_or("")});
        return {};
      }));
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
  privacy::AuditChainCheck check(keys, anchor);
  for (const privacy::AuditLogRow& row : rows)
    if (!check.add(row)) break;
  facts.chain = check.finish(facts.head.length, facts.head.hash);
  return facts;
}

// ---- backup ----

Status check_out_dir(const DataDir& where, const std::string& out) {
  if (out.empty()) return invalid("out", "name the directory to write the snapshot into");
  const fs::path target = resolved(out);
  if (target == resolved(where.root))
    return invalid("out", fmt::format("{} holds the master key ({}); a snapshot must never lie beside the key that "
                                      "opens it: write it elsewhere and back the key up apart",
                                      out, where.key_path()));
  if (is_within(target, resolved(where.root)))
    return invalid("out", fmt::format("{} is inside the data directory {}, beside the master key; write the "
                                      "snapshot elsewhere",
                                      out, where.root));
  std::error_code ec;
  if (fs::exists(target / "master.key", ec))
    return invalid("out", fmt::format("{} holds a master key (master.key); keep snapshots and keys apart", out));
  if (fs::exists(target, ec) && (!fs::is_directory(target, ec) || !fs::is_empty(target, ec)))
    return invalid("out", fmt::format("{} is not an empty directory; a snapshot goes into a new or empty one", out));
  fs::create_directories(target, ec);
  if (ec) return invalid("out", fmt::format("cannot create {}: {}", out, ec.message()));
  fs::permissions(target, fs::perms::owner_all, ec);
  return {};
}

Status write_file_atomically(const fs::path& path, const std::string& text) {
  const fs::path partial = path.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::trunc);
    out << text;
    if (!out.flush()) return make_error(ErrorCode::internal, fmt::format("cannot write {}", partial.string()));
  }
  std::error_code ec;
  fs::rename(partial, path, ec);
  if (ec) return make_error(ErrorCode::internal, fmt::format("cannot write {}: {}", path.string(), ec.message()));
  return {};
}

Result<SnapshotFacts> snapshot_sqlite(const DataDir& where, const fs::path& file, const privacy::Keyring& keys) {
  PRIVOX_TRY(store::sqlite_snapshot(where.db_path(), file.string()));
  SnapshotFacts facts;
  {
    PRIVOX_ASSIGN(auto copy, store::open_sqlite(file.string()));
    PRIVOX_ASSIGN(facts, facts_of_store(*copy, keys, std::nullopt));
  }
  PRIVOX_TRY(store::sqlite_single_file(file.string()));
  return facts;
}

int run_backup(const DataDir& where, const std::string& out) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  Environment& e = **env;
  if (Status s = check_out_dir(where, out); !s.ok()) return fail(s.error());
  const fs::path dir = resolved(out);
  const store::Backend backend = e.store->backend();
  const fs::path file = dir / snapshot_file_name(backend);
  std::string pg_schema;
  Result<SnapshotFacts> facts = [&]() -> Result<SnapshotFacts> {
    if (backend == store::Backend::sqlite) return snapshot_sqlite(where, file, e.keys);
    PRIVOX_ASSIGN(pg_schema, store::postgres_schema(*e.store));
    PRIVOX_TRY(store::postgres_dump(where.store_url, pg_schema, file.string()));
    return facts_of_dump(file.string(), pg_schema, e.keys, std::nullopt, (dir / ".scratch").string());
  }();
  std::error_code ec;
  if (facts.ok() && !facts->chain.ok)
    facts = make_error(ErrorCode::corrupt,
                       fmt::format("the store's audit chain is broken at entry {}: {}; restore would refuse the "
                                   "snapshot, so none was kept (see privox audit verify)",
                                   facts->chain.first_bad_seq, facts->chain.problem));
  if (!facts.ok()) {
    fs::remove(file, ec);
    return fail(facts.error());
  }
  nlohmann::json manifest = {{"format", "privox-backup"},
                             {"format_version", kSnapshotFormat},
                             {"backend", store::to_string(backend)},
                             {"file", file.filename().string()},
                             {"schema_version", facts->schema_version},
                             {"audit", {{"length", facts->head.length}, {"head", facts->head.hash}}},
                             {"created_at", format_utc(e.clock.now_us())},
                             {"privox_version", PRIVOX_VERSION},
                             {"key_fingerprint", key_fingerprint(e.keys)}};
  if (backend == store::Backend::postgresql) manifest["postgresql_schema"] = pg_schema;
  if (Status s = write_file_atomically(dir / kManifestName, manifest.dump(2) + "\n"); !s.ok()) return fail(s.error());
  const privacy::AuditChain audit(e.keys, e.clock);
  const Status logged = store::with_transaction(*e.store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(audit.append(s, {cli_actor(), "store.backup", "", "",
                                {{"backend", store::to_string(backend)},
                                 {"schema_version", facts->schema_version},
                                 {"audit_length", facts->head.length}}}));
    return {};
  });
  if (!logged.ok()) return fail(logged.error());
  std::printf("snapshot of the %s store written to %s (schema %d, audit chain %lld entries, anchor %s); the master "
              "key is not in it: back up %s apart\n",
              store::to_string(backend), dir.c_str(), facts->schema_version,
              static_cast<long long>(facts->head.length), privacy::format_anchor(facts->head).c_str(),
              where.key_path().c_str());
  return 0;
}

// ---- restore ----

struct Manifest {
  store::Backend backend = store::Backend::sqlite;
  std::string file;
  int schema_version = 0;
  privacy::AuditAnchor head;
  std::string key_fingerprint;
  std::string pg_schema;
};

Result<Manifest> read_manifest(const fs::path& dir) {
  const fs::path path = dir / kManifestName;
  std::ifstream in(path);
  if (!in) return invalid("from", fmt::format("{} has no {}: not a privox snapshot", dir.string(), kManifestName));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto j = json::parse_untrusted(text);
  const auto bad = [&](std::string_view what) {
    return invalid("from", fmt::format("{} is not a privox snapshot manifest: {}", path.string(), what));
  };
  if (!j.ok() || !j->is_object()) return bad("not a JSON object");
  if (j->value("format", "") != "privox-backup") return bad("its format is not privox-backup");
  if (!(*j)["format_version"].is_number_integer() || (*j)["format_version"].get<int>() != kSnapshotFormat)
    return bad(fmt::format("format_version is not {}", kSnapshotFormat));
  Manifest m;
  const std::string backend = j->value("backend", "");
  if (backend != "sqlite" && backend != "postgresql") return bad("backend is neither sqlite nor postgresql");
  m.backend = backend == "sqlite" ? store::Backend::sqlite : store::Backend::postgresql;
  m.file = j->value("file", "");
  if (m.file != snapshot_file_name(m.backend)) return bad("its file is not " + snapshot_file_name(m.backend));
  const nlohmann::json& audit = (*j)["audit"];
  if (!(*j)["schema_version"].is_number_integer() || !audit.is_object() || !audit["length"].is_number_integer() ||
      !audit["head"].is_string() || !(*j)["key_fingerprint"].is_string())
    return bad("schema_version, audit.length, audit.head or key_fingerprint is missing");
  m.schema_version = (*j)["schema_version"].get<int>();
  m.head = {audit["length"].get<int64_t>(), audit["head"].get<std::string>()};
  m.key_fingerprint = (*j)["key_fingerprint"].get<std::string>();
  m.pg_schema = j->value("postgresql_schema", "");
  if (m.backend == store::Backend::postgresql && m.pg_schema.empty()) return bad("postgresql_schema is missing");
  return m;
}

// Everything about the snapshot that can be checked before the store is touched.
Status check_manifest(const DataDir& where, const Manifest& m, const privacy::Keyring& keys) {
  const store::Backend target = where.store_url.empty() ? store::Backend::sqlite : store::Backend::postgresql;
  if (m.backend != target)
    return invalid("from", fmt::format("the snapshot is of a {} store, the target is {} (--store)",
                                       store::to_string(m.backend), store::to_string(target)));
  if (m.schema_version > store::latest_schema_version() || m.schema_version < 1)
    return make_error(ErrorCode::version_mismatch,
                      fmt::format("the snapshot has schema version {}; this privox knows versions 1 to {}: restore it "
                                  "with the privox that made it",
                                  m.schema_version, store::latest_schema_version()));
  if (m.key_fingerprint != key_fingerprint(keys))
    return invalid("from", fmt::format("the snapshot was made under another master key than {} (the key "
                                       "fingerprints differ), which could not open its data: put that data "
                                       "directory's key there from your key backup",
                                       where.key_path()));
  return {};
}

Status check_facts(const Manifest& m, const SnapshotFacts& facts) {
  if (facts.schema_version != m.schema_version)
    return make_error(ErrorCode::corrupt, fmt::format("the manifest says schema version {} but the snapshot holds {}",
                                                      m.schema_version, facts.schema_version));
  if (!facts.chain.ok)
    return make_error(ErrorCode::corrupt, fmt::format("the snapshot's audit chain is broken at entry {}: {}",
                                                      facts.chain.first_bad_seq, facts.chain.problem));
  if (facts.chain.entries != m.head.length || facts.head.hash != m.head.hash)
    return make_error(ErrorCode::corrupt,
                      fmt::format("the snapshot's audit chain ends at {} but its manifest says {}",
                                  privacy::format_anchor(facts.head), privacy::format_anchor(m.head)));
  return {};
}

// Brings an older snapshot up to this binary's schema and records the restore, in the restored
// store, before it goes live.
Status finish_restored(store::Store& restored, const Manifest& m, const privacy::Keyring& keys) {
  PRIVOX_TRY(restored.migrate());
  const ProcessClock clock;
  const privacy::AuditChain audit(keys, clock);
  return store::with_transaction(restored, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(audit.append(s, {cli_actor(), "store.restore", "", "",
                                {{"backend", store::to_string(m.backend)},
                                 {"from_schema_version", m.schema_version},
                                 {"to_schema_version", store::latest_schema_version()},
                                 {"audit_length", m.head.length}}}));
    return {};
  });
}

Status restore_sqlite(const DataDir& where, const fs::path& from, const Manifest& m, const privacy::Keyring& keys) {
  PRIVOX_ASSIGN(const bool busy, store::sqlite_open_elsewhere(where.db_path()));
  if (busy)
    return make_error(ErrorCode::conflict, fmt::format("{} is open in another process (a running privox serve?); "
                                                       "stop it before restoring",
                                                       where.db_path()));
  const std::string temp = where.db_path() + ".restoring";
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(temp + suffix, ec);
  fs::copy_file(from / m.file, temp, ec);
  if (ec) return invalid("from", fmt::format("cannot copy {}: {}", (from / m.file).string(), ec.message()));
  Status checked = [&]() -> Status {
    PRIVOX_ASSIGN(auto copy, store::open_sqlite(temp));
    PRIVOX_ASSIGN(const SnapshotFacts facts, facts_of_store(*copy, keys, m.head));
    PRIVOX_TRY(check_facts(m, facts));
    return finish_restored(*copy, m, keys);
  }();
  if (checked.ok()) checked = store::sqlite_replace(temp, where.db_path());
  if (!checked.ok())
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(temp + suffix, ec);
  return checked;
}

Status restore_postgres(const DataDir& where, const fs::path& from, const Manifest& m, const privacy::Keyring& keys) {
  const std::string scratch = (fs::path(where.root) / ".restore-scratch").string();
  PRIVOX_ASSIGN(const SnapshotFacts facts, facts_of_dump((from / m.file).string(), m.pg_schema, keys, m.head, scratch));
  PRIVOX_TRY(check_facts(m, facts));
  {
    PRIVOX_ASSIGN(auto target, open_store(where));
    PRIVOX_ASSIGN(const std::string schema, store::postgres_schema(*target));
    if (schema != m.pg_schema)
      return invalid("store", fmt::format("the snapshot holds schema {} but the target store works in {}: point "
                                          "--store at a database whose search_path is {}",
                                          m.pg_schema, schema, m.pg_schema));
    PRIVOX_ASSIGN(const int version, target->schema_version());
    if (version != 0 && version != m.schema_version)
      return make_error(ErrorCode::conflict, fmt::format("the target store has schema version {}, the snapshot {}: "
                                                         "restore into an empty schema or a store of version {}",
                                                         version, m.schema_version, m.schema_version));
  }
  PRIVOX_TRY(store::postgres_restore(where.store_url, (from / m.file).string(), scratch));
  PRIVOX_ASSIGN(auto restored, open_store(where));
  return finish_restored(*restored, m, keys);
}

int run_restore(const DataDir& where, const std::string& from_arg) {
  const fs::path from = resolved(from_arg);
  auto manifest = read_manifest(from);
  if (!manifest.ok()) return fail(manifest.error());
  if (!fs::exists(where.key_path()))
    return fail(invalid("data-dir", fmt::format("no master key at {}: put the key from your key backup there first "
                                                "(restore never makes a key: a new one could not open the data)",
                                                where.key_path())));
  auto keys = privacy::Keyring::load(where.key_path());
  if (!keys.ok()) return fail(keys.error());
  if (Status s = check_manifest(where, *manifest, *keys); !s.ok()) return fail(s.error());
  const Status restored = manifest->backend == store::Backend::sqlite ? restore_sqlite(where, from, *manifest, *keys)
                                                                      : restore_postgres(where, from, *manifest, *keys);
  if (!restored.ok()) return fail(restored.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  const ProcessClock clock;
  auto report = privacy::AuditChain((*env)->keys, clock).verify(*(*env)->store);
  if (!report.ok()) return fail(report.error());
  std::printf("restored %s from %s (schema %d%s); audit chain ok, %lld entries\n", where.root.c_str(), from.c_str(),
              manifest->schema_version,
              manifest->schema_version < store::latest_schema_version() ? ", migrated" : "",
              static_cast<long long>(report->entries));
  return 0;
}

// ---- audit ----

int run_audit_verify(const DataDir& where, const std::string& anchor_text) {
  std::optional<privacy::AuditAnchor> anchor;
  if (!anchor_text.empty()) {
    auto parsed = privacy::parse_anchor(anchor_text);
    if (!parsed.ok()) return fail(parsed.error());
    anchor = *parsed;
  }
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  const privacy::AuditChain audit((*env)->keys, (*env)->clock);
  auto report = audit.verify(*(*env)->store, anchor);
  if (!report.ok()) return fail(report.error());
  if (!report->ok) {
    std::fprintf(stderr, "privox: audit chain broken at entry %lld: %s\n",
                 static_cast<long long>(report->first_bad_seq), report->problem.c_str());
    return 1;
  }
  if (anchor)
    std::printf("ok %lld entries; holds the anchor %s\n", static_cast<long long>(report->entries), anchor_text.c_str());
  else
    std::printf("ok %lld entries\n", static_cast<long long>(report->entries));
  return 0;
}

int run_audit_anchor(const DataDir& where) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  // An anchor of a chain that does not verify would vouch for a broken one.
  const privacy::AuditChain audit((*env)->keys, (*env)->clock);
  auto report = audit.verify(*(*env)->store);
  if (!report.ok()) return fail(report.error());
  if (!report->ok) {
    std::fprintf(stderr, "privox: audit chain broken at entry %lld: %s; no anchor printed\n",
                 static_cast<long long>(report->first_bad_seq), report->problem.c_str());
    return 1;
  }
  auto tx = (*env)->store->begin(store::TxMode::read);
  if (!tx.ok()) return fail(tx.error());
  auto head = privacy::AuditChain::head(**tx);
  if (!head.ok()) return fail(head.error());
  std::printf("%s\n", privacy::format_anchor(*head).c_str());
  return 0;
}

}  // namespace

void add_backup_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto out = std::make_shared<std::string>();
  auto* backup = app.add_subcommand(
      "backup", "Write a consistent snapshot of the store (not the master key) and its manifest into a new directory");
  add_data_dir(backup, where);
  backup->add_option("--out", *out, "new or empty directory outside the data directory, away from the master key")
      ->required();
  verbs.add(backup, [&where, out] { return run_backup(where, *out); });

  auto from = std::make_shared<std::string>();
  auto* restore = app.add_subcommand("restore", "Replace the store with a snapshot, once its manifest, schema version, "
                                                "master key and audit chain check out");
  add_data_dir(restore, where);
  restore->add_option("--from", *from, "the snapshot directory `privox backup` wrote")->required();
  verbs.add(restore, [&where, from] { return run_restore(where, *from); });

  auto* audit = app.add_subcommand("audit", "The audit chain")->require_subcommand(1);
  auto anchor = std::make_shared<std::string>();
  auto* verify = audit->add_subcommand("verify", "Check every link of the audit chain");
  add_data_dir(verify, where);
  verify->add_option("--anchor", *anchor,
                     "LENGTH:HASH from an earlier `audit anchor`: also fail unless the chain still holds it");
  verbs.add(verify, [&where, anchor] { return run_audit_verify(where, *anchor); });
  auto* print_anchor = audit->add_subcommand(
      "anchor", "Print the verified chain's head as LENGTH:HASH, to publish outside privox (verify --anchor)");
  add_data_dir(print_anchor, where);
  verbs.add(print_anchor, [&where] { return run_audit_anchor(where); });
}

}  // namespace privox::cli
