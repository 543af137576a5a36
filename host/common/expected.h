// Errors as values: a function that can fail returns Expected<T> (a value or an Error).
// Exceptions never cross module borders in crmhost; third-party exceptions (Poco, yaml-cpp) are
// caught where they are thrown and turned into one of these.
//
// An Error has a kind, so that a caller far away (an HTTP endpoint) can tell "no such thing" from
// "the database failed" without reading the message. Each kind maps to one HTTP answer, in one
// place: problem_for() in http/exchange.h.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace crmhost {

enum class ErrorKind {
  kInternal,     // a bug or an unexpected failure inside crmhost (500)
  kNotFound,     // the thing asked for does not exist for this caller (404)
  kConflict,     // it exists, but its state does not allow the operation (409)
  kUnavailable,  // a resource (the store, a CRM) cannot serve right now; retrying may work (503)
  kBadInput,     // the caller's input is unusable as given (400)
};

struct Error {
  std::string message;
  ErrorKind kind = ErrorKind::kInternal;
};

template <class T>
class Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Expected(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const std::string& error() const { return std::get<1>(v_).message; }
  ErrorKind error_kind() const { return std::get<1>(v_).kind; }
  const Error& failure() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// For operations that return nothing on success.
struct Done {};
using Status = Expected<Done>;
inline Status ok_status() { return Done{}; }

}  // namespace crmhost
