// Errors as values: a function that can fail returns Expected<T> (a value or an error message).
// Exceptions never cross module borders in crmhost; third-party exceptions (Poco, yaml-cpp) are
// caught where they are thrown and turned into one of these.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace crmhost {

struct Error {
  std::string message;
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
  T* operator->() { return &value(); }
  const std::string& error() const { return std::get<1>(v_).message; }

 private:
  std::variant<T, Error> v_;
};

// For operations that return nothing on success.
struct Done {};
using Status = Expected<Done>;
inline Status ok_status() { return Done{}; }

}  // namespace crmhost
