// Test support: loads an adapter image the way a host does (dlopen, look up the entry symbol,
// call it with this header's ABI version) so tests call the real built .so.
#ifndef CRMHOST_TESTS_SDK_LOADED_ADAPTER_HPP
#define CRMHOST_TESTS_SDK_LOADED_ADAPTER_HPP

#include <crmhost/adapter.h>
#include <dlfcn.h>

#include <stdexcept>
#include <string>

namespace crmh_test {

// One dlopen'ed adapter image. Not copyable; closes the image on destruction.
class LoadedAdapter {
 public:
  explicit LoadedAdapter(const std::string& path)
      : handle_(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
    if (handle_ == nullptr) throw std::runtime_error("dlopen " + path + ": " + dlerror());
    void* symbol = dlsym(handle_, CRMH_ENTRY_SYMBOL);
    if (symbol == nullptr) {
      dlclose(handle_);
      throw std::runtime_error(path + " exports no " CRMH_ENTRY_SYMBOL);
    }
    // POSIX guarantees that a function's address survives the void* round trip.
    entry_ = reinterpret_cast<crmh_adapter_entry_fn>(symbol);
  }
  ~LoadedAdapter() { dlclose(handle_); }
  LoadedAdapter(const LoadedAdapter&) = delete;
  LoadedAdapter& operator=(const LoadedAdapter&) = delete;

  // The descriptor offered to a host of the given ABI version (NULL when refused).
  const crmh_adapter* descriptor(uint16_t major = CRMH_ABI_MAJOR,
                                 uint16_t minor = CRMH_ABI_MINOR) const {
    return entry_(major, minor);
  }

 private:
  void* handle_;
  crmh_adapter_entry_fn entry_ = nullptr;
};

}  // namespace crmh_test

#endif  // CRMHOST_TESTS_SDK_LOADED_ADAPTER_HPP
