// crmhost: the command-line entry. Subcommands: run (default), sink, plugin check.
#include <iostream>
#include <string>
#include <vector>

#include <crmhost/adapter.h>

#include "cli/operator_commands.h"
#include "daemon/daemon.h"
#include "daemon/key_commands.h"
#include "plugins/plugin_check.h"
#include "sink/sink.h"

namespace {

const char kUsage[] =
    "usage:\n"
    "  crmhost [run] --config FILE [--ready-file PATH]   run the daemon\n"
    "  crmhost sink --listen HOST:PORT --secret REF      print verified webhook deliveries\n"
    "  crmhost plugin check FILE                         validate an adapter .so\n"
    "  crmhost keygen PATH                               write a new master key (0600)\n"
    "  crmhost rotate-key --config FILE --new-key PATH [--admin-url URL]\n"
    "                                                    re-seal every stored secret\n"
    "  crmhost status | dlq list|show|replay|discard | integrations list|test | audit\n"
    "          [--url URL --key KEY] [--json]            operate a running crmhost\n"
    "                                                    (crmhost dlq --help for more)\n"
    "  crmhost --version\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::cout << "crmhost " << CRMHOST_VERSION << " (adapter ABI " << CRMH_ABI_MAJOR << "."
              << CRMH_ABI_MINOR << ")\n";
    return 0;
  }
  if (args[0] == "sink") return crmhost::run_sink({args.begin() + 1, args.end()});
  if (args[0] == "plugin") {
    if (args.size() == 3 && args[1] == "check") return crmhost::run_plugin_check(args[2]);
    std::cerr << kUsage;
    return 2;
  }
  if (args[0] == "keygen") return crmhost::run_keygen({args.begin() + 1, args.end()});
  if (args[0] == "rotate-key") return crmhost::run_rotate_key({args.begin() + 1, args.end()});
  if (args[0] == "status" || args[0] == "dlq" || args[0] == "integrations" || args[0] == "audit")
    return crmhost::run_operator_command(args[0], {args.begin() + 1, args.end()});
  if (args[0] == "run") args.erase(args.begin());
  return crmhost::run_daemon(args);
}
