#include "store/store.h"

#include <condition_variable>
#include <mutex>

namespace crmhost {

std::string_view delivery_status_name(DeliveryStatus status) {
  switch (status) {
    case DeliveryStatus::kPending: return "pending";
    case DeliveryStatus::kLeased: return "leased";
    case DeliveryStatus::kDelivered: return "delivered";
    case DeliveryStatus::kDead: return "dead";
  }
  return "pending";
}

std::optional<DeliveryStatus> parse_delivery_status(std::string_view name) {
  for (auto s : {DeliveryStatus::kPending, DeliveryStatus::kLeased, DeliveryStatus::kDelivered,
                 DeliveryStatus::kDead})
    if (delivery_status_name(s) == name) return s;
  return std::nullopt;
}

Expected<AppendResult> Store::append(const NewEvent& event) {
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Expected<AppendResult>> result;  // guarded by mu
  } waiter;
  append_then(event, [&waiter](Expected<AppendResult> result) {
    // Notified under the lock: once the caller sees the result, `waiter` is gone.
    std::lock_guard lock(waiter.mu);
    waiter.result = std::move(result);
    waiter.cv.notify_one();
  });
  std::unique_lock lock(waiter.mu);
  waiter.cv.wait(lock, [&] { return waiter.result.has_value(); });
  return std::move(*waiter.result);
}

}  // namespace crmhost
