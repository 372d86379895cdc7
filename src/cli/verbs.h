#pragma once
// How verb groups outside main.cpp join the command line: each group adds its subcommands to the
// app and, for each, registers what runs when that subcommand is the one given.

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "cli/environment.h"

namespace privox::cli {

class Verbs {
 public:
  void add(const CLI::App* verb, std::function<int()> run) { verbs_.emplace_back(verb, std::move(run)); }
  // After parsing: the exit code of the registered verb that was given, nullopt if none was.
  std::optional<int> run_given() const {
    for (const auto& [verb, run] : verbs_)
      if (verb->parsed() > 0) return run();
    return std::nullopt;
  }

 private:
  std::vector<std::pair<const CLI::App*, std::function<int()>>> verbs_;
};

// --data-dir and --store, which every verb that opens a data directory takes.
inline void add_data_dir(CLI::App* verb, DataDir& where) {
  verb->add_option("--data-dir", where.root, "privox data directory (master key, and the SQLite store unless --store)")
      ->required()
      ->envname("PRIVOX_DATA_DIR");
  verb->add_option("--store", where.store_url,
                   "postgresql://USER:PASS@HOST:PORT/DB to use PostgreSQL instead of SQLite in the data directory")
      ->envname("PRIVOX_STORE");
}

// `extension add|list|show|reset-password`, `trunk add|list` and `ban list|lift` (verbs_telephony.cpp).
void add_telephony_verbs(CLI::App& app, DataDir& where, Verbs& verbs);
// `cdr list` (verbs_traffic.cpp).
void add_traffic_verbs(CLI::App& app, DataDir& where, Verbs& verbs);
// `rating import|decks|plan|destinations|price|rerate` (verbs_rating.cpp).
void add_rating_verbs(CLI::App& app, DataDir& where, Verbs& verbs);
// `invoice issue|list|show|credit` (verbs_billing.cpp).
void add_billing_verbs(CLI::App& app, DataDir& where, Verbs& verbs);
// `wallet top-up|adjust|cap|show|ledger` (verbs_wallet.cpp).
void add_wallet_verbs(CLI::App& app, DataDir& where, Verbs& verbs);
// `fraud alerts|lift|rules` (verbs_fraud.cpp).
void add_fraud_verbs(CLI::App& app, DataDir& where, Verbs& verbs);
// `voicemail list|delete|export` (verbs_voicemail.cpp).
void add_voicemail_verbs(CLI::App& app, DataDir& where, Verbs& verbs);
// `staff add`, `tokenizer` and `portal page-views` (verbs_portal.cpp).
void add_portal_verbs(CLI::App& app, DataDir& where, Verbs& verbs);
// `request open|list|show|send-code|verify|fee|extend|refuse|export|complete` (verbs_rights.cpp).
void add_rights_verbs(CLI::App& app, DataDir& where, Verbs& verbs);
// `consent`, `disclosure`, `hold`, `company transfer-region`, `business-sale export`, `settings`,
// `ropa` and `notice` (verbs_privacy.cpp). Call after main.cpp's `company`, which it joins.
void add_privacy_verbs(CLI::App& app, DataDir& where, Verbs& verbs);
// `campaign create|send|list` and `mail test` (verbs_notify.cpp).
void add_notify_verbs(CLI::App& app, DataDir& where, Verbs& verbs);
// `retention run`, `member close`, `survey create|respond|results` and `stats calls`
// (verbs_retention.cpp). Call after main.cpp's `member`, which it joins.
void add_retention_verbs(CLI::App& app, DataDir& where, Verbs& verbs);
// `backup`, `restore` and `audit verify|anchor` (verbs_backup.cpp).
void add_backup_verbs(CLI::App& app, DataDir& where, Verbs& verbs);

// `line forward|dnd|forwarding` and `group create|list|show|update|delete` (verbs_callflow.cpp).
void add_callflow_verbs(CLI::App& app, DataDir& where, Verbs& verbs);
// `menu create|list|show|update|delete|greeting` and `receptionist create|list|show|update|delete`
// (verbs_receptionist.cpp); add_callflow_verbs adds them.
void add_receptionist_verbs(CLI::App& app, DataDir& where, Verbs& verbs);
// `conference create|list|show|update|delete|pin` (verbs_conference.cpp); add_callflow_verbs adds
// them.
void add_conference_verbs(CLI::App& app, DataDir& where, Verbs& verbs);

}  // namespace privox::cli
