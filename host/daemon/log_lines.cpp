#include "daemon/log_lines.h"

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/FormattingChannel.h>
#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>

#include <sstream>

#include "common/log_context.h"

namespace crmhost {
namespace {

const char* level_name(Poco::Message::Priority p) {
  switch (p) {
    case Poco::Message::PRIO_FATAL: return "fatal";
    case Poco::Message::PRIO_CRITICAL: return "critical";
    case Poco::Message::PRIO_ERROR: return "error";
    case Poco::Message::PRIO_WARNING: return "warning";
    case Poco::Message::PRIO_NOTICE: return "notice";
    case Poco::Message::PRIO_INFORMATION: return "info";
    case Poco::Message::PRIO_DEBUG: return "debug";
    case Poco::Message::PRIO_TRACE: return "trace";
  }
  return "info";
}

// One JSON object a line. Poco's stringifier escapes quotes, control characters and non-ASCII.
class JsonLineFormatter final : public Poco::Formatter {
 public:
  void format(const Poco::Message& msg, std::string& text) override {
    Poco::JSON::Object line(Poco::JSON_PRESERVE_KEY_ORDER);
    line.set("time", Poco::DateTimeFormatter::format(msg.getTime(), "%Y-%m-%dT%H:%M:%S.%iZ"));
    line.set("level", level_name(msg.getPriority()));
    line.set("logger", msg.getSource());
    line.set("message", msg.getText());
    for (const auto& f : log_fields())
      if (!line.has(f.name)) line.set(f.name, f.value);
    std::ostringstream out;
    line.stringify(out);
    text = out.str();
  }
};

}  // namespace

void configure_logging(const std::string& format) {
  Poco::AutoPtr<Poco::Formatter> formatter;
  if (format == "json")
    formatter = new JsonLineFormatter;
  else
    formatter = new Poco::PatternFormatter("%Y-%m-%dT%H:%M:%S.%iZ %p %s: %t");
  Poco::AutoPtr<Poco::FormattingChannel> channel(
      new Poco::FormattingChannel(formatter, new Poco::ConsoleChannel));
  Poco::Logger::root().setChannel(channel);
  Poco::Logger::root().setLevel(Poco::Message::PRIO_INFORMATION);
}

}  // namespace crmhost
