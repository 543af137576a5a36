// The changes one transaction makes to integration_stats: gathered while the transaction writes
// deliveries, then written with one upsert per integration just before it commits (not one per
// row). What the tally says is true only if the transaction commits; a rolled-back part's tally is
// dropped with it.
// Not thread-safe: owned by the writing thread for one transaction.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "common/expected.h"
#include "store/store.h"

namespace crmhost {

class StatementCache;

class StatsTally {
 public:
  // A delivery of (tenant, integration) went from `from` to `to`; std::nullopt is "not there"
  // (made, or gone). `discarded` counts as its own state: kDead with discarded=true.
  void moved(const std::string& tenant, const std::string& integration,
             std::optional<DeliveryStatus> from, std::optional<DeliveryStatus> to);
  void discarded(const std::string& tenant, const std::string& integration);
  void succeeded(const std::string& tenant, const std::string& integration, int64_t at_ms);
  void failed(const std::string& tenant, const std::string& integration, int64_t at_ms,
              std::string outcome, int http_status, std::string error);
  void merge(const StatsTally& other);
  bool empty() const { return deltas_.empty(); }
  // Adds the tally to integration_stats in the caller's transaction.
  Status write(StatementCache& sql) const;

 private:
  struct Delta {
    int64_t pending = 0, leased = 0, delivered = 0, dead = 0, discarded = 0;
    int64_t success_at_ms = 0, error_at_ms = 0;  // 0 = none in this transaction
    std::string error_outcome, error;
    int error_http_status = 0;
  };
  Delta& of(const std::string& tenant, const std::string& integration);
  static int64_t& count(Delta& d, DeliveryStatus status);

  std::map<std::pair<std::string, std::string>, Delta> deltas_;
};

}  // namespace crmhost
