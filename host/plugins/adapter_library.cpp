#include "plugins/adapter_library.h"

#include <boost/dll/shared_library_load_mode.hpp>

#include <filesystem>

#include "common/files.h"
#include "common/ids.h"

namespace crmhost {

std::string AdapterLibrary::file_sha256(const std::string& file) {
  auto bytes = read_file(file);
  return bytes.ok() ? sha256_hex(*bytes) : std::string();
}

std::string AdapterLibrary::abi_version() const {
  return std::to_string(descriptor_.abi_major) + "." + std::to_string(descriptor_.abi_minor);
}

Expected<std::shared_ptr<const AdapterLibrary>> AdapterLibrary::load(const std::string& file,
                                                                     const std::string& copy_dir,
                                                                     Refusal* refusal) {
  auto refuse = [&](std::string field, std::string reason) -> Error {
    Refusal r{std::move(field), std::move(reason)};
    if (refusal) *refusal = r;
    return Error{r.text()};
  };
  auto bytes = read_file(file);
  if (!bytes.ok()) return refuse("file", bytes.error());
  auto lib = std::shared_ptr<AdapterLibrary>(new AdapterLibrary());
  lib->info_.file = file;
  lib->info_.sha256 = sha256_hex(*bytes);

  std::error_code ec;
  std::filesystem::create_directories(copy_dir, ec);
  auto stem = std::filesystem::path(file).stem().string();
  lib->info_.loaded_from = copy_dir + "/" + stem + "-" + lib->info_.sha256.substr(0, 16) + ".so";
  // Atomic: a concurrent loader never maps a half-written copy.
  if (!std::filesystem::exists(lib->info_.loaded_from)) {
    if (auto copied = write_file_atomically(lib->info_.loaded_from, *bytes); !copied.ok())
      return refuse("file", "cannot copy: " + copied.error());
  }

  try {
    lib->library_.load(lib->info_.loaded_from,
                       boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    return refuse("file", std::string("cannot load: ") + e.what());
  }
  if (!lib->library_.has(CRMH_ENTRY_SYMBOL))
    return refuse(CRMH_ENTRY_SYMBOL, "symbol not exported");
  auto entry = lib->library_.get<const crmh_adapter*(uint16_t, uint16_t)>(CRMH_ENTRY_SYMBOL);
  const crmh_adapter* d = entry(CRMH_ABI_MAJOR, CRMH_ABI_MINOR);
  if (auto bad = check_descriptor(d, &lib->descriptor_)) return refuse(bad->field, bad->reason);
  return std::shared_ptr<const AdapterLibrary>(std::move(lib));
}

}  // namespace crmhost
