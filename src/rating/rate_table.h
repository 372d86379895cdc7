#pragma once
// Problem: every outbound call that ends is priced on the SIP worker thread, so finding the rate
// must cost well under a microsecond on a deck of tens of thousands of prefixes, and must answer
// as the decks stood when the call began (a deck imported later never reprices it).
//
// RateTable is an immutable digit trie over every imported rate: a node per prefix digit, each
// holding its rates newest valid_from first. A look-up walks the destination's digits once and
// keeps the deepest node with a rate already valid at the call's start: the longest prefix. A
// company's plan (included prefixes, such as its own country's for "domestic unlimited") is a
// second, smaller trie per company.
//
// Thread-safety: immutable once built; share it through std::shared_ptr<const RateTable>.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rating/deck.h"

namespace privox::rating {

// What an ended call costs: the rate it matched (in the table) and the amount, or `included` by
// the company's plan (cost 0), or unrated (no rate for the destination at the call's start).
struct Priced {
  const Rate* rate = nullptr;  // null: unrated or included
  bool included = false;
  int64_t cost_micros = 0;
  std::string_view deck_id;  // the import `rate` came from (valid while the table lives)
};

class RateTable {
 public:
  struct Deck {
    std::string id;  // the import it came from
    std::vector<Rate> rates;
  };
  // Where a company's lines may call (outbound): its own country always, these beyond it ("*":
  // anywhere), and premium-rate numbers only when allowed.
  struct Destinations {
    std::vector<std::string> countries;
    bool premium = false;
    bool high_risk = false;  // the operator's high-risk prefixes (rating/store.h) too
  };
  // `plans`: per company id, the prefixes its plan includes; `destinations`: per company id, its
  // rules (a company absent calls its own country only, and no premium-rate or high-risk number);
  // `high_risk`: the operator's prefixes of destinations abused for revenue-share fraud.
  static std::shared_ptr<const RateTable> build(std::vector<Deck> decks,
                                                const std::unordered_map<std::string, std::vector<std::string>>& plans,
                                                std::unordered_map<std::string, Destinations> destinations = {},
                                                const std::vector<std::string>& high_risk = {});
  // Why the company's line may not call `e164`, whose country is `region` (ISO 3166, "" when
  // unknown), from `own_country`, as a reason phrase; nullopt when it may. `premium`: libphonenumber
  // says premium rate or shared cost.
  std::optional<std::string> refusal(std::string_view company_id, std::string_view own_country,
                                     std::string_view region, bool premium, std::string_view e164) const;
  // Whether `e164` starts with one of the operator's high-risk prefixes.
  bool high_risk(std::string_view e164) const;

  // The rate for `e164` (with or without '+') at `at_us`, longest prefix first; null when none.
  // `deck_id` receives the import the rate came from.
  const Rate* find(std::string_view e164, int64_t at_us, std::string_view* deck_id = nullptr) const;
  // Whether the company's plan includes the destination.
  bool included(std::string_view company_id, std::string_view e164) const;
  // find() and cost_micros() together, after the plan.
  Priced price(std::string_view company_id, std::string_view e164, int64_t started_at_us, int64_t duration_ms) const;

  size_t rates() const { return rate_count_; }

 private:
  struct Node {
    std::array<int32_t, 10> child{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
    int32_t first_rate = -1;  // index into rates_ of its newest rate; older ones follow (by next_)
  };
  struct Entry {
    Rate rate;
    int32_t next = -1;  // the same prefix's next older rate
    uint32_t deck = 0;  // index into deck_ids_
  };
  struct Trie {
    std::vector<Node> nodes = std::vector<Node>(1);  // the root; not {Node{}}, which GCC 12 misreads as uninitialized
    int32_t insert(std::string_view digits);  // the node for these digits, made as needed
  };

  Trie rate_trie_;
  std::vector<Entry> entries_;
  std::vector<std::string> deck_ids_;
  std::unordered_map<std::string, Trie> plans_;  // a node with first_rate 0 marks an included prefix
  std::unordered_map<std::string, Destinations> destinations_;
  Trie high_risk_;  // a node with first_rate 0 ends a high-risk prefix
  // Whether a prefix marked in `trie` (first_rate 0) starts `e164`.
  static bool holds_prefix_of(const Trie& trie, std::string_view e164);
  size_t rate_count_ = 0;
};

}  // namespace privox::rating
