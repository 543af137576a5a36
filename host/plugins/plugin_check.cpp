#include "plugins/plugin_check.h"

#include <filesystem>
#include <iostream>

#include "plugins/adapter_library.h"

namespace crmhost {

int run_plugin_check(const std::string& file) {
  char tmpl[] = "/tmp/crmhost-check-XXXXXX";
  const char* dir = mkdtemp(tmpl);
  if (dir == nullptr) {
    std::cerr << "crmhost plugin check: cannot create a temporary directory\n";
    return 1;
  }
  Refusal refusal;
  auto lib = AdapterLibrary::load(file, dir, &refusal);
  int rc = 0;
  if (!lib.ok()) {
    std::cout << file << ": refused: " << refusal.field << ": " << refusal.reason << "\n";
    rc = 1;
  } else {
    const crmh_adapter& d = (*lib)->descriptor();
    std::cout << file << ": ok\n"
              << "  name:            " << d.name << "\n"
              << "  version:         " << d.version << "\n"
              << "  description:     " << (d.description ? d.description : "") << "\n"
              << "  abi:             " << (*lib)->abi_version() << " (needs host minor >= "
              << d.min_host_minor << ")\n"
              << "  build signature: " << d.build_signature << "\n"
              << "  flags:           "
              << ((d.flags & CRMH_FLAG_INSTANCE_THREADSAFE) ? "instance-threadsafe" : "none") << "\n"
              << "  functions:       create destroy deliver"
              << (d.lookup_contact ? " lookup_contact" : "")
              << (d.test_connection ? " test_connection" : "") << "\n"
              << "  sha256:          " << (*lib)->info().sha256 << "\n";
  }
  // The image stays mapped until exit; only the copy's directory entry goes.
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return rc;
}

}  // namespace crmhost
