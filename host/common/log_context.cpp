#include "common/log_context.h"

namespace crmhost {
namespace {

thread_local std::vector<const LogSource*> open_sources;  // outermost first

}  // namespace

LogScope::LogScope(const LogSource& source) { open_sources.push_back(&source); }

LogScope::~LogScope() { open_sources.pop_back(); }

std::vector<LogField> log_fields() {
  std::vector<LogField> out;
  for (const LogSource* source : open_sources) source->fields(&out);
  return out;
}

}  // namespace crmhost
