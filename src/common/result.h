#pragma once
// Errors at module boundaries are values. A Result<T> holds either a T or an Error that names
// what went wrong and, where one applies, the input field at fault, so that the CLI, the HTTP API
// and SIP can each turn it into their own kind of answer without guessing.

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace privox {

enum class ErrorCode {
  invalid_argument,  // the caller's input is wrong; `field` names the input at fault
  not_found,
  conflict,          // would break a uniqueness or state rule
  erased,            // the subject's data was erased and can no longer be read
  unavailable,       // a backend could not be reached or is busy; nothing was written, retrying may help
  outcome_unknown,   // the connection dropped during a commit: the write may or may not have landed
  version_mismatch,  // the store's schema is not the one this binary expects
  corrupt,           // stored data failed an integrity check
  internal,
};

const char* to_string(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string field;  // empty when no single input field is at fault
  std::string message;

  // "field: message" when a field is named, else the message alone.
  std::string describe() const;
};

inline Error invalid(std::string field, std::string message) {
  return Error{ErrorCode::invalid_argument, std::move(field), std::move(message)};
}
inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, {}, std::move(message)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}      // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

  // The value, or `fallback` when this holds an error.
  T value_or(T fallback) && { return ok() ? std::get<0>(std::move(v_)) : std::move(fallback); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { assert(!ok()); return *error_; }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

}  // namespace privox

// Returns the error of a failed Result from the enclosing function.
#define PRIVOX_TRY(expr) PRIVOX_TRY_IMPL(PRIVOX_CONCAT(privox_try_, __COUNTER__), expr)
// The macros' arguments are names being declared and expressions already in parentheses, which
// clang-tidy's macro-parentheses check cannot tell apart.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define PRIVOX_TRY_IMPL(tmp, expr)          \
  do {                                      \
    auto&& tmp = (expr);                    \
    if (!tmp.ok()) return tmp.error();      \
  } while (0)

#define PRIVOX_CONCAT_INNER(a, b) a##b
#define PRIVOX_CONCAT(a, b) PRIVOX_CONCAT_INNER(a, b)
// Declares `lhs` from the value of a Result, or returns its error.
#define PRIVOX_ASSIGN(lhs, expr) PRIVOX_ASSIGN_IMPL(PRIVOX_CONCAT(privox_r_, __COUNTER__), lhs, expr)
#define PRIVOX_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                       \
  if (!tmp.ok()) return tmp.error();       \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
