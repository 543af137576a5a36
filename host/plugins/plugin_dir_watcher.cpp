#include "plugins/plugin_dir_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace crmhost {
namespace {

// True when the inotify events in buf[0..len) name a .so file.
bool touches_adapter(const char* buf, ssize_t len) {
  for (const char* p = buf; p < buf + len;) {
    const auto* ev = reinterpret_cast<const inotify_event*>(p);
    if (ev->len > 0) {
      size_t n = std::strlen(ev->name);
      if (n > 3 && std::strcmp(ev->name + n - 3, ".so") == 0) return true;
    }
    p += sizeof(inotify_event) + ev->len;
  }
  return false;
}

}  // namespace

PluginDirWatcher::PluginDirWatcher(std::string dir, std::chrono::milliseconds debounce,
                                   std::function<void()> on_change)
    : dir_(std::move(dir)), debounce_(debounce), on_change_(std::move(on_change)) {}

PluginDirWatcher::~PluginDirWatcher() { stop(); }

Status PluginDirWatcher::start() {
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (inotify_fd_ < 0 || wake_fd_ < 0) return Error{std::string("inotify: ") + std::strerror(errno)};
  // Whole-file events only: a half-written file is never loaded (IN_CLOSE_WRITE, IN_MOVED_TO).
  if (inotify_add_watch(inotify_fd_, dir_.c_str(),
                        IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE) < 0)
    return Error{"inotify on " + dir_ + ": " + std::strerror(errno)};
  thread_ = std::thread([this] { run(); });
  return ok_status();
}

void PluginDirWatcher::stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    if (::write(wake_fd_, &one, sizeof one) < 0) { /* the thread also polls with a timeout */ }
    thread_.join();
  }
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  inotify_fd_ = wake_fd_ = -1;
}

void PluginDirWatcher::run() {
  bool pending = false;
  for (;;) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int timeout = pending ? static_cast<int>(debounce_.count()) : 1000;
    int n = ::poll(fds, 2, timeout);
    if (fds[1].revents & POLLIN) return;
    if (n > 0 && (fds[0].revents & POLLIN)) {
      alignas(inotify_event) char buf[8192];
      ssize_t len;
      while ((len = ::read(inotify_fd_, buf, sizeof buf)) > 0)
        if (touches_adapter(buf, len)) pending = true;
      continue;  // restart the quiet interval
    }
    if (n == 0 && pending) {
      pending = false;
      on_change_();
    }
  }
}

}  // namespace crmhost
