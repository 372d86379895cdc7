#pragma once
// The operator's rate decks and companies' plans in the store, and the RateBook the SIP side prices
// calls from.
//
// Importing a deck is all or nothing: parse_deck_csv refuses a malformed file whole, and a rate
// whose prefix is already priced from the same valid_from (by any deck) refuses the import too,
// naming its line: a price changes only by a new row from a later date, so a past call is never
// repriced by an import. Each import and plan change is audited.
//
// RateBook holds the current RateTable for lock-free reads (an atomic shared_ptr); a BookKeeper
// thread reloads it when a deck or plan changes (polled, so another node's import reaches this
// one within its interval).
//
// Thread-safety: free functions are safe from any thread (all state in the store); RateBook's
// table() from any thread; BookKeeper owns its thread.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "privacy/keyring.h"
#include "rating/rate_table.h"
#include "store/store.h"

namespace privox::rating {

struct DeckInfo {
  std::string id, name;
  int64_t rates = 0, imported_at_us = 0;
  std::string imported_by;
};

// Parses `csv` and stores it as a new deck, audited `rating.deck_import` (detail: rates, name).
// Errors: invalid on "deck" (parse_deck_csv's, or a rate already priced from the same date, with
// its line), invalid on "name" when empty or longer than 100 characters; store errors.
Result<DeckInfo> import_deck(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                             const std::string& name, std::string_view csv, const std::string& actor);
Result<std::vector<DeckInfo>> list_decks(store::Store& store);

// Sets the company's plan: the E.164 prefixes its calls reach at no charge ("44" for a UK company's
// domestic unlimited); empty removes the plan. Audited `rating.plan_set`. Errors: invalid on
// "included" naming a prefix that is not 1-15 digits; not_found on "company".
Status set_plan(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const std::string& company_id,
                const std::vector<std::string>& included, const std::string& actor);
Result<std::vector<std::string>> plan_of(store::Store& store, const std::string& company_id);
// Where the company's lines may call beyond its own country (`countries`: ISO 3166 codes such as
// "FR", or "*" for anywhere; empty: its own country only), and whether premium-rate numbers and the
// operator's high-risk prefixes are allowed. Audited `rating.destinations_set`. Errors: invalid on
// "countries" naming a code that is not two capital letters; not_found on "company".
Status set_destinations(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                        const std::string& company_id, const RateTable::Destinations& rules, const std::string& actor);
Result<RateTable::Destinations> destinations_of(store::Store& store, const std::string& company_id);
// The operator's list of high-risk prefixes: ranges abused for international revenue-share fraud
// (satellite and international networks, small islands' premium blocks), refused to every company
// that was not let call them (Destinations::high_risk), in any country.
struct HighRiskPrefix {
  std::string prefix;  // digits, no '+'
  std::string description;
  int64_t added_at_us = 0;
  std::string added_by;
};
// Audited `rating.high_risk_add`. Errors: invalid on "prefix" (not 1-15 digits) or "description"
// (empty or over 100 characters); conflict on "prefix" when already listed.
Status add_high_risk(store::Store& store, const privacy::Keyring& keys, const Clock& clock, std::string prefix,
                     const std::string& description, const std::string& actor);
// Audited `rating.high_risk_remove`. Errors: not_found on "prefix".
Status remove_high_risk(store::Store& store, const privacy::Keyring& keys, const Clock& clock, std::string prefix,
                        const std::string& actor);
Result<std::vector<HighRiskPrefix>> list_high_risk(store::Store& store);

// "44,353" as {"44", "353"}; empty items are dropped (the form a plan is stored and typed in).
std::vector<std::string> split_prefixes(const std::string& text);

// Every deck, plan, destination rule and high-risk prefix, as one table.
Result<std::shared_ptr<const RateTable>> load_table(store::Session& s);

class RateBook {
 public:
  RateBook() : table_(RateTable::build({}, {})) {}
  std::shared_ptr<const RateTable> table() const { return table_.load(std::memory_order_acquire); }
  void replace(std::shared_ptr<const RateTable> table) { table_.store(std::move(table), std::memory_order_release); }

 private:
  std::atomic<std::shared_ptr<const RateTable>> table_;
};

// Keeps a RateBook current: loads it at start(), then every `interval_us` looks whether a deck,
// plan, destination rule or high-risk prefix changed and reloads it if so.
class BookKeeper {
 public:
  BookKeeper(store::Store& store, RateBook& book, int64_t interval_us = 5'000'000)
      : store_(store), book_(book), interval_us_(interval_us) {}
  ~BookKeeper() { stop(); }
  BookKeeper(const BookKeeper&) = delete;
  BookKeeper& operator=(const BookKeeper&) = delete;
  // Loads the book once (errors: the store's), then starts the thread.
  Status start();
  void stop();

 private:
  Result<bool> reload_if_changed();
  store::Store& store_;
  RateBook& book_;
  const int64_t interval_us_;
  std::string seen_;  // the decks' and plans' version last loaded
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace privox::rating
