// Field-by-field validation of an adapter descriptor against this host's ABI, nginx/PostgreSQL
// style: a refusal names the failing field and both values. Pure; thread-safe.
#pragma once

#include <optional>
#include <string>

#include <crmhost/adapter.h>

namespace crmhost {

struct Refusal {
  std::string field;
  std::string reason;
  std::string text() const { return field + ": " + reason; }
};

// Copies what the host knows of the descriptor into `out` (the fields past the adapter's
// struct_size read as zero/NULL) and checks it. Returns the first problem found, if any.
std::optional<Refusal> check_descriptor(const crmh_adapter* descriptor, crmh_adapter* out);

// Smallest struct_size any v1 adapter may have: v1.0's whole descriptor, which ends with
// `test_connection`. Later minors only append, so this stays v1.0's size as the header grows.
constexpr size_t kMinDescriptorSize = offsetof(crmh_adapter, test_connection) + sizeof(void*);

}  // namespace crmhost
