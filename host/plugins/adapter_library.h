// One adapter image loaded from disk with Boost.DLL and validated.
//
// Loading copies the file to a path unique to its content first (a re-dlopen of the same path
// returns the old image; DESIGN.md §4), opens it with rtld_now | rtld_local so a missing symbol
// fails here rather than mid-delivery, and checks the descriptor field by field.
// An AdapterLibrary is immutable after load and safe to share between threads; the image stays
// mapped while any shared_ptr to it lives (retired images are kept, never dlclosed early).
#pragma once

#include <boost/dll/shared_library.hpp>

#include <memory>
#include <string>

#include <crmhost/adapter.h>

#include "common/expected.h"
#include "plugins/descriptor_check.h"

namespace crmhost {

class AdapterLibrary {
 public:
  struct Info {
    std::string file;     // the file in the plugin directory
    std::string sha256;   // of its content
    std::string loaded_from;  // the unique copy actually mapped
  };

  // `copy_dir` receives the content-addressed copies. A refusal is an Error whose message is
  // Refusal::text(); `refusal` (when non-null) receives the structured form.
  static Expected<std::shared_ptr<const AdapterLibrary>> load(const std::string& file,
                                                              const std::string& copy_dir,
                                                              Refusal* refusal = nullptr);

  // sha256 of a file's content; empty when it cannot be read.
  static std::string file_sha256(const std::string& file);

  const crmh_adapter& descriptor() const { return descriptor_; }
  const Info& info() const { return info_; }
  std::string abi_version() const;

 private:
  AdapterLibrary() = default;
  boost::dll::shared_library library_;
  crmh_adapter descriptor_{};  // the host's copy; pointers inside point into the image
  Info info_;
};

}  // namespace crmhost
