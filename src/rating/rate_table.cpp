#include "rating/rate_table.h"

#include <algorithm>

namespace privox::rating {
namespace {

std::string_view digits_of(std::string_view e164) {
  if (!e164.empty() && e164.front() == '+') e164.remove_prefix(1);
  return e164;
}

}  // namespace

int32_t RateTable::Trie::insert(std::string_view digits) {
  int32_t at = 0;
  for (const char c : digits) {
    const auto d = static_cast<size_t>(c - '0');
    if (nodes[static_cast<size_t>(at)].child[d] < 0) {
      nodes[static_cast<size_t>(at)].child[d] = static_cast<int32_t>(nodes.size());
      nodes.emplace_back();
    }
    at = nodes[static_cast<size_t>(at)].child[d];
  }
  return at;
}

std::shared_ptr<const RateTable> RateTable::build(std::vector<Deck> decks,
                                                  const std::unordered_map<std::string, std::vector<std::string>>& plans,
                                                  std::unordered_map<std::string, Destinations> destinations,
                                                  const std::vector<std::string>& high_risk) {
  auto table = std::make_shared<RateTable>();
  for (const std::string& p : high_risk)
    table->high_risk_.nodes[static_cast<size_t>(table->high_risk_.insert(digits_of(p)))].first_rate = 0;
  table->destinations_ = std::move(destinations);
  std::vector<Entry> all;
  for (Deck& deck : decks) {
    const auto deck_index = static_cast<uint32_t>(table->deck_ids_.size());
    table->deck_ids_.push_back(std::move(deck.id));
    for (Rate& r : deck.rates) all.push_back(Entry{std::move(r), -1, deck_index});
  }
  // Newest valid_from first within a prefix, so that a look-up stops at the first valid one.
  std::stable_sort(all.begin(), all.end(), [](const Entry& a, const Entry& b) {
    return a.rate.prefix != b.rate.prefix ? a.rate.prefix < b.rate.prefix : a.rate.valid_from_us > b.rate.valid_from_us;
  });
  table->entries_ = std::move(all);
  for (size_t i = table->entries_.size(); i-- > 0;) {
    const Entry& e = table->entries_[i];
    const int32_t node = table->rate_trie_.insert(e.rate.prefix);
    Node& n = table->rate_trie_.nodes[static_cast<size_t>(node)];
    table->entries_[i].next = n.first_rate;
    n.first_rate = static_cast<int32_t>(i);
  }
  table->rate_count_ = table->entries_.size();
  for (const auto& [company, prefixes] : plans) {
    Trie& trie = table->plans_[company];
    for (const std::string& p : prefixes) trie.nodes[static_cast<size_t>(trie.insert(digits_of(p)))].first_rate = 0;
  }
  return table;
}

const Rate* RateTable::find(std::string_view e164, int64_t at_us, std::string_view* deck_id) const {
  const Entry* best = nullptr;
  int32_t at = 0;
  for (const char c : digits_of(e164)) {
    if (c < '0' || c > '9') break;
    at = rate_trie_.nodes[static_cast<size_t>(at)].child[static_cast<size_t>(c - '0')];
    if (at < 0) break;
    for (int32_t i = rate_trie_.nodes[static_cast<size_t>(at)].first_rate; i >= 0;
         i = entries_[static_cast<size_t>(i)].next) {
      if (entries_[static_cast<size_t>(i)].rate.valid_from_us <= at_us) {
        best = &entries_[static_cast<size_t>(i)];
        break;
      }
    }
  }
  if (!best) return nullptr;
  if (deck_id) *deck_id = deck_ids_[best->deck];
  return &best->rate;
}

bool RateTable::holds_prefix_of(const Trie& trie, std::string_view e164) {
  int32_t at = 0;
  for (const char c : digits_of(e164)) {
    if (c < '0' || c > '9') return false;
    at = trie.nodes[static_cast<size_t>(at)].child[static_cast<size_t>(c - '0')];
    if (at < 0) return false;
    if (trie.nodes[static_cast<size_t>(at)].first_rate == 0) return true;
  }
  return false;
}

bool RateTable::included(std::string_view company_id, std::string_view e164) const {
  const auto plan = plans_.find(std::string(company_id));
  return plan != plans_.end() && holds_prefix_of(plan->second, e164);
}

bool RateTable::high_risk(std::string_view e164) const { return holds_prefix_of(high_risk_, e164); }

std::optional<std::string> RateTable::refusal(std::string_view company_id, std::string_view own_country,
                                              std::string_view region, bool premium, std::string_view e164) const {
  const auto rules = destinations_.find(std::string(company_id));
  const Destinations none;
  const Destinations& d = rules == destinations_.end() ? none : rules->second;
  if (premium && !d.premium) return std::string("premium-rate numbers are not allowed for this company");
  // Before the country rules: a high-risk range inside an allowed country (or the company's own)
  // is still refused unless the company was let call such ranges.
  if (!d.high_risk && high_risk(e164)) return std::string("calls to high-risk destinations are not allowed for this company");
  if (!region.empty() && region == own_country) return std::nullopt;
  for (const std::string& c : d.countries)
    if (c == "*" || (!region.empty() && c == region)) return std::nullopt;
  if (region.empty()) return std::string("calls to this destination are not allowed for this company");
  return "calls to " + std::string(region) + " are not allowed for this company";
}

Priced RateTable::price(std::string_view company_id, std::string_view e164, int64_t started_at_us,
                        int64_t duration_ms) const {
  Priced out;
  if (included(company_id, e164)) {
    out.included = true;
    return out;
  }
  out.rate = find(e164, started_at_us, &out.deck_id);
  if (out.rate) out.cost_micros = cost_micros(*out.rate, duration_ms);
  return out;
}

}  // namespace privox::rating
