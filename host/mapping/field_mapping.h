// Field mapping, owned by the host: how an event's fields become the CRM records an adapter
// writes. An adapter declares its default mapping (crmh_adapter.default_mapping, ABI 1.2); an
// integration's `mapping` overrides it field by field; the host applies the result to each event
// and hands the adapter the mapped records (crmh_delivery.record_json). Adapters never parse rules.
//
// A mapping is {"<record>": {"<CRM field>": <rule>, ...}, ...}. A rule is a template string
// ("{visitor.first_name} {visitor.last_name}") or an object with exactly one of `from` (a path or
// a list of paths, the first non-empty wins), `template` or `value` (a constant), and optionally
// `transform` (trim, lower, upper, date, epoch_ms), `default`, `required` and `max_length`. The
// language is in docs/CONTRACTS.md ("Field mapping").
//
// Immutable after parse; safe to share between threads.
#pragma once

#include <Poco/Dynamic/Var.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/expected.h"

namespace crmhost {

class FieldMapping {
 public:
  struct Rule;

  // Parses a mapping document. `where` prefixes every error ("mapping" or
  // "tenants[0].integrations[1].mapping"): errors name the record, field and key. With
  // `overrides`, a field may be null (drop the default).
  static Expected<FieldMapping> parse(const std::string& json, const std::string& where,
                                      bool overrides = false);

  // This (an adapter's default) with `overrides` applied field by field. A record the default
  // does not name, or dropping a required field, is refused naming it.
  Expected<FieldMapping> merged(const FieldMapping& overrides, const std::string& where) const;

  // The mapped records of one event (its JSON body), as a JSON object text; only the records
  // `wanted` says yes to (all when unset). kBadInput naming the record and field when a required
  // field comes out empty.
  Expected<std::string> apply(const std::string& event_json,
                              const std::function<bool(const std::string&)>& wanted = {}) const;

  bool empty() const { return records_.empty(); }

 private:
  // record -> field -> rule (null rule = drop, only in overrides)
  std::map<std::string, std::map<std::string, std::shared_ptr<const Rule>>> records_;
};

}  // namespace crmhost
