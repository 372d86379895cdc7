#include "rating/deck.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>
#include <utility>

#include "common/clock.h"
#include "common/money.h"

namespace privox::rating {
namespace {

constexpr size_t kColumns = 7;
constexpr size_t kMaxDescription = 200;
constexpr int64_t kMaxAmountMicros = 1'000'000'000'000;  // a million currency units
constexpr int32_t kMaxIncrementS = 3600;

Error deck_error(size_t line, std::string what) {
  return invalid("deck", fmt::format("line {}: {}", line, what));
}

// One CSV record's fields (RFC 4180: a quoted field may hold commas and doubled quotes). Returns
// nullopt on an unterminated quote or text after a closing quote.
std::optional<std::vector<std::string>> split_record(std::string_view line) {
  std::vector<std::string> fields;
  std::string field;
  size_t i = 0;
  while (true) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) return std::nullopt;
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      if (i < line.size() && line[i] != ',') return std::nullopt;
    } else {
      const size_t comma = line.find(',', i);
      field = std::string(line.substr(i, comma == std::string_view::npos ? std::string_view::npos : comma - i));
      i = comma == std::string_view::npos ? line.size() : comma;
    }
    fields.push_back(std::move(field));
    if (i >= line.size()) return fields;
    ++i;  // the comma
  }
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<int32_t> parse_seconds(std::string_view s) {
  int32_t value = 0;
  if (!all_digits(s)) return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value < 1 || value > kMaxIncrementS) return std::nullopt;
  return value;
}

bool is_header(const std::vector<std::string>& fields) { return !fields.empty() && trimmed(fields[0]) == "prefix"; }

// One line's rate, or what is wrong with it.
Result<Rate> parse_line(const std::vector<std::string>& f, size_t line) {
  if (f.size() != kColumns)
    return deck_error(line, fmt::format("{} fields, where a rate has {}: prefix, description, price_per_minute, "
                                        "connection_fee, increments, currency, valid_from",
                                        f.size(), kColumns));
  Rate r;
  r.prefix = std::string(trimmed(f[0]));
  if (!r.prefix.empty() && r.prefix.front() == '+') r.prefix.erase(0, 1);
  if (!all_digits(r.prefix) || r.prefix.size() > 15 || r.prefix.front() == '0')
    return deck_error(line, fmt::format("prefix \"{}\" is not 1 to 15 digits of an E.164 number", trimmed(f[0])));
  r.description = std::string(trimmed(f[1]));
  if (r.description.size() > kMaxDescription)
    return deck_error(line, fmt::format("the description is longer than {} characters", kMaxDescription));
  const auto price = parse_amount_micros(trimmed(f[2]));
  if (!price) return deck_error(line, fmt::format("price_per_minute \"{}\" is not an amount of zero or more", trimmed(f[2])));
  r.price_per_minute_micros = *price;
  const auto fee = parse_amount_micros(trimmed(f[3]));
  if (!fee) return deck_error(line, fmt::format("connection_fee \"{}\" is not an amount of zero or more", trimmed(f[3])));
  r.connection_fee_micros = *fee;
  const std::string_view increments = trimmed(f[4]);
  const size_t slash = increments.find('/');
  const auto first = slash == std::string_view::npos ? std::nullopt : parse_seconds(increments.substr(0, slash));
  const auto next = slash == std::string_view::npos ? std::nullopt : parse_seconds(increments.substr(slash + 1));
  if (!first || !next)
    return deck_error(line, fmt::format("increments \"{}\" are not FIRST/NEXT seconds such as 60/60, 30/6 or 1/1 "
                                        "(1 to {})",
                                        increments, kMaxIncrementS));
  r.first_increment_s = *first;
  r.next_increment_s = *next;
  r.currency = std::string(trimmed(f[5]));
  if (!is_currency_code(r.currency))
    return deck_error(line, fmt::format("currency \"{}\" is not an ISO 4217 code such as GBP", r.currency));
  const std::string_view from = trimmed(f[6]);
  const auto when = parse_date(from) ? parse_time(from) : std::nullopt;
  if (!when) return deck_error(line, fmt::format("valid_from \"{}\" is not a date YYYY-MM-DD", from));
  r.valid_from_us = *when;
  r.line = line;
  return r;
}

}  // namespace

std::optional<int64_t> parse_amount_micros(std::string_view text) {
  const size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (!all_digits(whole) || whole.size() > 7) return std::nullopt;
  if (dot != std::string_view::npos && (!all_digits(fraction) || fraction.size() > 6)) return std::nullopt;
  int64_t units = 0;
  std::from_chars(whole.data(), whole.data() + whole.size(), units);
  int64_t micros = 0;
  for (size_t i = 0; i < 6; ++i) micros = micros * 10 + (i < fraction.size() ? fraction[i] - '0' : 0);
  const int64_t total = units * 1'000'000 + micros;
  if (total > kMaxAmountMicros) return std::nullopt;
  return total;
}

int64_t micros_to_minor(int64_t micros) { return (micros + 5'000) / 10'000; }

Result<std::vector<Rate>> parse_deck_csv(std::string_view csv) {
  if (csv.size() > kMaxDeckBytes)
    return invalid("deck", fmt::format("the deck is larger than {} MiB", kMaxDeckBytes >> 20));
  std::vector<Rate> rates;
  std::set<std::pair<std::string, int64_t>> seen;  // (prefix, valid_from): a rate given twice
  size_t line_no = 0;
  size_t start = 0;
  while (start < csv.size()) {
    const size_t end = csv.find('\n', start);
    const std::string_view line = trimmed(csv.substr(start, end == std::string_view::npos ? csv.size() - start : end - start));
    start = end == std::string_view::npos ? csv.size() : end + 1;
    ++line_no;
    if (line.empty()) continue;
    if (line_no > kMaxDeckLines) return invalid("deck", fmt::format("the deck has more than {} lines", kMaxDeckLines));
    const auto fields = split_record(line);
    if (!fields) return deck_error(line_no, "a quoted field is not closed, or text follows its closing quote");
    if (line_no == 1 && is_header(*fields)) continue;
    PRIVOX_ASSIGN(Rate rate, parse_line(*fields, line_no));
    if (!seen.emplace(rate.prefix, rate.valid_from_us).second)
      return deck_error(line_no, fmt::format("prefix {} is priced twice from the same valid_from", rate.prefix));
    rates.push_back(std::move(rate));
  }
  if (rates.empty()) return invalid("deck", "the deck holds no rate");
  return rates;
}

int64_t billed_seconds(const Rate& rate, int64_t duration_ms) {
  if (duration_ms <= 0) return 0;
  const int64_t seconds = (duration_ms + 999) / 1000;  // a started second counts
  if (seconds <= rate.first_increment_s) return rate.first_increment_s;
  const int64_t after = seconds - rate.first_increment_s;
  return rate.first_increment_s + (after + rate.next_increment_s - 1) / rate.next_increment_s * rate.next_increment_s;
}

int64_t cost_micros(const Rate& rate, int64_t duration_ms) {
  const int64_t billed = billed_seconds(rate, duration_ms);
  if (billed == 0) return 0;
  // price * seconds / 60, rounded half up; both below 1e12 and 1e5-ish, so the product fits.
  return rate.connection_fee_micros + (rate.price_per_minute_micros * billed + 30) / 60;
}

}  // namespace privox::rating
