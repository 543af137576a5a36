// What a log line says of the work its thread is doing: the request or the delivery. A LogScope
// opened by the code that takes the work up (the router for a request, a delivery worker for an
// attempt) names a LogSource; every line logged on that thread until the scope closes carries the
// source's fields (request_id, delivery_id, tenant, integration, ...) when logs are JSON lines.
// Fields are asked for only when a line is written, so an open scope costs nothing on the path of
// a request that logs nothing.
//
// Thread-safety: scopes are per thread; a LogSource is read only by the thread that opened it.
#pragma once

#include <string>
#include <vector>

namespace crmhost {

struct LogField {
  std::string name, value;
};

class LogSource {
 public:
  virtual void fields(std::vector<LogField>* out) const = 0;

 protected:
  ~LogSource() = default;
};

class LogScope {
 public:
  explicit LogScope(const LogSource& source);  // `source` outlives the scope
  ~LogScope();
  LogScope(const LogScope&) = delete;
  LogScope& operator=(const LogScope&) = delete;
};

// The fields of every scope open on this thread, outermost first.
std::vector<LogField> log_fields();

}  // namespace crmhost
