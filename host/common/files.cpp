#include "common/files.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/ids.h"

namespace crmhost {

Expected<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read " + path};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Status write_file_atomically(const std::string& path, const std::string& bytes) {
  std::string tmp = path + "." + new_id("tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << bytes;
    if (!out) {
      std::remove(tmp.c_str());
      return Error{"cannot write " + tmp};
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Error{"cannot rename " + tmp + " to " + path};
  }
  return ok_status();
}

}  // namespace crmhost
