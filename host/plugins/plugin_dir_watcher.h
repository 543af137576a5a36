// Watches the plugin directory with inotify and calls back once the directory has been quiet for
// a debounce interval after a change to a .so (so a file being copied in is reloaded once,
// whole). Owns one thread; start/stop from one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "common/expected.h"

namespace crmhost {

class PluginDirWatcher {
 public:
  PluginDirWatcher(std::string dir, std::chrono::milliseconds debounce, std::function<void()> on_change);
  ~PluginDirWatcher();
  Status start();
  void stop();

 private:
  void run();
  const std::string dir_;
  const std::chrono::milliseconds debounce_;
  const std::function<void()> on_change_;
  int inotify_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: stop() writes to end the thread's poll
  std::thread thread_;
};

}  // namespace crmhost
